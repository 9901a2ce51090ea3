// The settings menu of the control bar: what to receive (automatic / low / audio only →
// `receive.mode`), weak-link mode (only the lowest simulcast layer is sent) and the layout
// (automatic / speaker / grid). Each choice takes effect at once and is remembered in
// localStorage (cau.receiveMode, cau.weakLink, cau.layout); a rejoin keeps it.
//
// Test hooks: #toggle-settings (aria-expanded), #settings-menu, input[name=receive-mode],
// #weak-link, input[name=layout].

import { $, S, emit, store, LAYOUTS } from './state.js';
import { RECEIVE_MODES } from '../protocol.js';

function render() {
  for (const input of document.querySelectorAll('input[name="receive-mode"]')) input.checked = input.value === S.settings.receiveMode;
  for (const input of document.querySelectorAll('input[name="layout"]')) input.checked = input.value === S.settings.layout;
  $('weak-link').checked = S.settings.weakLink;
}

function open(focus = true) {
  render();
  $('settings-menu').hidden = false;
  $('toggle-settings').setAttribute('aria-expanded', 'true');
  if (focus) document.querySelector('#settings-menu input:checked')?.focus();
}

function close(focusButton = true) {
  if ($('settings-menu').hidden) return;
  $('settings-menu').hidden = true;
  $('toggle-settings').setAttribute('aria-expanded', 'false');
  if (focusButton) $('toggle-settings').focus();
}

export function setReceiveMode(mode) {
  if (!RECEIVE_MODES.includes(mode)) return;
  S.settings.receiveMode = mode;
  store('cau.receiveMode', mode);
  S.client.setReceive({ mode });
  emit('settings');
}

export function setWeakLink(on) {
  S.settings.weakLink = !!on;
  store('cau.weakLink', on ? '1' : null);
  S.client.setWeakLink(!!on).catch((err) => console.warn('cau: weak link', err));
  emit('settings');
}

export function setLayout(layout) {
  if (!LAYOUTS.includes(layout)) return;
  S.settings.layout = layout;
  store('cau.layout', layout === 'auto' ? null : layout);
  emit('settings');
}

export function initSettings() {
  $('toggle-settings').addEventListener('click', () => ($('settings-menu').hidden ? open() : close()));
  $('settings-close').addEventListener('click', () => close());
  const menu = $('settings-menu');
  menu.addEventListener('change', (e) => {
    const input = e.target;
    if (input.name === 'receive-mode') setReceiveMode(input.value);
    else if (input.name === 'layout') setLayout(input.value);
    else if (input.id === 'weak-link') setWeakLink(input.checked);
  });
  menu.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      close();
    }
  });
  // A click outside the menu (but not on its button) closes it.
  document.addEventListener('pointerdown', (e) => {
    if (!menu.hidden && !menu.contains(e.target) && !$('toggle-settings').contains(e.target)) close(false);
  });
  render();
}
