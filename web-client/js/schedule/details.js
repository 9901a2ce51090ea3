// The details panel of one meeting (#meeting-details[data-meeting-id]): its fields and state
// (GET /api/meetings/{id}), the actions that fit its state (edit, cancel with a reason, end,
// roll call, .ics, links CSV), the join links table and the history of changes.

import { t, has } from '../i18n.js';
import { tierLabel } from '../directory.js';
import { icon } from '../icons.js';
import { ApiError, get, post } from '../api.js';
import { el, $, apiErrorText } from './dom.js';
import { confirmDialog } from './dialog.js';
import { LinksTable, roleLabel } from './links.js';
import { RollCallPanel } from './roll-call.js';
import { stateLabel } from './calendar.js';
import { dayOf, format, formatDay, formatRange } from './time.js';
import { describeClass } from '../meeting-classes.js';

const FIELD_LABELS = ['title', 'agenda', 'start', 'end', 'weekly_until', 'host_unit', 'chair_unit', 'chair_person',
  'chair_user', 'scope', 'recorded', 'class'];

export class Details {
  /**
   * @param {{index: import('./units.js').UnitIndex, onEdit: (meeting) => void,
   *   onChanged: () => void, onClose: () => void, status: (text: string, error?: boolean) => void,
   *   classes?: {classes: Array<object>, default: string|null}|null}} o  classes: the meeting classes (null: not loaded)
   */
  constructor({ index, onEdit, onChanged, onClose, status, classes = null }) {
    this.index = index;
    this.classes = classes;
    this.onEdit = onEdit;
    this.onChanged = onChanged;
    this.onClose = onClose;
    this.status = status;
    this.panel = $('meeting-details');
    this.main = $('details-main');
    this.id = null;
    this.meeting = null;
    this.history = [];
    this.error = null;
    this.seq = 0;
    this.links = new LinksTable({ container: $('links'), index, onChanged, status });
    this.roll = new RollCallPanel({ directory: index.dir });
    $('roll-close').addEventListener('click', () => this.closeRoll());
    $('roll-end').addEventListener('click', () => this.end());
  }

  get isOpen() {
    return !this.panel.hidden;
  }

  /** Shows meeting `id` (reloads it when already shown). `focus` moves focus to its title. */
  async open(id, { focus = false } = {}) {
    const other = id !== this.id;
    this.id = id;
    const seq = ++this.seq;
    this.panel.hidden = false;
    this.panel.dataset.meetingId = String(id);
    this.panel.dataset.loaded = 'false';
    document.body.classList.add('has-details');
    if (other) {
      this.meeting = null;
      this.history = [];
      this.roll.stop();
      this.main.replaceChildren(el('p', { class: 'hint details-loading', text: t('sched.loading') }));
      $('links').replaceChildren();
      $('history').hidden = true;
    }
    try {
      const res = await get(`/api/meetings/${encodeURIComponent(id)}`);
      if (seq !== this.seq) return;
      this.meeting = res?.meeting ?? null;
      this.history = Array.isArray(res?.history) ? res.history : [];
      this.invited = Array.isArray(res?.invited) ? res.invited : [];
      this.error = null;
    } catch (err) {
      if (seq !== this.seq) return;
      this.error = err instanceof ApiError && err.code === 'not_found' ? t('sched.details.notFound') : apiErrorText(err);
    }
    this.render();
    this.panel.dataset.loaded = 'true';
    if (this.meeting) {
      this.links.load(this.meeting);
      if (this.meeting.state !== 'live' && this.roll.running) this.closeRoll();
    }
    if (focus) {
      const title = $('d-title');
      title?.focus({ preventScroll: true });
      title?.scrollIntoView({ block: 'nearest' });
    }
  }

  close() {
    if (this.panel.hidden) return;
    this.seq++;
    this.roll.stop();
    this.panel.hidden = true;
    delete this.panel.dataset.meetingId;
    document.body.classList.remove('has-details');
    const id = this.id;
    this.id = null;
    this.meeting = null;
    this.onClose(id);
  }

  render() {
    const m = this.meeting;
    if (!m) {
      this.main.replaceChildren(
        this.head(null),
        el('div', { class: 'notice error', role: 'alert' },
          el('span', { text: this.error ?? t('sched.details.notFound') }),
          el('button', { type: 'button', class: 'btn btn-secondary btn-small', text: t('sched.retry'), on: { click: () => this.open(this.id) } })));
      $('links').replaceChildren();
      $('history').hidden = true;
      return;
    }
    this.panel.dataset.state = m.state;
    const idx = this.index;
    const unitLine = (id) => (id ? el('span', {}, idx.name(id), ' ', el('span', { class: 'muted', text: idx.get(id) ? `(${tierLabel(idx.get(id).tier)})` : t('sched.details.unitMissing') })) : '—');
    const rows = [
      ['host', unitLine(m.host_unit)],
      ['chair', el('span', {}, unitLine(m.chair_unit), m.chair_person ? el('span', { class: 'block', text: m.chair_person }) : null)],
      m.chair_user ? ['chairUser', m.chair_user] : null,
      ['invited', t('sched.invitedCount', { count: m.invited_count ?? this.invited.length })],
      ['scope', this.scopeText(m.scope)],
      ['recorded', t(m.recorded ? 'sched.yes' : 'sched.no')],
      m.class != null ? ['class', el('span', { id: 'd-class', 'data-class': m.class, text: describeClass(this.classes, m.class) })] : null,
      ['created', t('sched.details.byAt', { by: m.created_by ?? '—', at: format(m.created_at) })],
      m.updated_at && m.updated_at !== m.created_at ? ['updated', t('sched.details.byAt', { by: m.updated_by ?? '—', at: format(m.updated_at) })] : null,
    ].filter(Boolean);
    const dl = el('dl', { class: 'details-fields' }, rows.map(([k, v]) => [el('dt', { text: t(`sched.details.${k}`) }), el('dd', {}, v)]));
    const upcoming = (m.occurrences ?? []).filter((o) => o.end > Date.now()).slice(0, 5);
    this.main.replaceChildren(...[
      this.head(m),
      el('h2', { id: 'd-title', tabIndex: -1, text: m.title }),
      el('p', { class: 'details-when', id: 'd-when' }, `${formatDay(dayOf(m.start))} · ${formatRange(m.start, m.end)}`),
      m.weekly_until != null ? el('p', { class: 'details-repeat', html: icon('refresh') }, el('span', { text: t('sched.details.repeatsUntil', { date: formatDay(dayOf(m.weekly_until - 1)) }) })) : null,
      m.weekly_until != null && upcoming.length ? el('ul', { class: 'occurrences', 'aria-label': t('sched.details.occurrences') },
        upcoming.map((o) => el('li', { text: `${formatDay(dayOf(o.start), 'dayShort')} ${formatRange(o.start, o.end)}` }))) : null,
      this.actions(m),
      dl,
      m.agenda ? el('div', { class: 'agenda-block' }, el('h3', { text: t('sched.details.agenda') }), el('div', { class: 'agenda-text', text: m.agenda })) : null,
    ].filter(Boolean));
    this.renderHistory();
  }

  head(m) {
    return el('div', { class: 'details-head' },
      m ? el('span', { class: `state-badge state-${m.state}`, id: 'd-state', text: stateLabel(m.state) }) : el('span'),
      el('button', {
        type: 'button',
        class: 'icon-btn',
        id: 'details-close',
        'aria-label': t('sched.details.close'),
        title: t('sched.details.close'),
        html: icon('close'),
        on: { click: () => this.close() },
      }));
  }

  actions(m) {
    const id = encodeURIComponent(m.id);
    const bar = el('div', { class: 'details-actions' });
    if (m.state === 'planned') {
      bar.append(el('button', { type: 'button', class: 'btn btn-primary btn-small', id: 'edit-meeting', text: t('sched.details.edit'), on: { click: () => this.onEdit(m) } }));
    }
    if (m.state === 'live') {
      bar.append(
        el('button', { type: 'button', class: 'btn btn-secondary btn-small', id: 'roll-call-toggle', 'aria-controls': 'roll-view', text: t('sched.details.rollCall'), on: { click: () => this.roll.start(m) } }),
        el('button', { type: 'button', class: 'btn btn-danger btn-small', id: 'end-meeting', text: t('sched.details.end'), on: { click: () => this.end() } }));
    }
    bar.append(
      el('a', { class: 'btn btn-secondary btn-small', id: 'meeting-ics', href: `/api/meetings/${id}/meeting.ics`, download: `cuoc-hop-${m.id}.ics`, text: t('sched.details.ics') }),
      el('a', { class: 'btn btn-secondary btn-small', id: 'links-csv', href: `/api/meetings/${id}/links.csv`, download: `cuoc-hop-${m.id}-duong-dan.csv`, text: t('sched.details.csv') }));
    if (m.state === 'live' || m.state === 'ended') {
      // The attendance and the chair's record of the latest occurrence that has begun.
      bar.append(
        el('a', { class: 'btn btn-secondary btn-small', id: 'meeting-record', href: `record.html?meeting=${id}`, target: '_blank', rel: 'noopener', text: t('sched.details.record') }),
        el('a', { class: 'btn btn-secondary btn-small', id: 'attendance-csv', href: `/api/meetings/${id}/attendance.csv`, download: `cuoc-hop-${m.id}-diem-danh.csv`, text: t('sched.details.attendanceCsv') }));
    }
    if (m.state === 'planned' || m.state === 'live') {
      bar.append(el('button', { type: 'button', class: 'btn btn-danger-outline btn-small', id: 'cancel-meeting', text: t('sched.details.cancel'), on: { click: () => this.cancel() } }));
    }
    return bar;
  }

  scopeText(scope) {
    if (!scope?.root) return '—';
    const tiers = scope.tiers?.length ? scope.tiers.map(tierLabel).join(', ') : t('sched.scope.allTiers');
    const parts = [t('sched.details.scopeRoot', { root: this.index.name(scope.root), tiers })];
    if (scope.add?.length) parts.push(t('sched.details.scopeAdd', { count: scope.add.length }));
    if (scope.remove?.length) parts.push(t('sched.details.scopeRemove', { count: scope.remove.length }));
    return parts.join('; ');
  }

  /** Back from the roll call to the calendar and this panel. */
  closeRoll() {
    this.roll.stop();
    ($('roll-call-toggle') ?? $('d-title'))?.focus();
  }

  async cancel() {
    const m = this.meeting;
    const res = await confirmDialog({
      title: t('sched.cancel.title', { title: m.title }),
      body: t('sched.cancel.body'),
      confirm: t('sched.details.cancel'),
      danger: true,
      reason: { label: t('sched.cancel.reason'), required: true },
    });
    if (!res) return;
    await this.act(() => post(`/api/meetings/${encodeURIComponent(m.id)}/cancel`, { reason: res.reason }), t('sched.cancel.done'));
  }

  async end() {
    const m = this.meeting;
    const res = await confirmDialog({ title: t('sched.end.title', { title: m.title }), body: t('sched.end.body'), confirm: t('sched.details.end'), danger: true });
    if (!res) return;
    await this.act(() => post(`/api/meetings/${encodeURIComponent(m.id)}/end`, {}), t('sched.end.done'));
  }

  async act(call, done) {
    try {
      await call();
      this.status(done);
    } catch (err) {
      this.status(apiErrorText(err), true);
    }
    await this.open(this.id);
    this.onChanged();
  }

  renderHistory() {
    const box = $('history');
    const list = $('history-list');
    $('history-summary').textContent = t('sched.history.title', { count: this.history.length });
    list.replaceChildren(...[...this.history].reverse().map((h) => el('li', { 'data-action': h.action },
      el('span', { class: 'history-at', text: format(h.at) }),
      el('span', { class: 'history-what' },
        el('strong', { text: has(`sched.history.${h.action}`) ? t(`sched.history.${h.action}`) : String(h.action) }),
        ' ', el('span', { class: 'muted', text: t('sched.history.by', { by: h.by ?? '—' }) })),
      this.historyDetails(h) ? el('span', { class: 'history-details', text: this.historyDetails(h) }) : null)));
    box.hidden = this.history.length === 0;
  }

  historyDetails(h) {
    const d = h.details;
    if (d == null || d === '') return '';
    if (typeof d !== 'object') return String(d);
    const parts = [];
    if (h.action === 'edited' && d.before && d.after) {
      const changed = FIELD_LABELS.filter((k) => JSON.stringify(d.before[k]) !== JSON.stringify(d.after[k]));
      const fields = changed.map((k) => {
        if (k === 'title') return t('sched.history.changedTitle', { before: d.before.title ?? '', after: d.after.title ?? '' });
        if (k === 'start' && d.after.start != null) return t('sched.history.changedStart', { after: format(d.after.start) });
        return t(`sched.field.${k}`);
      });
      if (fields.length) parts.push(t('sched.history.changed', { fields: fields.join(', ') }));
    }
    if (typeof d.reason === 'string' && d.reason) parts.push(t('sched.history.reason', { reason: d.reason }));
    const unit = d.unit_id ?? (typeof d.unit === 'string' ? d.unit : d.unit?.id);
    if (unit) parts.push(this.index.name(unit));
    if (d.role) parts.push(roleLabel(d.role));
    const n = (v) => (Array.isArray(v) ? v.length : typeof v === 'number' ? v : 0);
    if (n(d.count)) parts.push(t('sched.history.linksIssued', { count: n(d.count) }));
    if (n(d.links_issued)) parts.push(t('sched.history.linksIssued', { count: n(d.links_issued) }));
    if (n(d.links_revoked)) parts.push(t('sched.history.linksRevoked', { count: n(d.links_revoked) }));
    if (n(d.conflicts_acknowledged)) parts.push(t('sched.history.conflictsAcknowledged', { count: n(d.conflicts_acknowledged) }));
    return parts.join(' · ');
  }
}
