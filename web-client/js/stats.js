// The province's statistics (stats.html) for schedulers and admins: over a chosen period
// (days in Viet Nam time), within a chosen area (the province or one district's subtree) and
// tier — meetings held, hours, attendance rate overall, per tier and per unit (units that
// often miss or drop out flagged), connection quality per unit (median loss and round-trip
// time), and occurrences of meetings marked for recording (GET /api/statistics).
//
// Address: stats.html?from=YYYY-MM-DD&to=YYYY-MM-DD&root=ID&tier=TIER (kept up to date).
// Hooks for browser tests: body[data-view="stats"], #cards [data-card], #tier-table
// tr[data-tier], #unit-table tr[data-unit-id][data-flag].

import { $, el } from './schedule/dom.js';
import { t, applyI18n, bindLangSwitch, onLangChange, getLang } from './i18n.js';
import { hydrateIcons } from './icons.js';
import { fetchDirectory, tierLabel } from './directory.js';
import { get, requireStaff, canSchedule, canArchive, isAdmin, ApiError } from './api.js';
import { today, dayStart, isoDate, parseIsoDate } from './schedule/time.js';
import { formatBytes } from './archive/format.js';
import './strings/stats.js';

const params = new URLSearchParams(location.search);
let dir = null;
let data = null;

const nf = (digits = 0) => new Intl.NumberFormat(getLang() === 'vi' ? 'vi-VN' : 'en-GB', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const pct = (r) => (r == null ? '—' : `${nf(0).format(r * 100)} %`);
const num = (x, digits = 0) => (x == null ? '—' : nf(digits).format(x));

function rateCell(r) {
  const td = el('td', { class: 'num' }, pct(r));
  if (r != null) {
    const bar = el('span');
    bar.style.width = `${Math.round(r * 100)}%`;
    td.append(el('span', { class: 'rate-bar', 'aria-hidden': 'true' }, bar));
  }
  return td;
}

function fillFilters() {
  const from = $('f-from');
  const to = $('f-to');
  const endDay = parseIsoDate(params.get('to')) ?? today();
  const startDay = parseIsoDate(params.get('from')) ?? endDay - 29;
  from.value = isoDate(startDay);
  to.value = isoDate(endDay);
  const root = $('f-root');
  root.replaceChildren(el('option', { value: '' }, t('stats.wholeProvince')));
  // Areas: the province and each district (the first two tiers), in tree order.
  const areaTiers = dir.tiers.slice(0, 2);
  for (const u of dir.units.filter((x) => areaTiers.includes(x.tier) && x.kind !== 'sở/ban/ngành')) {
    root.append(el('option', { value: u.id }, `${u.name}`));
  }
  root.value = params.get('root') ?? '';
  const tier = $('f-tier');
  tier.replaceChildren(el('option', { value: '' }, t('stats.allTiers')), ...dir.tiers.map((x) => el('option', { value: x }, tierLabel(x))));
  tier.value = params.get('tier') ?? '';
}

function query() {
  const fromDay = parseIsoDate($('f-from').value);
  const toDay = parseIsoDate($('f-to').value);
  if (fromDay == null || toDay == null || toDay < fromDay) return null;
  const q = new URLSearchParams({ from: String(dayStart(fromDay)), to: String(dayStart(toDay + 1)) });
  if ($('f-root').value) q.set('root', $('f-root').value);
  if ($('f-tier').value) q.set('tier', $('f-tier').value);
  const address = new URLSearchParams({ from: isoDate(fromDay), to: isoDate(toDay) });
  for (const k of ['root', 'tier']) if (q.get(k)) address.set(k, q.get(k));
  history.replaceState(null, '', `?${address}`);
  return q;
}

function render() {
  if (!data) return;
  const s = data.statistics;
  const card = (key, value) => el('div', { class: 'stats-card', 'data-card': key }, el('div', { class: 'value' }, value), el('div', { class: 'label' }, t(`stats.card.${key}`)));
  $('cards').replaceChildren(
    card('meetings', num(s.meetings_held)),
    card('occurrences', num(s.occurrences_held)),
    card('hours', num(s.hours, 1)),
    card('rate', pct(s.rate)),
    card('recorded', num(s.recorded_occurrences)),
    card('volume', formatBytes(s.recorded_bytes)),
  );
  const NUMERIC = new Set(['units', 'invited', 'attended', 'rate', 'drops', 'minutes', 'loss', 'rtt']);
  const th = (key) => el('th', { scope: 'col', class: NUMERIC.has(key) ? 'num' : '' }, t(`stats.col.${key}`));
  $('tier-table').replaceChildren(
    el('thead', {}, el('tr', {}, ...['tier', 'units', 'invited', 'attended', 'rate'].map(th))),
    el('tbody', {}, ...s.tiers.map((x) => el('tr', { 'data-tier': x.tier },
      el('td', {}, tierLabel(x.tier)), el('td', { class: 'num' }, num(x.units)), el('td', { class: 'num' }, num(x.invited)),
      el('td', { class: 'num' }, num(x.attended)), rateCell(x.rate)))),
  );
  $('unit-table').replaceChildren(
    el('thead', {}, el('tr', {}, ...['unit', 'tier', 'invited', 'attended', 'rate', 'drops', 'minutes', 'loss', 'rtt', 'flag'].map(th))),
    el('tbody', {}, ...s.units.map((u) => el('tr', { 'data-unit-id': u.unit.id, 'data-flag': u.flag ?? '' },
      el('td', {}, u.unit.name), el('td', {}, tierLabel(u.unit.tier)),
      el('td', { class: 'num' }, num(u.invited)), el('td', { class: 'num' }, num(u.attended)), rateCell(u.rate),
      el('td', { class: 'num' }, num(u.dropped_in)), el('td', { class: 'num' }, num(u.minutes_present)),
      el('td', { class: 'num' }, num(u.median_loss_pct, 1)), el('td', { class: 'num' }, num(u.median_rtt_ms)),
      el('td', {}, u.flag ? el('span', { class: `flag flag-${u.flag}` }, t(`stats.flag.${u.flag}`)) : '')))),
  );
  $('units-empty').hidden = s.units.length > 0;
  document.body.dataset.view = 'stats';
}

function status(text, error = false) {
  const line = $('status');
  line.hidden = !text;
  line.textContent = text ?? '';
  line.classList.toggle('error', error);
}

async function load() {
  const q = query();
  if (!q) {
    status(t('stats.badPeriod'), true);
    return;
  }
  status(t('stats.loading'));
  try {
    data = await get(`/api/statistics?${q}`);
    status(null);
    render();
  } catch (err) {
    status(t('stats.error', { message: err instanceof ApiError ? err.message || err.code : String(err) }), true);
  }
}

async function start() {
  applyI18n();
  hydrateIcons();
  bindLangSwitch($('lang-switch'));
  const { user } = await requireStaff();
  $('to-archive').hidden = !canArchive(user);
  $('to-status').hidden = !isAdmin(user);
  if (!canSchedule(user)) {
    $('denied').hidden = false;
    document.body.dataset.view = 'denied';
    return;
  }
  dir = await fetchDirectory();
  fillFilters();
  $('stats-main').hidden = false;
  $('filters').addEventListener('submit', (e) => {
    e.preventDefault();
    load();
  });
  onLangChange(() => {
    applyI18n();
    fillFilters();
    render();
  });
  await load();
}

start().catch((err) => status(t('stats.error', { message: String(err?.message ?? err) }), true));
