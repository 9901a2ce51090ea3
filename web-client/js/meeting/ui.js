// Small UI pieces of the meeting page: toasts, the on/off toggle buttons, the side panels
// (one open at a time) and dialogs.

import { t } from '../i18n.js';
import { icon } from '../icons.js';
import { el } from '../tiles.js';
import { $, S, emit } from './state.js';

/** A short message over the stage; errors stay longer. */
export function toast(text, kind = 'info') {
  const box = $('toasts');
  const item = el('div', `toast ${kind}`);
  item.innerHTML = icon(kind === 'error' ? 'alert' : 'users');
  item.append(el('span', null, text));
  const close = el('button', 'toast-close');
  close.type = 'button';
  close.setAttribute('aria-label', t('meeting.close'));
  close.innerHTML = icon('close');
  close.addEventListener('click', () => item.remove());
  item.append(close);
  box.append(item);
  while (box.children.length > 4) box.firstElementChild.remove();
  setTimeout(() => item.remove(), kind === 'error' ? 8000 : 4000);
}

/**
 * An on/off button that says what a click does ("Tắt micrô" while it is on):
 * aria-pressed="true" and data-state="off" while the device is off.
 */
export function setToggle(btn, off, iconOn, iconOff, labelOn, labelOff, disabled = false) {
  btn.setAttribute('aria-pressed', String(off));
  btn.dataset.state = off ? 'off' : 'on';
  btn.disabled = disabled;
  const label = off ? labelOff : labelOn;
  btn.title = label;
  btn.setAttribute('aria-label', label);
  const name = off ? iconOff : iconOn;
  const holder = btn.querySelector('.ctrl-face') ?? btn.querySelector('[data-icon]') ?? btn;
  if (holder.dataset.shown !== name) {
    holder.innerHTML = icon(name);
    holder.dataset.shown = name;
  }
  const text = btn.querySelector('.ctrl-label');
  if (text) text.textContent = label;
}

// ------------------------------------------------------------------ side panels

/** The side panels beside the stage; one is open at a time (on a phone it covers the stage). */
export const PANELS = Object.freeze({ chat: 'chat-panel', people: 'people-panel', 'roll-call': 'roll-call' });

/**
 * Opens side panel `name` ('chat', 'people', 'roll-call') and closes the others, or closes
 * them all (null). With `focus`, the panel's first field (or, closing, its button) gets focus.
 */
export function setPanel(name, { focus = false } = {}) {
  const previous = S.panel;
  S.panel = name && PANELS[name] ? name : null;
  for (const [n, id] of Object.entries(PANELS)) {
    const open = n === S.panel;
    $(id).hidden = !open;
    $(`toggle-${n}`)?.setAttribute('aria-expanded', String(open));
  }
  emit('panel', S.panel);
  if (!focus) return;
  if (S.panel) {
    const panel = $(PANELS[S.panel]);
    (panel.querySelector('[data-autofocus]') ?? panel.querySelector('input, textarea, select, button:not(.panel-close)') ?? panel.querySelector('button'))?.focus();
  } else if (previous) {
    $(`toggle-${previous}`)?.focus();
  }
}

/** The control bar's panel buttons: open, or close when already open. */
export function togglePanel(name) {
  setPanel(S.panel === name ? null : name, { focus: true });
}

/** Escape closes the panel (a search box with text clears itself first, as browsers do). */
export function closeOnEscape(panel, name) {
  panel.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape' || (e.target.type === 'search' && e.target.value)) return;
    if (S.panel === name) setPanel(null, { focus: true });
  });
}

/** A dialog opened modally where the browser can, as an open attribute otherwise. */
export function openDialog(dialog) {
  if (typeof dialog.showModal === 'function') dialog.showModal();
  else dialog.setAttribute('open', '');
}

export function closeDialog(dialog) {
  if (!dialog.open) return;
  if (typeof dialog.close === 'function') dialog.close();
  else dialog.removeAttribute('open');
}

/** A small button with an icon and a label (aria-label and title when the text is hidden). */
export function iconButton(cls, iconName, label, { text = false } = {}) {
  const b = el('button', cls);
  b.type = 'button';
  b.innerHTML = icon(iconName);
  b.title = label;
  b.setAttribute('aria-label', label);
  if (text) b.append(el('span', 'btn-text', label));
  return b;
}
