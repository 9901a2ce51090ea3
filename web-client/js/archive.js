// The archivists' page (archive.html), for archivists and admins: find a recorded session
// (js/archive/search.js), then open it on the same page (js/archive/session.js) — play its
// files, jump to who spoke, download it with its checksums, verify it, read its access log;
// see how long it is kept, classify it again, and destroy it once its retention is over
// (archivists only; an admin without the role sees it all but cannot change it).
//
// Address: archive.html?from=YYYY-MM-DD&to=YYYY-MM-DD&q=…&unit=ID&tier=T&expired=true (the search), plus
// `&session=ID` for a session (pushed, so the browser's back button returns to the list).
// A missing login (401) goes to login.html?next=…; an account without the role (403) is
// told that the page is for archivists.
//
// Hooks for tests: body[data-view] = loading | search | session | denied | error;
// window.cau.archive = {search, session, player}.

import { t, applyI18n, bindLangSwitch, onLangChange } from './i18n.js';
import { hydrateIcons } from './icons.js';
import { fetchDirectory } from './directory.js';
import { ApiError, canArchive, canSchedule, isAdmin, logout, loginUrl, requireStaff } from './api.js';
import './strings/schedule.js'; // the unit picker's strings
import './strings/archive.js';
import { canManageRetention } from './archive/retention.js';
import { $, apiErrorText } from './schedule/dom.js';
import { UnitIndex } from './schedule/units.js';
import { resetFormats } from './schedule/time.js';
import { SearchView } from './archive/search.js';
import { SessionView } from './archive/session.js';

const state = { user: null, search: null, session: null, denied: false };

// ------------------------------------------------------------------ status line

let statusTimer = null;
/** A short message at the bottom (errors stay until the next message); null hides it. */
function status(text, error = false) {
  const box = $('status');
  clearTimeout(statusTimer);
  box.textContent = text ?? '';
  box.classList.toggle('error', !!error);
  box.hidden = !text;
  if (!error && text) statusTimer = setTimeout(() => { box.hidden = true; }, 6000);
}

// ------------------------------------------------------------------ access

function showOnly(id) {
  for (const m of ['boot', 'boot-error', 'denied', 'archive-main']) $(m).hidden = m !== id;
}

function deny() {
  state.denied = true;
  state.session?.close();
  showOnly('denied');
  document.body.dataset.view = 'denied';
}

/**
 * The answer to a refusal any call may get: 401 → the login page (and back here), 403 →
 * "for archivists". True when handled (the caller stops there).
 */
function onAuthError(err) {
  const status = err instanceof ApiError || typeof err?.status === 'number' ? err.status : 0;
  if (status === 401) {
    location.replace(loginUrl());
    return true;
  }
  if (status === 403 && err?.code !== 'csrf') {
    deny();
    return true;
  }
  return false;
}

// ------------------------------------------------------------------ routing

function sessionParam() {
  const raw = new URLSearchParams(location.search).get('session');
  const id = Number(raw);
  return raw && Number.isSafeInteger(id) && id > 0 ? id : null;
}

/** Shows what the address says: a session, or the search. */
async function route() {
  if (state.denied) return;
  const id = sessionParam();
  if (id != null) {
    $('search-view').hidden = true;
    $('session-view').hidden = false;
    $('back-to-results').href = `${location.pathname}?${SearchView.filtersOf(new URLSearchParams(location.search))}`;
    document.body.dataset.view = 'session';
    await state.session.open(id);
  } else {
    const from = state.session.id;
    state.session.close();
    $('session-view').hidden = true;
    $('search-view').hidden = false;
    document.title = t('arch.pageTitle');
    document.body.dataset.view = 'search';
    await state.search.ensure(new URLSearchParams(location.search));
    // Back from a session: the keyboard is where it was, on that session's row.
    if (from != null) document.querySelector(`#results tr[data-session-id="${from}"] .row-link`)?.focus();
  }
}

function openSession(id) {
  history.pushState({ archive: 'session', fromSearch: true }, '', state.search.sessionHref(id));
  window.scrollTo(0, 0);
  route();
}

function backToResults(e) {
  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  if (history.state?.fromSearch) {
    history.back(); // popstate → route()
    return;
  }
  history.pushState(null, '', $('back-to-results').getAttribute('href'));
  route();
}

// ------------------------------------------------------------------ start

function renderUser() {
  const u = state.user;
  $('user-name').textContent = u ? (u.display_name || u.username) : '';
  $('user-name').title = u ? `${u.username} · ${(u.roles ?? []).map((r) => t(`sched.userRole.${r}`)).join(', ')}` : '';
}

function renderAll() {
  resetFormats();
  applyI18n();
  document.title = t('arch.pageTitle');
  renderUser();
  state.search?.relabel();
  if (document.body.dataset.view === 'session') state.session?.relabel();
}

function fail(text) {
  $('boot-error-text').textContent = text;
  showOnly('boot-error');
  document.body.dataset.view = 'error';
}

async function start() {
  hydrateIcons();
  bindLangSwitch($('lang-switch'));
  onLangChange(renderAll);
  renderAll();
  $('logout').addEventListener('click', async () => {
    $('logout').disabled = true;
    try {
      await logout();
    } catch { /* the session is gone either way */ }
    location.assign('login.html');
  });
  $('boot-retry').addEventListener('click', () => location.reload());

  let session;
  try {
    session = await requireStaff();
  } catch (err) {
    fail(apiErrorText(err));
    return;
  }
  state.user = session.user;
  renderUser();
  $('account').hidden = false;
  $('to-schedule').hidden = !canSchedule(state.user);
  $('to-stats').hidden = !canSchedule(state.user);
  $('to-status').hidden = !isAdmin(state.user);
  if (!canArchive(state.user)) {
    deny();
    return;
  }

  let dir;
  try {
    dir = await fetchDirectory();
  } catch {
    fail(t('arch.err.directory'));
    return;
  }
  const index = new UnitIndex(dir);
  state.search = new SearchView({ index, onOpen: openSession, onAuthError });
  state.session = new SessionView({ onAuthError, status, archivist: canManageRetention(state.user) });
  window.cau = { ...(window.cau ?? {}), archive: { search: state.search, session: state.session, player: state.session.player } };
  $('back-to-results').addEventListener('click', backToResults);
  window.addEventListener('popstate', () => route());
  showOnly('archive-main');
  await route();
}

start();
