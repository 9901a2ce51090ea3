// The operators' status page (status.html), for admins: warnings at the top, the load, the
// live sessions with their connected units and each one's link, and the archive — from
// GET /api/status (docs/api.md, "Status"), refreshed every 5 s. A failed refresh keeps the
// last figures on screen and says how old they are.
//
// Hooks for browser tests: body[data-view="status"], #warnings [data-warning=CODE]
// [data-severity], #cards [data-card], #sessions-table tbody[data-session-id][data-meeting-id],
// tr[data-participant-id][data-unit-id][data-role], #recordings-table tr[data-state],
// #recordings-facts [data-fact], #updated (the time of the last answer).

import { $, el } from './schedule/dom.js';
import { t, applyI18n, bindLangSwitch, onLangChange, getLang } from './i18n.js';
import { hydrateIcons } from './icons.js';
import { tierLabel } from './directory.js';
import { get, requireStaff, loginUrl, isAdmin, canSchedule, canArchive, ApiError } from './api.js';
import { format, resetFormats, OFFSET_MS } from './schedule/time.js';
import { formatBytes, STATES } from './archive/format.js';
import './strings/status.js';

/** How often the page asks again. */
export const REFRESH_MS = 5_000;

let data = null;
let fetchedAt = null;
let timer = null;
let inFlight = false;

const nf = (digits = 0) => new Intl.NumberFormat(getLang() === 'vi' ? 'vi-VN' : 'en-GB', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const num = (x, digits = 0) => (x == null || !Number.isFinite(Number(x)) ? '—' : nf(digits).format(x));
const pct = (r) => (r == null ? '—' : `${nf(1).format(r * 100)} %`);

/** "14:05:09" in province time (the refresh line). */
const clock = (ms) => new Date(ms + OFFSET_MS).toISOString().slice(11, 19);

/** Bits per second for people: "850 kbit/s", "12,4 Mbit/s". */
function bitrate(bytesPerSec) {
  if (bytesPerSec == null) return '—';
  const bits = bytesPerSec * 8;
  if (bits >= 1e6) return `${nf(1).format(bits / 1e6)} Mbit/s`;
  return `${nf(0).format(bits / 1e3)} kbit/s`;
}

/** "3 ngày 4 giờ" / "3 d 4 h", down to minutes. */
function duration(secs) {
  const d = Math.floor(secs / 86_400);
  const h = Math.floor((secs % 86_400) / 3_600);
  const m = Math.floor((secs % 3_600) / 60);
  const vi = getLang() === 'vi';
  const parts = [];
  if (d) parts.push(vi ? `${d} ngày` : `${d} d`);
  if (d || h) parts.push(vi ? `${h} giờ` : `${h} h`);
  parts.push(vi ? `${m} phút` : `${m} min`);
  return parts.join(' ');
}

/** A warning's sentence, and the lines under it (the sessions, recordings or units concerned). */
function warningText(w) {
  const reason = (r) => (r ? t(`ops.reason.${r}`) : '');
  switch (w.code) {
    case 'media_stopped':
    case 'no_turn':
      return { text: t(`ops.w.${w.code}`), items: [] };
    case 'media_overloaded':
      return { text: t('ops.w.media_overloaded', { rate: num(w.datagrams_dropped_per_sec, 1) }), items: [] };
    case 'low_disk': {
      const key = w.severity === 'critical' ? 'ops.w.low_disk.critical' : 'ops.w.low_disk';
      return { text: t(key, { free: formatBytes(w.free_bytes), reserve: formatBytes(w.reserve_bytes) }), items: [] };
    }
    case 'recording_stopped':
      return {
        text: t('ops.w.recording_stopped', { count: w.sessions.length }),
        items: w.sessions.map((s) => `${s.title} — ${reason(s.reason)}`),
      };
    case 'recorder_not_connected':
      return { text: w.waiting > 0 ? t('ops.w.recorder_not_connected.waiting', { count: w.waiting }) : t('ops.w.recorder_not_connected'), items: [] };
    case 'recordings_interrupted':
      return {
        text: t('ops.w.recordings_interrupted', { count: w.recordings.length }),
        items: w.recordings.map((r) => `${r.title} — ${t(`ops.rec.state.${r.state}`)}, ${format(r.ended_at ?? r.started_at, 'short')}`),
      };
    case 'high_loss':
      return {
        text: t('ops.w.high_loss', { count: w.endpoints.length }),
        items: w.endpoints.map((e) => `${e.unit.name} — ${pct(e.loss)}`),
      };
    case 'tls_off':
      return { text: t('ops.w.tls_off', { listen: w.listen }), items: [] };
    default:
      return { text: t('ops.w.unknown', { code: w.code }), items: [] };
  }
}

function renderWarnings() {
  const list = data.warnings ?? [];
  $('warnings').replaceChildren(...list.map((w) => {
    const { text, items } = warningText(w);
    return el('li', { class: `ops-warning sev-${w.severity}`, 'data-warning': w.code, 'data-severity': w.severity, role: w.severity === 'critical' ? 'alert' : null },
      el('span', { class: 'ops-severity' }, t(`ops.severity.${w.severity}`)),
      el('span', { class: 'ops-warning-text' }, text),
      items.length ? el('ul', { class: 'ops-warning-items' }, ...items.map((x) => el('li', {}, x))) : null);
  }));
  $('all-good').hidden = list.length > 0;
  $('warnings-section').dataset.worst = list[0]?.severity ?? 'none';
}

function renderCards() {
  const load = data.load;
  const media = load.media;
  const rates = load.rates;
  const card = (key, value, sub = null) => el('div', { class: 'stats-card', 'data-card': key },
    el('div', { class: 'value' }, value), el('div', { class: 'label' }, t(`ops.card.${key}`)), sub ? el('div', { class: 'sub' }, sub) : null);
  // Rates need two samples: until the second one, the totals since the start.
  const flow = (bytesRate, packetsRate, total) => (rates
    ? [bitrate(bytesRate), t('ops.packets', { packets: num(packetsRate) })]
    : ['—', total == null ? null : t('ops.rateTotal', { bytes: formatBytes(total) })]);
  const [inValue, inSub] = flow(rates?.bytes_received, rates?.packets_received, media?.bytes_received);
  const [outValue, outSub] = flow(rates?.bytes_sent, rates?.packets_forwarded, media?.bytes_sent);
  $('cards').replaceChildren(
    card('sessions', num(load.sessions)),
    card('participants', num(load.participants)),
    card('endpoints', num(media?.endpoints)),
    card('tracks', num(media?.tracks)),
    card('in', inValue, inSub),
    card('out', outValue, outSub),
    card('memory', formatBytes(load.memory?.resident_bytes)),
    card('uptime', duration(data.uptime_secs)),
  );
}

const COLUMNS = ['unit', 'tier', 'name', 'role', 'since', 'rtt', 'loss', 'jitter', 'bitrate', 'tracks'];
const NUMERIC = new Set(['rtt', 'loss', 'jitter', 'bitrate', 'tracks']);

function renderSessions() {
  const sessions = data.sessions ?? [];
  const head = el('thead', {}, el('tr', {}, ...COLUMNS.map((c) => el('th', { scope: 'col', class: NUMERIC.has(c) ? 'num' : '' }, t(`ops.col.${c}`)))));
  const bodies = sessions.map((s) => {
    const badges = [];
    if (s.recording) {
      badges.push(el('span', { class: `flag ops-rec ops-rec-${s.recording.state}`, 'data-recording': s.recording.state },
        s.recording.state === 'stopped' && s.recording.reason
          ? `${t('ops.rec.stopped')} (${t(`ops.reason.${s.recording.reason}`)})`
          : t(`ops.rec.${s.recording.state}`)));
    }
    if (s.locked) badges.push(el('span', { class: 'flag ops-locked' }, t('ops.session.locked')));
    const header = el('tr', { class: 'ops-session-row' }, el('th', { scope: 'rowgroup', colSpan: COLUMNS.length },
      el('span', { class: 'ops-session-title' }, s.meeting.title), ' ', ...badges,
      el('div', { class: 'ops-session-meta' }, t('ops.session.meta', {
        room: `${s.room.name} (${tierLabel(s.room.tier)})`,
        time: format(s.started_at, 'short'),
        connected: s.units_connected,
        invited: s.units_invited,
      }))));
    const rows = s.endpoints.map((e) => {
      const poor = e.loss != null && e.loss >= 0.08;
      return el('tr', { 'data-participant-id': e.participant_id, 'data-unit-id': e.unit.id, 'data-role': e.role, class: poor ? 'ops-poor' : null },
        el('td', {}, e.unit.name), el('td', {}, tierLabel(e.unit.tier)), el('td', {}, e.name),
        el('td', {}, t(`ops.role.${e.role}`)), el('td', {}, format(e.joined_at, 'time')),
        el('td', { class: 'num', 'data-col': 'rtt' }, num(e.rtt_ms)), el('td', { class: 'num', 'data-col': 'loss' }, pct(e.loss)),
        el('td', { class: 'num' }, num(e.jitter_ms)), el('td', { class: 'num' }, num(e.bitrate_kbps)), el('td', { class: 'num' }, num(e.tracks)));
    });
    return el('tbody', { 'data-session-id': s.session_id, 'data-meeting-id': s.meeting.id }, header, ...rows);
  });
  $('sessions-table').replaceChildren(...(sessions.length ? [head, ...bodies] : []));
  $('no-sessions').hidden = sessions.length > 0;
}

function renderRecordings() {
  const r = data.recordings;
  $('recordings-table').replaceChildren(
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, t('ops.rec.state')), el('th', { scope: 'col', class: 'num' }, t('ops.rec.count')))),
    el('tbody', {}, ...STATES.map((s) => el('tr', { 'data-state': s }, el('td', {}, t(`ops.rec.state.${s}`)), el('td', { class: 'num' }, num(r.by_state?.[s] ?? 0))))),
  );
  const fact = (key, label, value, cls = null) => [el('dt', { 'data-fact': key }, label), el('dd', { 'data-fact': key, class: cls }, value)];
  const recorder = r.remote_recorder
    ? t('ops.rec.recorder.remote', { connected: r.remote_recorder.connected, waiting: r.remote_recorder.waiting })
    : t('ops.rec.recorder.local');
  const disk = r.disk_reserve_bytes == null
    ? t('ops.rec.noDisk')
    : t('ops.rec.diskValue', { free: formatBytes(r.disk_free_bytes), reserve: formatBytes(r.disk_reserve_bytes) });
  const low = r.disk_free_bytes != null && r.disk_reserve_bytes != null && r.disk_free_bytes < 2 * r.disk_reserve_bytes;
  $('recordings-facts').replaceChildren(
    ...fact('bytes', t('ops.rec.stored'), formatBytes(r.bytes)),
    ...fact('disk', t('ops.rec.disk'), disk, low ? 'ops-bad' : null),
    ...fact('recorder', t('ops.rec.recorder'), recorder),
    ...fact('stopped', t('ops.rec.stoppedSinceStart'), t('ops.rec.stoppedValue', { disk: r.stopped_since_start.disk_low, failed: r.stopped_since_start.failed })),
    ...fact('troubled', t('ops.rec.troubled'), num(r.troubled_24h), r.troubled_24h > 0 ? 'ops-bad' : null),
  );
}

function render() {
  if (!data) return;
  renderWarnings();
  renderCards();
  renderSessions();
  renderRecordings();
  $('about').textContent = t('ops.about', {
    version: data.version,
    since: format(data.started_at, 'dateTime'),
    https: t(data.deployment.https ? 'ops.yes' : 'ops.no'),
    turn: t(data.deployment.turn ? 'ops.yes' : 'ops.no'),
  });
  document.body.dataset.view = 'status';
}

function status(text, error = false) {
  const line = $('status');
  line.hidden = !text;
  line.textContent = text ?? '';
  line.classList.toggle('error', error);
}

function updatedLine() {
  $('updated').textContent = fetchedAt == null ? '' : t('ops.updated', { time: clock(fetchedAt) });
}

async function refresh() {
  if (inFlight) return;
  inFlight = true;
  clearTimeout(timer);
  try {
    data = await get('/api/status');
    fetchedAt = Date.now();
    status(null);
    render();
    updatedLine();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      location.replace(loginUrl()); // the login ran out
      return;
    }
    const message = err instanceof ApiError ? err.message || err.code : String(err);
    if (data) status(t('ops.stale', { message, time: clock(fetchedAt) }), true);
    else status(t('ops.error', { message }), true);
  } finally {
    inFlight = false;
  }
  timer = setTimeout(refresh, REFRESH_MS);
}

async function start() {
  applyI18n();
  hydrateIcons();
  bindLangSwitch($('lang-switch'));
  status(t('ops.loading'));
  const { user } = await requireStaff();
  $('to-schedule').hidden = !canSchedule(user);
  $('to-stats').hidden = !canSchedule(user);
  $('to-archive').hidden = !canArchive(user);
  if (!isAdmin(user)) {
    status(null);
    $('denied').hidden = false;
    document.body.dataset.view = 'denied';
    return;
  }
  $('status-main').hidden = false;
  onLangChange(() => {
    resetFormats();
    applyI18n();
    render();
    updatedLine();
  });
  // Back to a hidden tab: ask at once rather than show figures up to 5 s old.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') refresh();
  });
  await refresh();
}

start().catch((err) => status(t('ops.error', { message: String(err?.message ?? err) }), true));
