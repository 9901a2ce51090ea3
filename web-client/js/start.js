// The start page. Access to a meeting needs a join link now, so this page only explains
// that, takes a pasted link or join code (#join-link, #join-link-go) and opens the meeting
// page with it, and sends staff to the login page (#staff-login).
//
// Accepted: a link of this hub with `meeting` and `token` (…/meeting.html?meeting=12&token=…,
// with or without the scheme), or a bare token "v1.PAYLOAD.SIGNATURE" (its payload names
// the meeting). Opened as ./?meeting=ID&token=T, the page goes straight to the meeting page.
// Errors: #join-link-error[data-key].

import { t, applyI18n, bindLangSwitch, onLangChange, getLang } from './i18n.js';
import './strings/start.js';
import { hydrateIcons } from './icons.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

/** meeting.html?meeting=ID[&token=T], keeping an explicit ?lang=. */
function meetingHref(meeting, token) {
  const q = new URLSearchParams({ meeting });
  if (token) q.set('token', token);
  if (params.get('lang')) q.set('lang', getLang());
  return `meeting.html?${q}`;
}

/** The meeting id inside a join token's payload (docs/api.md, "Join tokens"), or null. */
function meetingOfToken(token) {
  const m = /^v1\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]+$/.exec(token);
  if (!m) return null;
  try {
    const b64 = m[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = JSON.parse(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)));
    return Number.isSafeInteger(json?.m) && json.m >= 0 ? String(json.m) : null;
  } catch {
    return null;
  }
}

/**
 * What was pasted → {href} to open, or {error: i18n key, params}. Surrounding spaces, line
 * breaks (mail programs wrap long links), quotes and angle brackets are ignored.
 */
export function parseJoinInput(raw) {
  const text = String(raw ?? '').replace(/\s+/g, '').replace(/^[<"'“”]+|[>"'“”]+$/g, '');
  if (!text) return { error: 'start.link.empty' };
  if (/^v1\./.test(text)) {
    const meeting = meetingOfToken(text);
    return meeting ? { href: meetingHref(meeting, text) } : { error: 'start.link.invalid' };
  }
  let url;
  try {
    // "host/meeting.html?…" without a scheme is still a link, not a path on this site.
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) || text.startsWith('/') || /^meeting\.html/i.test(text) || text.startsWith('?')
      ? text : `http://${text}`;
    url = new URL(withScheme, location.href);
  } catch {
    return { error: 'start.link.invalid' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { error: 'start.link.invalid' };
  const meeting = (url.searchParams.get('meeting') ?? '').trim();
  const token = (url.searchParams.get('token') ?? '').trim();
  if (!meeting && !token) return { error: 'start.link.invalid' };
  if (!/^\d+$/.test(meeting) || !token) return { error: 'start.link.incomplete' };
  // The link may name this hub by another scheme (https behind a proxy); the host must match.
  if (url.host !== location.host) return { error: 'start.link.otherHost', params: { host: url.host, here: location.host } };
  return { href: meetingHref(meeting, token) };
}

// Opened from a join link that points at the start page: straight to the meeting.
const directMeeting = (params.get('meeting') ?? '').trim();
if (/^\d+$/.test(directMeeting)) {
  location.replace(meetingHref(directMeeting, (params.get('token') ?? '').trim()));
} else {
  const form = $('join-link-form');
  const input = $('join-link');
  const error = $('join-link-error');
  let errorState = null;

  const renderError = () => {
    error.hidden = !errorState;
    if (errorState) {
      error.textContent = t(errorState.key, errorState.params);
      error.dataset.key = errorState.key;
      input.setAttribute('aria-invalid', 'true');
    } else {
      input.removeAttribute('aria-invalid');
    }
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const result = parseJoinInput(input.value);
    if (result.error) {
      errorState = { key: result.error, params: result.params ?? {} };
      renderError();
      input.focus();
      return;
    }
    location.assign(result.href);
  });
  input.addEventListener('input', () => {
    if (!errorState) return;
    errorState = null;
    renderError();
  });

  const renderAll = () => {
    document.title = t('start.pageTitle');
    applyI18n();
    renderError();
    if (params.get('lang')) $('staff-login').href = `login.html?lang=${getLang()}`;
  };
  hydrateIcons();
  bindLangSwitch($('lang-switch'));
  onLangChange(renderAll);
  renderAll();
}
