// The schedule page (schedule.html) for schedulers and admins: a week calendar or an agenda
// of the meetings (GET /api/meetings?from=&to=), the meeting form (new / edit), and the
// details panel of a meeting with its join links.
//
// Address: schedule.html?date=YYYY-MM-DD&view=week|agenda&meeting=ID (kept up to date with
// history.replaceState, so a reload or a shared address shows the same thing); ?lang=en.
//
// Hooks for browser tests: body[data-view="schedule"] once loaded (`denied` without the role,
// `error` when the page cannot start); #new-meeting; #meeting-form and its inputs (see
// meeting-form.js); `.meeting[data-meeting-id]` in #calendar; #meeting-details[data-meeting-id]
// (data-loaded="true" once its fields are shown) with the links table (see links.js).

import { t, applyI18n, bindLangSwitch, onLangChange } from './i18n.js';
import { hydrateIcons } from './icons.js';
import { fetchDirectory } from './directory.js';
import { ApiError, get, logout, requireStaff, canSchedule, canArchive, isAdmin } from './api.js';
import './strings/schedule.js';
import { $, el, apiErrorText, isTyping } from './schedule/dom.js';
import { UnitIndex } from './schedule/units.js';
import { Calendar } from './schedule/calendar.js';
import { MeetingForm } from './schedule/meeting-form.js';
import { Details } from './schedule/details.js';
import { loadMeetingClasses } from './meeting-classes.js';
import {
  today, mondayOf, dayStart, dayOf, isoDate, parseIsoDate, formatDay, resetFormats,
} from './schedule/time.js';

const REFRESH_MS = 30_000;
const VIEW_KEY = 'cau.schedule.view';

const params = new URLSearchParams(location.search);
const state = {
  user: null,
  index: null,
  week: mondayOf(parseIsoDate(params.get('date')) ?? today()),
  view: params.get('view') === 'agenda' || params.get('view') === 'week' ? params.get('view') : loadPref(VIEW_KEY) ?? 'week',
  meetings: [],
  loading: false,
  loadError: null,
  selected: Number(params.get('meeting')) || null,
  seq: 0,
};

let calendar;
let form;
let details;
let refreshTimer = null;

function loadPref(key) {
  try {
    const v = localStorage.getItem(key);
    return v === 'week' || v === 'agenda' ? v : null;
  } catch {
    return null;
  }
}

function savePref(key, value) {
  try { localStorage.setItem(key, value); } catch { /* storage blocked */ }
}

// ------------------------------------------------------------------ status line

let statusTimer = null;
/** A short message in the live region at the top (errors stay until the next message). */
function status(text, error = false) {
  const box = $('status');
  clearTimeout(statusTimer);
  box.textContent = text;
  box.classList.toggle('error', error);
  box.hidden = !text;
  if (!error && text) statusTimer = setTimeout(() => { box.hidden = true; }, 6000);
}

// ------------------------------------------------------------------ address

function syncUrl() {
  const q = new URLSearchParams(location.search);
  q.set('date', isoDate(state.week));
  q.set('view', state.view);
  if (state.selected != null) q.set('meeting', String(state.selected));
  else q.delete('meeting');
  history.replaceState(history.state, '', `${location.pathname}?${q}`);
}

// ------------------------------------------------------------------ meetings

async function loadWeek({ quiet = false } = {}) {
  clearTimeout(refreshTimer);
  const seq = ++state.seq;
  const from = dayStart(state.week);
  const to = dayStart(state.week + 7);
  state.loading = true;
  $('calendar').setAttribute('aria-busy', 'true');
  if (!quiet) renderToolbar();
  try {
    const res = await get(`/api/meetings?from=${from}&to=${to}`);
    if (seq !== state.seq) return;
    state.meetings = Array.isArray(res?.meetings) ? res.meetings : [];
    state.loadError = null;
  } catch (err) {
    if (seq !== state.seq) return;
    if (err instanceof ApiError && err.status === 401) {
      state.loadError = t('sched.err.sessionExpired');
    } else {
      state.loadError = apiErrorText(err);
    }
  }
  state.loading = false;
  $('calendar').setAttribute('aria-busy', 'false');
  renderCalendar();
  scheduleRefresh();
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  if (document.visibilityState === 'visible') refreshTimer = setTimeout(() => loadWeek({ quiet: true }), REFRESH_MS);
}

document.addEventListener('visibilitychange', () => {
  if (!state.index) return;
  if (document.visibilityState === 'visible') loadWeek({ quiet: true });
  else clearTimeout(refreshTimer);
});

function renderToolbar() {
  const last = state.week + 6;
  $('week-label').textContent = t('sched.cal.week', { from: formatDay(state.week, 'date'), to: formatDay(last, 'date') });
  for (const [id, view] of [['view-week', 'week'], ['view-agenda', 'agenda']]) {
    $(id).setAttribute('aria-pressed', String(state.view === view));
  }
  $('today').disabled = state.week === mondayOf(today());
}

function renderCalendar() {
  renderToolbar();
  const err = $('calendar-error');
  if (state.loadError) {
    err.replaceChildren(el('span', { text: state.loadError }),
      el('button', { type: 'button', class: 'btn btn-secondary btn-small', text: t('sched.retry'), on: { click: () => loadWeek() } }));
    err.hidden = false;
  } else {
    err.hidden = true;
  }
  calendar.render({ meetings: state.meetings, week: state.week, view: state.view, selectedId: state.selected });
  $('calendar-count').textContent = state.loadError ? '' : t('sched.cal.count', { count: state.meetings.length });
}

function goWeek(week) {
  state.week = week;
  syncUrl();
  loadWeek();
}

// ------------------------------------------------------------------ details / form

function openMeeting(id, { focus = true } = {}) {
  state.selected = id;
  syncUrl();
  renderCalendar();
  details.open(id, { focus });
}

function onDetailsClosed(id) {
  state.selected = null;
  syncUrl();
  renderCalendar();
  const btn = id != null && document.querySelector(`#calendar .meeting[data-meeting-id="${CSS.escape(String(id))}"]`);
  (btn || $('new-meeting')).focus();
}

function onSaved(meeting, conflicts) {
  if (!meeting) {
    loadWeek();
    return;
  }
  status(conflicts?.length
    ? t('sched.saved.withConflicts', { title: meeting.title, count: conflicts.length })
    : t('sched.saved.ok', { title: meeting.title }));
  state.week = mondayOf(dayOf(meeting.start));
  state.selected = meeting.id;
  syncUrl();
  loadWeek();
  details.open(meeting.id, { focus: true });
}

// ------------------------------------------------------------------ start

function renderUser() {
  const u = state.user;
  $('user-name').textContent = u ? (u.display_name || u.username) : '';
  $('user-name').title = u ? `${u.username} · ${(u.roles ?? []).map((r) => t(`sched.userRole.${r}`)).join(', ')}` : '';
}

function renderAll() {
  resetFormats();
  document.title = t('sched.pageTitle');
  applyI18n();
  renderUser();
  if (!state.index) return;
  renderCalendar();
  form.relabel();
  if (details.meeting) {
    details.render();
    details.links.render();
  }
}

function fail(text) {
  $('boot-error-text').textContent = text;
  $('boot').hidden = true;
  $('boot-error').hidden = false;
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
  $('to-archive').hidden = !canArchive(state.user);
  $('to-status').hidden = !isAdmin(state.user);
  if (!canSchedule(state.user)) {
    $('boot').hidden = true;
    $('denied').hidden = false;
    document.body.dataset.view = 'denied';
    return;
  }

  // The meeting classes load beside the directory; without them the form still works (the
  // hub's default class) and asks again when it opens.
  const classesLoad = loadMeetingClasses().catch(() => null);
  let dir;
  try {
    dir = await fetchDirectory();
  } catch (err) {
    fail(t('sched.err.directory'));
    return;
  }
  const classes = await classesLoad;
  state.index = new UnitIndex(dir);
  calendar = new Calendar({ container: $('calendar'), index: state.index, onOpen: (id) => openMeeting(id) });
  details = new Details({
    index: state.index,
    onEdit: (m) => form.openEdit(m),
    onChanged: () => loadWeek({ quiet: true }),
    onClose: onDetailsClosed,
    status,
    classes,
  });
  form = new MeetingForm({
    index: state.index,
    classes,
    onClasses: (c) => {
      details.classes = c;
      if (details.meeting) details.render();
    },
    onSaved,
    onClose: () => $('new-meeting').focus(),
  });

  $('prev-week').addEventListener('click', () => goWeek(state.week - 7));
  $('next-week').addEventListener('click', () => goWeek(state.week + 7));
  $('today').addEventListener('click', () => goWeek(mondayOf(today())));
  for (const [id, view] of [['view-week', 'week'], ['view-agenda', 'agenda']]) {
    $(id).addEventListener('click', () => {
      state.view = view;
      savePref(VIEW_KEY, view);
      syncUrl();
      renderCalendar();
    });
  }
  $('new-meeting').addEventListener('click', () => {
    const day = state.week === mondayOf(today()) ? today() : state.week;
    form.openNew({ day });
  });
  document.addEventListener('keydown', (e) => {
    if (e.defaultPrevented || isTyping(e) || form.isOpen || document.querySelector('dialog[open]')) return;
    if (e.key === 'Escape' && details.roll.running) details.closeRoll();
    else if (e.key === 'Escape' && details.isOpen) details.close();
    else if (e.altKey && e.key === 'ArrowLeft') goWeek(state.week - 7);
    else if (e.altKey && e.key === 'ArrowRight') goWeek(state.week + 7);
    else return;
    e.preventDefault();
  });

  $('boot').hidden = true;
  $('schedule-main').hidden = false;
  document.body.dataset.panel = 'calendar';
  syncUrl();
  await loadWeek();
  if (state.selected != null) details.open(state.selected);
  document.body.dataset.view = 'schedule';
}

start();
