// The staff login page: user name + password → POST /api/login (cookie session), then on to
// `?next=` (a path of this site only), or else schedule.html (archive.html for an archivist
// who does not plan meetings).
//
// Hooks for browser tests: #username, #password, #login-submit, #login-error (its
// data-error-code is the API's `error`: bad_credentials, rate_limited, network…).

import { t, applyI18n, bindLangSwitch, onLangChange } from './i18n.js';
import { hydrateIcons } from './icons.js';
import { ApiError, login } from './api.js';
import './strings/login.js';

const DEFAULT_NEXT = 'schedule.html';

const $ = (id) => document.getElementById(id);
const els = {
  form: $('login-form'),
  username: $('username'),
  password: $('password'),
  show: $('show-password'),
  submit: $('login-submit'),
  submitText: $('login-submit-text'),
  error: $('login-error'),
};

const params = new URLSearchParams(location.search);

/**
 * Where to go after logging in: `?next=` when it is a path on this site (no scheme, no host,
 * no `//` or backslash tricks), otherwise schedule.html. Keeps `?lang=` of this page.
 */
export function safeNext(raw, here = location) {
  let target = DEFAULT_NEXT;
  const s = typeof raw === 'string' ? raw.trim() : '';
  if (s && !/^[a-z][a-z0-9+.-]*:/i.test(s) && !s.startsWith('//') && !/[\\\u0000-\u001f]/.test(s)) {
    try {
      const url = new URL(s, here.href);
      if (url.origin === here.origin && !/\/login\.html$/.test(url.pathname)) {
        target = url.pathname + url.search + url.hash;
      }
    } catch { /* not a URL: default */ }
  }
  const lang = new URLSearchParams(here.search).get('lang');
  if (lang) {
    const url = new URL(target, here.href);
    if (!url.searchParams.has('lang')) url.searchParams.set('lang', lang);
    target = url.pathname + url.search + url.hash;
  }
  return target;
}

const next = safeNext(params.get('next'));

/**
 * Where to go without a `?next=`: the archive for an archivist who does not plan meetings
 * (the schedule would only tell them it is not for them), else the schedule.
 */
export function landingFor(user) {
  const roles = Array.isArray(user?.roles) ? user.roles : [];
  return roles.includes('archivist') && !roles.includes('scheduler') && !roles.includes('admin') ? 'archive.html' : DEFAULT_NEXT;
}

let lastError = null; // {key, params, code} to re-render on a language change

function showError(key, vars = {}, code = '') {
  lastError = { key, vars, code };
  els.error.textContent = t(key, vars);
  els.error.dataset.errorCode = code;
  els.error.hidden = false;
}

function clearError() {
  lastError = null;
  els.error.hidden = true;
  els.error.textContent = '';
  delete els.error.dataset.errorCode;
  els.username.removeAttribute('aria-invalid');
  els.password.removeAttribute('aria-invalid');
}

function setBusy(busy) {
  els.submit.disabled = busy;
  els.submit.setAttribute('aria-busy', String(busy));
  els.submitText.textContent = t(busy ? 'login.submitting' : 'login.submit');
}

els.form.addEventListener('submit', async (e) => {
  e.preventDefault();
  if (els.submit.disabled) return;
  clearError();
  const username = els.username.value.trim();
  const password = els.password.value;
  if (!username || !password) {
    showError('login.required', {}, 'required');
    const bad = username ? els.password : els.username;
    bad.setAttribute('aria-invalid', 'true');
    bad.focus();
    return;
  }
  setBusy(true);
  try {
    const session = await login(username, password);
    location.assign(params.get('next') ? next : safeNext(landingFor(session?.user)));
    return; // stay busy while the browser navigates
  } catch (err) {
    setBusy(false);
    if (!(err instanceof ApiError)) {
      showError('login.failed', { detail: String(err?.message ?? err) }, 'error');
    } else if (err.code === 'bad_credentials' || (err.status === 401 && err.code !== 'unauthenticated')) {
      showError('login.badCredentials', {}, err.code);
      els.password.value = '';
      els.password.setAttribute('aria-invalid', 'true');
      els.password.focus();
    } else if (err.code === 'rate_limited' || err.status === 429) {
      if (err.retryAfter != null && err.retryAfter > 0) {
        const minutes = Math.max(1, Math.ceil(err.retryAfter / 60));
        showError('login.rateLimited', { minutes, count: minutes }, 'rate_limited');
      } else {
        showError('login.rateLimitedSoon', {}, 'rate_limited');
      }
    } else if (err.code === 'network') {
      showError('login.network', {}, 'network');
    } else {
      showError('login.failed', { detail: err.message || err.code }, err.code);
    }
  }
});

els.show.addEventListener('change', () => {
  els.password.type = els.show.checked ? 'text' : 'password';
});

for (const input of [els.username, els.password]) {
  input.addEventListener('input', () => input.removeAttribute('aria-invalid'));
}

function render() {
  document.title = t('login.pageTitle');
  applyI18n();
  setBusy(els.submit.disabled);
  if (lastError) showError(lastError.key, lastError.vars, lastError.code);
}

hydrateIcons();
bindLangSwitch($('lang-switch'));
onLangChange(render);
render();
els.username.focus();
