// The archive's search (archive.html without `?session=`): the filters — a period of Viet Nam
// days (the last 30 by default), words of the title or of a unit's name, a unit (the
// directory picker of the schedule page) and a tier — and the results of
// GET /api/recordings, newest first, a row per recorded session.
//
// "Only recordings past their retention" (#f-expired, `expired=true`) looks at every date:
// nothing recorded within the period a person would type has run out its years, so the
// period is set aside (its fields disabled) while it is ticked.
//
// The filters live in the address (`?from=YYYY-MM-DD&to=…&q=…&unit=ID&tier=T&expired=true`,
// replaced on each search) so that a reload, a shared link or the back button from a session
// shows the same list. Hooks for tests: #filters, #f-q, #f-expired,
// #results tbody tr[data-session-id][data-state][data-expired] (.retention-cell, .retention-badge).

import { t } from '../i18n.js';
import { tierLabel } from '../directory.js';
import { get } from '../api.js';
import { $, el, apiErrorText } from '../schedule/dom.js';
import { UnitPicker } from '../schedule/unit-picker.js';
import { today, isoDate, parseIsoDate, format } from '../schedule/time.js';
import { formatBytes, formatClock, sessionLengthMs, STATES } from './format.js';
import { retentionLabel, isDeleted } from './retention.js';

/** The most the hub lists (docs/api.md); a full page says there may be more. */
const MAX_RESULTS = 200;
const FILTER_KEYS = ['from', 'to', 'q', 'unit', 'tier', 'expired'];

/** A state badge: `<span class="state-badge arch-state-ready">Sẵn sàng</span>`. */
export function stateBadge(state, extra = {}) {
  const known = STATES.includes(state);
  return el('span', {
    class: `state-badge arch-state-${known ? state : 'unknown'}`,
    'data-state': state,
    text: known ? t(`arch.state.${state}`) : String(state ?? ''),
    ...extra,
  });
}

export class SearchView {
  /**
   * @param {{index: import('../schedule/units.js').UnitIndex, onOpen: (id: number) => void,
   *   onAuthError: (err) => boolean}} o
   */
  constructor({ index, onOpen, onAuthError }) {
    this.index = index;
    this.onOpen = onOpen;
    this.onAuthError = onAuthError;
    this.results = null; // the last answer's recordings
    this.error = null;
    this.searchedFor = null; // the address query of the last search
    this.seq = 0;
    this.picker = new UnitPicker($('f-unit'), {
      index,
      onChange: () => this.renderUnitClear(),
    });
    $('f-unit-clear').addEventListener('click', () => {
      this.picker.set(null);
      this.renderUnitClear();
      $('f-unit').focus();
    });
    $('filters').addEventListener('submit', (e) => {
      e.preventDefault();
      this.search();
    });
    $('f-expired').addEventListener('change', () => this.renderExpired());
    this.fillTiers();
  }

  fillTiers() {
    const select = $('f-tier');
    const value = select.value;
    select.replaceChildren(
      el('option', { value: '', text: t('arch.f.allTiers') }),
      ...this.index.tiers.map((x) => el('option', { value: x, text: tierLabel(x) })),
    );
    select.value = value;
  }

  renderUnitClear() {
    $('f-unit-clear').hidden = !this.picker.value;
  }

  /** Only the expired: the period does not apply (its fields say so by being disabled). */
  renderExpired() {
    const on = $('f-expired').checked;
    $('f-from').disabled = on;
    $('f-to').disabled = on;
    $('f-expired-hint').hidden = !on;
    if (on) $('f-to').removeAttribute('aria-invalid');
  }

  /** Fills the filters from the address (defaults: the last 30 days, nothing else). */
  fill(params) {
    const end = parseIsoDate(params.get('to')) ?? today();
    const start = parseIsoDate(params.get('from')) ?? end - 29;
    $('f-from').value = isoDate(start);
    $('f-to').value = isoDate(end);
    $('f-q').value = params.get('q') ?? '';
    const unit = params.get('unit');
    this.picker.set(unit && this.index.get(unit) ? unit : null);
    this.renderUnitClear();
    $('f-tier').value = this.index.tiers.includes(params.get('tier')) ? params.get('tier') : '';
    $('f-expired').checked = params.get('expired') === 'true';
    this.renderExpired();
  }

  /** The filters as the address and the API take them, or null when the period is wrong. */
  query() {
    let q;
    if ($('f-expired').checked) {
      q = new URLSearchParams({ expired: 'true' });
    } else {
      const from = parseIsoDate($('f-from').value);
      const to = parseIsoDate($('f-to').value);
      if (from == null || to == null || to < from) return null;
      q = new URLSearchParams({ from: isoDate(from), to: isoDate(to) });
    }
    const text = $('f-q').value.trim();
    if (text) q.set('q', text);
    if (this.picker.value) q.set('unit', this.picker.value.id);
    if ($('f-tier').value) q.set('tier', $('f-tier').value);
    return q;
  }

  /** The filter part of the current address (for the link back from a session). */
  static filtersOf(params) {
    const q = new URLSearchParams();
    for (const k of FILTER_KEYS) if (params.get(k)) q.set(k, params.get(k));
    return q;
  }

  /** Runs the search from the address if it was not the last one run (back from a session). */
  async ensure(params) {
    this.fill(params);
    const q = this.query();
    if (q && this.searchedFor === q.toString() && this.results) {
      this.render();
      return;
    }
    await this.search({ replace: false });
  }

  async search({ replace = true } = {}) {
    const q = this.query();
    if (!q) {
      this.error = t('arch.f.badPeriod');
      $('f-to').setAttribute('aria-invalid', 'true');
      this.render();
      return;
    }
    $('f-to').removeAttribute('aria-invalid');
    if (replace) {
      const address = new URLSearchParams(location.search);
      for (const k of [...FILTER_KEYS, 'session']) address.delete(k);
      for (const [k, v] of q) address.set(k, v);
      history.replaceState(history.state, '', `${location.pathname}?${address}`);
    }
    const seq = ++this.seq;
    $('results-count').textContent = t('arch.searching');
    $('results').setAttribute('aria-busy', 'true');
    try {
      const res = await get(`/api/recordings?${q}`);
      if (seq !== this.seq) return;
      this.results = Array.isArray(res?.recordings) ? res.recordings : [];
      this.error = null;
      this.searchedFor = q.toString();
    } catch (err) {
      if (seq !== this.seq || this.onAuthError(err)) return;
      this.results = null;
      this.error = t('arch.results.error', { detail: apiErrorText(err) });
    }
    $('results').removeAttribute('aria-busy');
    this.render();
  }

  /** The address of a session, the filters kept for the way back. */
  sessionHref(id) {
    const q = SearchView.filtersOf(new URLSearchParams(location.search));
    q.set('session', String(id));
    return `${location.pathname}?${q}`;
  }

  render() {
    const error = $('results-error');
    error.hidden = !this.error;
    error.textContent = this.error ?? '';
    const table = $('results');
    const list = this.results ?? [];
    if (!this.results) {
      $('results-count').textContent = '';
      table.hidden = true;
      return;
    }
    const expiredOnly = new URLSearchParams(this.searchedFor ?? '').get('expired') === 'true';
    $('results-count').textContent = list.length
      ? [t('arch.results', { count: list.length }), list.length >= MAX_RESULTS ? t('arch.results.max', { count: list.length }) : ''].filter(Boolean).join(' ')
      : t(expiredOnly ? 'arch.results.noneExpired' : 'arch.results.none');
    table.hidden = list.length === 0;
    const cell = (key, ...children) => el('td', { 'data-label': t(`arch.col.${key}`) }, ...children);
    table.tBodies[0].replaceChildren(...list.map((r) => {
      const length = sessionLengthMs(r);
      const link = el('a', {
        class: 'row-link',
        href: this.sessionHref(r.session_id),
        text: r.title,
        on: {
          click: (e) => {
            if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
            e.preventDefault();
            this.onOpen(r.session_id);
          },
        },
      });
      const attending = Array.isArray(r.attending) ? r.attending : [];
      const expired = r.expired === true && !isDeleted(r);
      const tr = el('tr', { class: isDeleted(r) ? 'row-deleted' : null, 'data-session-id': r.session_id, 'data-state': r.state, 'data-expired': String(expired) },
        cell('when',
          el('span', { class: 'block when-day', text: format(r.started_at, 'date') }),
          el('span', { class: 'block muted', text: `${format(r.started_at, 'time')}–${r.ended_at != null ? format(r.ended_at, 'time') : t('arch.row.ongoing')}` })),
        cell('title', link, el('span', { class: 'block muted small', text: t('arch.row.session', { id: r.session_id }) })),
        cell('host', r.host_unit?.name ?? ''),
        el('td', { class: 'num', 'data-label': t('arch.col.attending'), title: attending.map((u) => u.name).join(', ') }, String(attending.length)),
        el('td', { class: 'num', 'data-label': t('arch.col.length') }, length == null ? '—' : formatClock(length)),
        el('td', { class: 'num', 'data-label': t('arch.col.size') },
          el('span', { class: 'block', text: formatBytes(r.bytes) }),
          el('span', { class: 'block muted small', text: t('arch.row.files', { count: Number(r.files) || 0 }) })),
        cell('state', stateBadge(r.state)),
        el('td', { class: 'retention-cell', 'data-label': t('arch.col.retention') },
          el('span', { class: 'block', text: retentionLabel(r) }),
          expired ? el('span', { class: 'block' }, el('span', { class: 'retention-badge', text: t('arch.ret.expired') })) : null));
      // The whole row opens the session (the title is the keyboard's way in).
      tr.addEventListener('click', (e) => {
        if (e.target.closest('a, button')) return;
        if (getSelection()?.toString()) return; // selecting text to copy it
        this.onOpen(r.session_id);
      });
      return tr;
    }));
  }

  relabel() {
    this.fillTiers();
    this.picker.renderSelected();
    this.render();
  }
}
