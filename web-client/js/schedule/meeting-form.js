// The meeting form (#meeting-form): a new meeting (POST /api/meetings) or an edit of a planned
// one (PUT /api/meetings/{id}). Times are typed in province time (UTC+7) and sent as ms.
// While it is filled in, POST /api/meetings/preview (debounced) gives the live count of the
// invited units and the conflicts. A 409 `conflicts` shows #m-conflicts with #m-save-anyway,
// which sends the same form with acknowledge_conflicts: true. Nothing typed is ever cleared
// by an error.
//
// The meeting's class (#m-class: how long its recordings are kept) comes from
// GET /api/meeting-classes (meeting-classes.js), the hub's default chosen for a new meeting.
// If the list could not be loaded, the select keeps the meeting's own class (or sends none,
// so the hub's default applies) and the list is asked for again when the form next opens.

import { t } from '../i18n.js';
import { ApiError, post, put } from '../api.js';
import { el, $, debounce, apiErrorText } from './dom.js';
import { UnitPicker } from './unit-picker.js';
import { ScopePicker } from './scope-picker.js';
import { confirmDialog } from './dialog.js';
import { loadMeetingClasses, classOptionText, describeClass, findClass } from '../meeting-classes.js';
import {
  dayOf, today, isoDate, parseIsoDate, parseTime, hhmm, instant, minuteOfDay, formatDay, formatRange, DAY_MS,
} from './time.js';

const PREVIEW_DELAY_MS = 300;
const CONFLICTS_SHOWN = 50;
const TITLE_MAX = 200;
const AGENDA_MAX = 10_000;
// The host's cap on endpoints (meetings.rs MIN_ENDPOINTS_CAP, MAX_ENDPOINTS_CAP).
const MIN_CAP = 2;
const MAX_CAP = 2_000;

// Field names of the API (as a 400 message names them) → the input to mark.
const FIELD_INPUTS = [
  ['acknowledge_conflicts', null], ['weekly_until', 'm-weekly-until'], ['chair_person', 'm-chair-person'],
  ['chair_unit', 'm-chair-unit'], ['chair_user', null], ['host_unit', 'm-host'], ['title', 'm-title'],
  ['agenda', 'm-agenda'], ['scope', 'scope-root'], ['start', 'm-start'], ['end', 'm-end'], ['recorded', 'm-recorded'],
  ['max_endpoints', 'm-max-endpoints'], ['class', 'm-class'],
];

/**
 * The conflicts grouped by the other meeting: one `li[data-meeting-id]` per meeting with its
 * title and time, then who is busy — the host (`host_busy`) and the invited units
 * (`unit_invited`), names listed up to `namesShown` per group.
 */
export function conflictItems(conflicts, index, { groups = CONFLICTS_SHOWN, namesShown = 12 } = {}) {
  const byMeeting = new Map();
  for (const c of conflicts ?? []) {
    if (!byMeeting.has(c.meeting_id)) byMeeting.set(c.meeting_id, { c, host: [], units: [] });
    const g = byMeeting.get(c.meeting_id);
    (c.kind === 'host_busy' ? g.host : g.units).push(c.unit_id);
  }
  const names = (ids) => {
    const shown = ids.slice(0, namesShown).map((id) => index.name(id)).join(', ');
    return ids.length > namesShown ? t('sched.conflict.andMore', { names: shown, count: ids.length - namesShown }) : shown;
  };
  return [...byMeeting.values()].slice(0, groups).map(({ c, host, units }) => {
    const when = `${formatDay(dayOf(c.start), 'dayShort')} ${formatRange(c.start, c.end)}`;
    return el('li', { class: 'conflict', 'data-meeting-id': c.meeting_id },
      el('span', { class: 'conflict-meeting', text: t('sched.conflict.meeting', { title: c.title ?? `#${c.meeting_id}`, time: when }) }),
      host.length ? el('span', { class: 'conflict-line', 'data-kind': 'host_busy' },
        el('span', { class: 'conflict-kind', text: t('sched.conflict.kindHost') }), names(host)) : null,
      units.length ? el('span', { class: 'conflict-line', 'data-kind': 'unit_invited' },
        el('span', { class: 'conflict-kind', text: t('sched.conflict.kindUnit', { count: units.length }) }), names(units)) : null);
  });
}

export class MeetingForm {
  /**
   * @param {{index: import('./units.js').UnitIndex, onSaved: (meeting, conflicts) => void, onClose: () => void,
   *   classes?: {classes: Array<object>, default: string|null}|null, onClasses?: (classes) => void}} o
   *   classes: the meeting classes (null: not loaded); onClasses: they were loaded later
   */
  constructor({ index, onSaved, onClose, classes = null, onClasses = () => {} }) {
    this.index = index;
    this.classes = classes;
    this.onClasses = onClasses;
    this.onSaved = onSaved;
    this.onClose = onClose;
    this.editing = null; // the meeting being edited, or null for a new one
    this.snapshot = '';
    this.previewSeq = 0;
    this.previewAbort = null;
    this.saving = false;
    this.lastHostId = null;

    this.form = $('meeting-form');
    this.f = {
      title: $('m-title'), agenda: $('m-agenda'), date: $('m-date'), start: $('m-start'), end: $('m-end'),
      weekly: $('m-weekly-until'), chairPerson: $('m-chair-person'), recorded: $('m-recorded'),
      maxEndpoints: $('m-max-endpoints'), class: $('m-class'),
    };
    this.host = new UnitPicker($('m-host'), { index, onChange: (u) => this.hostChanged(u) });
    this.chair = new UnitPicker($('m-chair-unit'), { index, onChange: () => this.contextChanged() });
    this.scope = new ScopePicker({ index, onChange: () => this.relevantChange() });
    this.previewLater = debounce(() => this.preview(), PREVIEW_DELAY_MS);

    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.save(false);
    });
    $('m-save-anyway').addEventListener('click', () => this.save(true));
    $('m-close').addEventListener('click', () => this.close());
    $('m-discard').addEventListener('click', () => this.close());
    $('m-chair-same').addEventListener('click', () => {
      if (this.host.value) this.chair.set(this.host.value, { silent: false });
    });
    for (const input of [this.f.date, this.f.start, this.f.end, this.f.weekly]) {
      input.addEventListener('input', () => this.relevantChange());
      input.addEventListener('change', () => this.relevantChange());
    }
    this.form.addEventListener('input', (e) => {
      e.target.removeAttribute?.('aria-invalid');
      const err = e.target.id && $(`${e.target.id}-error`);
      if (err) err.hidden = true;
    });
    this.f.title.maxLength = TITLE_MAX;
    this.f.agenda.maxLength = AGENDA_MAX;
  }

  get isOpen() {
    return !$('editor').hidden;
  }

  // ---------------------------------------------------------------- open / fill

  /** A new meeting on province day `day` (default today), at the next half hour. */
  openNew({ day = today() } = {}) {
    this.editing = null;
    const now = minuteOfDay(Date.now());
    const start = day === today() ? Math.min(Math.ceil((now + 1) / 30) * 30, 23 * 60) : 8 * 60;
    const sole = this.index.soleProvince();
    this.fill({
      title: '', agenda: '', start: instant(day, start), end: instant(day, start + 60), weekly_until: null,
      host_unit: sole?.id ?? null, chair_unit: sole?.id ?? null, chair_person: '', recorded: false, max_endpoints: null,
      scope: { root: null, tiers: [], add: [], remove: [] }, class: this.classes?.default ?? null,
    });
    this.show();
    this.retryClasses();
  }

  /** Edit a planned meeting. */
  openEdit(meeting) {
    this.editing = meeting;
    this.fill(meeting);
    this.show();
    this.retryClasses();
  }

  // ---------------------------------------------------------------- the meeting class

  /**
   * Fills #m-class with the classes and selects `value` (a class this page does not know —
   * or any class while the list is missing — is kept as an option of its own; '' is "the
   * hub's default", sent as no class at all).
   */
  renderClasses(value) {
    const select = this.f.class;
    const list = this.classes?.classes ?? [];
    const options = list.map((c) => el('option', { value: c.id, text: classOptionText(c) }));
    if (value && !findClass(this.classes, value)) options.unshift(el('option', { value, text: describeClass(this.classes, value) }));
    if (!options.length) options.push(el('option', { value: '', text: t('ret.systemDefault') }));
    select.replaceChildren(...options);
    select.value = value && [...select.options].some((o) => o.value === value) ? value : select.options[0].value;
  }

  /** The list was not loaded when the page started: ask again, and keep what is chosen. */
  async retryClasses() {
    if (this.classes) return;
    let classes;
    try {
      classes = await loadMeetingClasses();
    } catch {
      return; // the select keeps the meeting's class, or the hub's default
    }
    if (this.classes) return;
    const unchanged = JSON.stringify(this.read().form) === this.snapshot;
    const current = this.f.class.value;
    this.classes = classes;
    // A new meeting had "the hub's default": that default, now that it has a name.
    this.renderClasses(current || classes.default);
    if (unchanged) this.snapshot = JSON.stringify(this.read().form);
    this.onClasses(classes);
  }

  fill(m) {
    const f = this.f;
    f.title.value = m.title ?? '';
    f.agenda.value = m.agenda ?? '';
    f.date.value = isoDate(dayOf(m.start));
    f.start.value = hhmm(minuteOfDay(m.start));
    f.end.value = hhmm(minuteOfDay(m.end));
    // weekly_until is an instant: occurrences starting before it happen. The box shows the
    // last day that still has one (the day before the instant's day when it is a midnight).
    f.weekly.value = m.weekly_until != null ? isoDate(dayOf(m.weekly_until - 1)) : '';
    f.chairPerson.value = m.chair_person ?? '';
    f.recorded.checked = Boolean(m.recorded);
    f.maxEndpoints.value = m.max_endpoints != null ? String(m.max_endpoints) : '';
    this.renderClasses(m.class ?? this.classes?.default ?? null);
    this.host.set(m.host_unit ?? null);
    this.chair.set(m.chair_unit ?? null);
    this.lastHostId = m.host_unit ?? null;
    this.scope.set(m.scope);
    this.scope.setContext({ host: m.host_unit ?? null, chair: m.chair_unit ?? null });
    this.clearErrors();
    $('m-conflicts').hidden = true;
    $('editor-title').textContent = t(this.editing ? 'sched.form.editTitle' : 'sched.form.newTitle');
    $('m-save-text').textContent = t(this.editing ? 'sched.form.saveEdit' : 'sched.form.save');
    this.renderPreview({ state: 'idle' });
    this.updateEndHint();
    this.snapshot = JSON.stringify(this.read().form);
    this.preview();
  }

  show() {
    $('editor').hidden = false;
    document.body.dataset.panel = 'editor';
    this.f.title.focus();
  }

  /** Back to the calendar; asks first when something typed would be lost. */
  async close({ force = false } = {}) {
    if (!force && JSON.stringify(this.read().form) !== this.snapshot) {
      const ok = await confirmDialog({
        title: t('sched.form.discardTitle'),
        body: t('sched.form.discardBody'),
        confirm: t('sched.form.discard'),
        danger: true,
      });
      if (!ok) return false;
    }
    this.previewLater.cancel();
    this.previewAbort?.abort();
    $('editor').hidden = true;
    document.body.dataset.panel = 'calendar';
    this.onClose();
    return true;
  }

  // ---------------------------------------------------------------- reading

  /** The MeetingForm from the inputs, and the problems found ({id, key, vars}). */
  read() {
    const f = this.f;
    const errors = [];
    const title = f.title.value.trim();
    if (!title) errors.push({ id: 'm-title', key: 'sched.form.titleRequired' });
    else if ([...title].length > TITLE_MAX) errors.push({ id: 'm-title', key: 'sched.form.titleTooLong', vars: { max: TITLE_MAX } });
    const agenda = f.agenda.value;
    if ([...agenda].length > AGENDA_MAX) errors.push({ id: 'm-agenda', key: 'sched.form.agendaTooLong', vars: { max: AGENDA_MAX } });
    const day = parseIsoDate(f.date.value);
    const startMin = parseTime(f.start.value);
    const endMin = parseTime(f.end.value);
    if (day == null) errors.push({ id: 'm-date', key: 'sched.form.dateRequired' });
    if (startMin == null) errors.push({ id: 'm-start', key: 'sched.form.timeRequired' });
    if (endMin == null) errors.push({ id: 'm-end', key: 'sched.form.timeRequired' });
    let start = null;
    let end = null;
    if (day != null && startMin != null && endMin != null) {
      start = instant(day, startMin);
      // An end at or before the start is on the next day (a meeting past midnight).
      end = instant(endMin > startMin ? day : day + 1, endMin);
      if (endMin === startMin) errors.push({ id: 'm-end', key: 'sched.form.endSameAsStart' });
    }
    let weeklyUntil = null;
    if (f.weekly.value.trim()) {
      const until = parseIsoDate(f.weekly.value);
      if (until == null) errors.push({ id: 'm-weekly-until', key: 'sched.form.dateInvalid' });
      else if (day != null && until < day + 7) errors.push({ id: 'm-weekly-until', key: 'sched.form.weeklyTooSoon' });
      else weeklyUntil = instant(until + 1, 0); // up to and including that day
    }
    const host = this.host.value?.id ?? null;
    const chair = this.chair.value?.id ?? null;
    if (!host) errors.push({ id: 'm-host', key: 'sched.form.hostRequired' });
    if (!chair) errors.push({ id: 'm-chair-unit', key: 'sched.form.chairRequired' });
    const scope = this.scope.value;
    if (!scope.root) errors.push({ id: 'scope-root', key: 'sched.form.rootRequired' });
    let maxEndpoints = null;
    const capText = f.maxEndpoints.value.trim();
    if (capText) {
      maxEndpoints = Number(capText);
      if (!Number.isInteger(maxEndpoints) || maxEndpoints < MIN_CAP || maxEndpoints > MAX_CAP) {
        errors.push({ id: 'm-max-endpoints', key: 'sched.form.maxEndpointsRange', vars: { min: MIN_CAP, max: MAX_CAP } });
      }
    }
    const form = {
      title,
      agenda,
      start,
      end,
      weekly_until: weeklyUntil,
      host_unit: host,
      chair_unit: chair,
      chair_person: f.chairPerson.value.trim(),
      chair_user: this.editing?.chair_user ?? null, // not edited here: kept as it was
      scope,
      recorded: f.recorded.checked,
      max_endpoints: maxEndpoints,
      // '' (the list could not be loaded, a new meeting): no class, the hub's default.
      class: f.class.value || undefined,
    };
    return { form, errors };
  }

  // ---------------------------------------------------------------- changes

  hostChanged(unit) {
    // A new meeting's chair is usually its host: follow it until the chair is chosen apart.
    if (unit && (!this.chair.value || this.chair.value.id === this.lastHostId)) this.chair.set(unit);
    this.lastHostId = unit?.id ?? null;
    this.contextChanged();
  }

  contextChanged() {
    this.scope.setContext({ host: this.host.value?.id ?? null, chair: this.chair.value?.id ?? null });
    this.relevantChange();
  }

  /** Something the invitation list or the conflicts depend on changed. */
  relevantChange() {
    this.updateEndHint();
    $('m-conflicts').hidden = true; // a 409 answer no longer describes this form
    this.renderPreview({ state: 'loading' });
    this.previewLater();
  }

  updateEndHint() {
    const hint = $('m-end-hint');
    const s = parseTime(this.f.start.value);
    const e = parseTime(this.f.end.value);
    const day = parseIsoDate(this.f.date.value);
    if (s == null || e == null || s === e) {
      hint.textContent = '';
      return;
    }
    const minutes = e > s ? e - s : e + 1440 - s;
    const dur = t('sched.form.duration', { h: Math.floor(minutes / 60), m: String(minutes % 60).padStart(2, '0') });
    hint.textContent = e > s || day == null ? dur : `${dur} · ${t('sched.form.endsNextDay', { date: formatDay(day + 1, 'dayShort') })}`;
  }

  // ---------------------------------------------------------------- preview

  async preview() {
    const { form } = this.read();
    if (!form.scope.root || !form.host_unit) {
      this.renderPreview({ state: 'incomplete' });
      return;
    }
    const timesKnown = form.start != null && form.end != null;
    const body = {
      ...form,
      title: form.title || t('sched.form.untitled'),
      chair_unit: form.chair_unit ?? form.host_unit,
      start: timesKnown ? form.start : Math.ceil(Date.now() / DAY_MS) * DAY_MS,
      end: timesKnown ? form.end : Math.ceil(Date.now() / DAY_MS) * DAY_MS + 3600_000,
    };
    const seq = ++this.previewSeq;
    this.previewAbort?.abort();
    const abort = new AbortController();
    this.previewAbort = abort;
    this.renderPreview({ state: 'loading' });
    try {
      const res = await post('/api/meetings/preview', body, { signal: abort.signal });
      if (seq !== this.previewSeq) return;
      // The meeting being edited does not conflict with itself.
      const all = Array.isArray(res?.conflicts) ? res.conflicts : [];
      const conflicts = all.filter((c) => this.editing == null || c.meeting_id !== this.editing.id);
      const total = Math.max(res?.conflicts_total ?? 0, all.length) - (all.length - conflicts.length);
      this.renderPreview({
        state: 'ok',
        count: res?.invited_count ?? (res?.invited ?? []).length,
        conflicts: timesKnown ? conflicts : [],
        total: timesKnown ? total : 0,
      });
    } catch (err) {
      if (err?.name === 'AbortError' || seq !== this.previewSeq) return;
      this.renderPreview({ state: 'error', message: apiErrorText(err) });
    }
  }

  renderPreview(p) {
    const box = $('scope-count');
    const text = $('scope-count-text');
    const list = $('scope-conflicts');
    box.dataset.state = p.state;
    box.setAttribute('aria-busy', String(p.state === 'loading'));
    if (p.state === 'ok') {
      box.dataset.count = String(p.count);
      text.textContent = t('sched.scope.count', { count: p.count });
    } else if (p.state === 'loading') {
      if (!box.dataset.count) text.textContent = t('sched.scope.counting');
    } else {
      delete box.dataset.count;
      text.textContent = p.state === 'error' ? p.message : p.state === 'incomplete' ? t('sched.scope.countIncomplete') : '';
    }
    if (p.state === 'ok' || p.state === 'incomplete' || p.state === 'error') {
      const conflicts = p.conflicts ?? [];
      list.replaceChildren();
      if (conflicts.length) {
        list.append(el('p', { class: 'conflicts-head', text: t('sched.scope.conflicts', { count: p.total || conflicts.length }) }),
          el('ul', { class: 'conflict-list' }, conflictItems(conflicts, this.index, { groups: 5, namesShown: 8 })));
        const more = new Set(conflicts.map((c) => c.meeting_id)).size - 5;
        if (more > 0) list.append(el('p', { class: 'hint', text: t('sched.conflict.moreMeetings', { count: more }) }));
      }
      list.hidden = conflicts.length === 0;
    }
  }

  // ---------------------------------------------------------------- saving

  clearErrors() {
    for (const p of this.form.querySelectorAll('.field-error')) p.hidden = true;
    for (const i of this.form.querySelectorAll('[aria-invalid]')) i.removeAttribute('aria-invalid');
    $('m-error').hidden = true;
  }

  showFieldError(id, text) {
    const input = $(id);
    input?.setAttribute('aria-invalid', 'true');
    const p = $(`${id}-error`);
    if (p) {
      p.textContent = text;
      p.hidden = false;
    }
    return input;
  }

  showFormError(text, { relogin = false } = {}) {
    const box = $('m-error');
    box.replaceChildren(el('span', { text }));
    if (relogin) {
      box.append(' ', el('a', { href: 'login.html?next=%2Fschedule.html', target: '_blank', rel: 'noopener', text: t('sched.err.reloginLink') }));
    }
    box.hidden = false;
  }

  async save(acknowledge) {
    if (this.saving) return;
    this.clearErrors();
    const { form, errors } = this.read();
    if (errors.length) {
      let first = null;
      for (const e of errors) first ??= this.showFieldError(e.id, t(e.key, e.vars ?? {}));
      this.showFormError(t('sched.form.fixErrors', { count: errors.length }));
      first?.focus();
      return;
    }
    if (acknowledge) form.acknowledge_conflicts = true;
    this.setSaving(true);
    try {
      const res = this.editing
        ? await put(`/api/meetings/${encodeURIComponent(this.editing.id)}`, form)
        : await post('/api/meetings', form);
      $('m-conflicts').hidden = true;
      this.snapshot = JSON.stringify(this.read().form);
      this.setSaving(false);
      await this.close({ force: true });
      this.onSaved(res?.meeting ?? null, res?.conflicts ?? []);
      return;
    } catch (err) {
      this.setSaving(false);
      if (err instanceof ApiError && err.code === 'conflicts') {
        this.showConflicts(err.body?.conflicts ?? [], err.body?.conflicts_total);
      } else if (err instanceof ApiError && err.status === 401) {
        this.showFormError(t('sched.err.sessionExpired'), { relogin: true });
      } else {
        this.showFormError(apiErrorText(err));
        if (err instanceof ApiError && err.code === 'bad_request') this.markFieldFromMessage(err.message);
      }
    }
  }

  markFieldFromMessage(message) {
    const msg = String(message ?? '');
    for (const [name, id] of FIELD_INPUTS) {
      if (id && new RegExp(`\\b${name}\\b`).test(msg)) {
        $(id)?.setAttribute('aria-invalid', 'true');
        $(id)?.focus();
        return;
      }
    }
  }

  showConflicts(conflicts, total) {
    const box = $('m-conflicts');
    const n = Math.max(total ?? 0, conflicts.length);
    $('m-conflicts-title').textContent = t('sched.conflict.title', { count: n });
    const list = $('m-conflicts-list');
    list.replaceChildren(...conflictItems(conflicts, this.index));
    const meetings = new Set(conflicts.map((c) => c.meeting_id)).size;
    const notListed = n - conflicts.length; // beyond the 200 the hub sends
    $('m-conflicts-more').textContent = [
      meetings > CONFLICTS_SHOWN ? t('sched.conflict.moreMeetings', { count: meetings - CONFLICTS_SHOWN }) : '',
      notListed > 0 ? t('sched.conflict.more', { count: notListed }) : '',
    ].filter(Boolean).join(' ');
    box.hidden = false;
    box.scrollIntoView({ block: 'nearest' });
    $('m-save-anyway').focus();
  }

  setSaving(on) {
    this.saving = on;
    for (const b of [$('m-save'), $('m-save-anyway')]) {
      b.disabled = on;
      b.setAttribute('aria-busy', String(on));
    }
    $('m-save-text').textContent = t(on ? 'sched.form.saving' : this.editing ? 'sched.form.saveEdit' : 'sched.form.save');
  }

  /** Re-translates what the form wrote itself (after a language change). */
  relabel() {
    $('editor-title').textContent = t(this.editing ? 'sched.form.editTitle' : 'sched.form.newTitle');
    this.renderClasses(this.f.class.value || null);
    this.setSaving(this.saving);
    this.updateEndHint();
    this.scope.relabel();
    if (this.isOpen) this.preview();
  }
}
