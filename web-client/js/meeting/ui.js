// Small UI pieces of the meeting page: toasts and the on/off toggle buttons.

import { t } from '../i18n.js';
import { icon } from '../icons.js';
import { el } from '../tiles.js';
import { $ } from './state.js';

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
