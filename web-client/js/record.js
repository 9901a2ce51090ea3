// The printable record of a meeting (record.html): the attendance of every invited unit by
// tier (GET /api/meetings/{id}/attendance), the chair's notes and decisions, laid out as a
// Vietnamese administrative document (issuing body and national motto, title, time, host,
// chair, sections I–III, signature blocks), for the browser's "Print → Save as PDF".
//
// Address: record.html?meeting=ID[&occurrence=MS][&token=CHAIR_JOIN_TOKEN][&lang=en].
// The chair opens it from the meeting page with its join token; schedulers with their login.
// While the meeting is live it refreshes every 10 s.
//
// Hooks for browser tests: body[data-view="record"] once shown (`error` otherwise),
// #doc, #totals, tables .doc-units[data-tier] with rows tr[data-unit-id][data-attended],
// #notes, #decisions li, #csv (href of the CSV export).

import { $, el } from './schedule/dom.js';
import { TIME_ZONE } from './schedule/time.js';
import { t, applyI18n, bindLangSwitch, onLangChange, getLang } from './i18n.js';
import { tierLabel } from './directory.js';
import { api, ApiError, loginUrl } from './api.js';
import './strings/record.js';

const REFRESH_MS = 10_000;
const params = new URLSearchParams(location.search);
const meetingId = Number(params.get('meeting'));

let data = null;
let timer = null;

/** The API path with this page's occurrence and token. */
function apiPath(what) {
  const q = new URLSearchParams();
  for (const k of ['occurrence', 'token']) if (params.get(k)) q.set(k, params.get(k));
  const s = q.toString();
  return `/api/meetings/${meetingId}/${what}${s ? `?${s}` : ''}`;
}

const locale = () => (getLang() === 'vi' ? 'vi-VN' : 'en-GB');
const clock = (ms) => new Date(ms).toLocaleTimeString(locale(), { timeZone: TIME_ZONE, hour: '2-digit', minute: '2-digit', hour12: false });
const day = (ms) => new Date(ms).toLocaleDateString(locale(), { timeZone: TIME_ZONE, day: '2-digit', month: '2-digit', year: 'numeric' });
const stamp = (ms) => `${clock(ms)} ${day(ms)}`;

/** Year, month, day of `ms` in Viet Nam time. */
function ymd(ms) {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: TIME_ZONE, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(new Date(ms));
  const get = (type) => parts.find((p) => p.type === type)?.value ?? '';
  return { y: get('year'), m: get('month'), d: get('day') };
}

function duration(ms) {
  const total = Math.floor(ms / 60_000);
  const h = Math.floor(total / 60);
  const m = total % 60;
  return h > 0 ? t('record.hoursMinutes', { h, m }) : t('record.minutes', { m });
}

/** The issuing body above its rule (the host unit, in capitals), the motto and the place and date. */
function renderHeading(meeting) {
  const host = meeting.host_unit;
  const name = host?.name ?? '';
  $('issuer').textContent = name.toLocaleUpperCase('vi');
  // A province, district or commune issues its documents as its People's Committee; a
  // department under its own name.
  const territorial = /^(tỉnh|thành phố|huyện|quận|thị xã|xã|phường|đặc khu)\s/i.test(name);
  $('issuer-parent').textContent = territorial ? t('record.committee') : '';
  const { y, m, d } = ymd(data.attendance.started_at ?? data.attendance.occurrence.start);
  // "Tỉnh Thái Nguyên" → "Thái Nguyên", as a document's place line names it.
  const place = host?.name?.replace(/^((UBND|Ủy ban nhân dân)\s+)?(tỉnh|thành phố|huyện|quận|thị xã|xã|phường)\s+/i, '') ?? '';
  $('place-date').textContent = t('record.placeDate', { place, d, m, y });
}

function renderFacts(meeting, a) {
  document.title = t('record.pageTitle', { title: meeting.title });
  $('subtitle').textContent = t('record.subtitle', { title: meeting.title });
  let time;
  if (a.started_at && a.ended_at) {
    time = t('record.timeText', { start: clock(a.started_at), end: clock(a.ended_at), date: day(a.started_at) });
  } else if (a.started_at) {
    time = t('record.timeLive', { start: clock(a.started_at), date: day(a.started_at) });
  } else {
    time = t('record.timePlanned', { start: clock(a.occurrence.start), end: clock(a.occurrence.end), date: day(a.occurrence.start) });
  }
  $('time').textContent = time;
  $('host').textContent = meeting.host_unit?.name ?? '';
  const chairUnit = meeting.chair_unit?.name;
  $('chair').textContent = chairUnit ? `${meeting.chair_person} — ${chairUnit}` : meeting.chair_person;
  $('chair-name').textContent = meeting.chair_person;
}

function unitRow(u, n) {
  const note = [];
  if (!u.attended) note.push(t('record.absent'));
  else if (u.drops > 0) note.push(t('record.drops', { count: u.drops }));
  return el('tr', { 'data-unit-id': u.unit.id, 'data-attended': String(u.attended) },
    el('td', { class: 'num' }, String(n)),
    el('td', {}, u.unit.name),
    el('td', { class: 'time' }, u.first_join ? clock(u.first_join) : '—'),
    el('td', { class: 'time' }, u.present_now ? t('record.stillThere') : u.last_leave ? clock(u.last_leave) : '—'),
    el('td', { class: 'num' }, u.attended ? duration(u.present_ms) : '—'),
    el('td', { class: 'num' }, u.attended ? String(u.reconnections) : '—'),
    el('td', { class: 'center' }, u.spoke ? t('record.spokeYes') : ''),
    el('td', {}, note.join('; ')));
}

function unitTable(units, tier) {
  const head = el('tr', {}, ...['no', 'unit', 'join', 'leave', 'present', 'reconnections', 'spoke', 'note']
    .map((c) => el('th', { scope: 'col' }, t(`record.col.${c}`))));
  return el('table', { class: 'doc-units', 'data-tier': tier },
    el('thead', {}, head),
    el('tbody', {}, ...units.map((u, i) => unitRow(u, i + 1))));
}

function renderAttendance(a, tiers) {
  const x = a.totals;
  $('totals').textContent = t('record.totals', x)
    + (x.uninvited_attended ? ` ${t('record.uninvited', { count: x.uninvited_attended })}` : '');
  const box = $('tiers');
  box.replaceChildren();
  const invited = a.units.filter((u) => u.invited);
  const order = [...tiers, ...new Set(invited.map((u) => u.unit.tier).filter((tr) => !tiers.includes(tr)))];
  let n = 0;
  for (const tier of order) {
    const units = invited.filter((u) => u.unit.tier === tier);
    if (!units.length) continue;
    n += 1;
    const attended = units.filter((u) => u.attended).length;
    box.append(el('h3', { class: 'doc-tier' }, t('record.tierHeading', { n, tier: tierLabel(tier), attended, invited: units.length })), unitTable(units, tier));
  }
  const others = a.units.filter((u) => !u.invited);
  if (others.length) {
    n += 1;
    box.append(el('h3', { class: 'doc-tier' }, t('record.uninvitedHeading', { n })), unitTable(others, 'uninvited'));
  }
}

function renderRecord(record) {
  const notes = $('notes');
  notes.replaceChildren();
  const paragraphs = (record.notes ?? '').split(/\n{2,}|\r\n\r\n/).map((p) => p.trim()).filter(Boolean);
  if (!paragraphs.length) notes.append(el('p', { class: 'doc-empty' }, t('record.noNotes')));
  for (const p of paragraphs) notes.append(el('p', {}, p));
  const list = $('decisions');
  list.replaceChildren(...(record.decisions ?? []).map((d) => el('li', {}, d)));
  $('no-decisions').hidden = list.children.length > 0;
  const by = record.updated_by && record.updated_at ? ` ${t('record.updatedBy', { by: record.updated_by, time: stamp(record.updated_at) })}` : '';
  $('generated').textContent = t('record.generated', { time: stamp(data.generated_at) }) + by;
}

function render() {
  if (!data) return;
  applyI18n();
  const { meeting, attendance } = data;
  renderHeading(meeting);
  renderFacts(meeting, attendance);
  renderAttendance(attendance, data.tiers ?? []);
  renderRecord(data.record ?? {});
  $('live').hidden = !attendance.live;
  $('csv').href = apiPath('attendance.csv');
  $('doc').hidden = false;
  document.body.dataset.view = 'record';
}

function showError(err) {
  const status = $('status');
  status.hidden = false;
  status.textContent = t('record.error', { message: err instanceof ApiError ? (err.message || err.code) : String(err) });
  document.body.dataset.view = 'error';
}

async function load() {
  try {
    // A chair's token is the credential: no session cookie, no CSRF.
    data = await api('GET', apiPath('attendance'), undefined, { csrf: false });
    render();
    clearTimeout(timer);
    if (data.attendance.live) timer = setTimeout(load, REFRESH_MS);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401 && !params.get('token')) {
      location.href = loginUrl();
      return;
    }
    if (data && (err.status === 0 || err.status >= 500)) {
      // A live refresh that failed (the network, the hub restarting): keep the record shown
      // and try again.
      clearTimeout(timer);
      timer = setTimeout(load, REFRESH_MS);
      return;
    }
    showError(err);
  }
}

applyI18n();
bindLangSwitch($('lang-switch'));
onLangChange(render);
$('print').addEventListener('click', () => window.print());
if (!Number.isInteger(meetingId) || meetingId <= 0) showError(new Error('meeting=?'));
else {
  const status = $('status');
  status.hidden = false;
  status.textContent = t('record.loading');
  load().then(() => { if (data) status.hidden = true; });
}
