// Small DOM helpers shared by the schedule page's modules.

import { t, has } from '../i18n.js';
import { ApiError } from '../api.js';

/**
 * `el('button', {class: 'btn', type: 'button', text: 'OK', on: {click}}, child…)`.
 * `text` sets textContent, `html` innerHTML (only for icon() markup), `dataset` data-*,
 * `aria-*`, `role`, `for` and `data-*` keys become attributes, anything else a property.
 * null/undefined props and children are skipped.
 */
export function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v == null) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k === 'html') e.innerHTML = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
    else if (k.startsWith('aria-') || k.startsWith('data-') || k === 'role' || k === 'for') e.setAttribute(k, String(v));
    else e[k] = v;
  }
  for (const c of children.flat(Infinity)) if (c != null && c !== false) e.append(c);
  return e;
}

export const $ = (id) => document.getElementById(id);

/** Calls `fn` `ms` after the last call; `.cancel()`, `.flush()`. */
export function debounce(fn, ms) {
  let timer = null;
  let lastArgs = [];
  const d = (...args) => {
    lastArgs = args;
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      fn(...lastArgs);
    }, ms);
  };
  d.cancel = () => {
    clearTimeout(timer);
    timer = null;
  };
  d.flush = () => {
    if (timer) {
      d.cancel();
      fn(...lastArgs);
    }
  };
  return d;
}

/**
 * The text to show for an API failure: the page's own words for the code, with the hub's
 * message (English, names the field) after it for `bad_request`.
 */
export function apiErrorText(err) {
  if (err instanceof ApiError) {
    if (err.code === 'bad_request' && err.message) return t('sched.err.bad_request', { detail: err.message });
    if (has(`sched.err.${err.code}`)) return t(`sched.err.${err.code}`);
    return t('sched.err.other', { detail: err.message || err.code, status: err.status });
  }
  return t('sched.err.other', { detail: String(err?.message ?? err), status: '—' });
}

/** Copies `text`: the async clipboard API, else a selected text field and execCommand. */
export async function copyText(text, fallbackHost) {
  if (navigator.clipboard?.writeText && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch { /* permission refused: fall back */ }
  }
  const host = fallbackHost ?? document.body;
  host.querySelector(':scope > .copy-fallback')?.remove();
  const input = el('input', { type: 'text', readOnly: true, value: text, class: 'copy-fallback', 'aria-label': t('sched.links.copyManual') });
  host.append(input);
  input.focus();
  input.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch { /* unsupported */ }
  if (ok) input.remove();
  return ok ? true : input; // the caller leaves the selected field for Ctrl+C
}

/** Whether a keyboard event should not trigger page shortcuts (typing in a field). */
export function isTyping(e) {
  const tgt = e.target;
  return tgt instanceof HTMLElement && (tgt.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(tgt.tagName));
}
