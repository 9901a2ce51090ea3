// The calendar: a week (Monday–Sunday columns, province time) or an agenda (a list by day).
// Each occurrence of a meeting is drawn: `.meeting[data-meeting-id][data-start]`, a button
// coloured by state (`state-planned|live|ended|cancelled`).

import { t } from '../i18n.js';
import { icon } from '../icons.js';
import { el } from './dom.js';
import {
  dayOf, dayStart, today, minuteOfDay, formatDay, formatRange, format, hhmm, isoDate, DAY_MS, MINUTE_MS,
} from './time.js';

const HOUR_PX = 48;
const DEFAULT_FIRST_HOUR = 7;
const DEFAULT_LAST_HOUR = 18; // the grid ends at this hour

export const STATES = ['planned', 'live', 'ended', 'cancelled'];

export function stateLabel(state) {
  return STATES.includes(state) ? t(`sched.state.${state}`) : String(state ?? '');
}

/** The occurrences of `meeting` that overlap [from, to). */
export function occurrencesIn(meeting, from, to) {
  const list = Array.isArray(meeting.occurrences) && meeting.occurrences.length
    ? meeting.occurrences
    : [{ start: meeting.start, end: meeting.end }];
  return list.filter((o) => o.start < to && o.end > from);
}

/** Splits occurrences into per-day pieces: {meeting, occ, day, start, end}. */
function pieces(meetings, firstDay, days) {
  const from = dayStart(firstDay);
  const to = dayStart(firstDay + days);
  const out = [];
  for (const m of meetings) {
    for (const occ of occurrencesIn(m, from, to)) {
      for (let d = Math.max(dayOf(occ.start), firstDay); d < firstDay + days && dayStart(d) < occ.end; d++) {
        const start = Math.max(occ.start, dayStart(d));
        const end = Math.min(occ.end, dayStart(d + 1));
        if (end > start) out.push({ meeting: m, occ, day: d, start, end });
      }
    }
  }
  return out.sort((a, b) => a.start - b.start || b.end - a.end || a.meeting.id - b.meeting.id);
}

/** Side-by-side columns for overlapping pieces of one day: sets p.col and p.cols. */
function layoutDay(list) {
  let cluster = [];
  let clusterEnd = -Infinity;
  const flush = () => {
    const colsEnd = [];
    for (const p of cluster) {
      let c = colsEnd.findIndex((end) => end <= p.start);
      if (c < 0) c = colsEnd.length;
      colsEnd[c] = p.end;
      p.col = c;
    }
    for (const p of cluster) p.cols = colsEnd.length;
    cluster = [];
  };
  for (const p of list) {
    if (p.start >= clusterEnd) {
      flush();
      clusterEnd = -Infinity;
    }
    cluster.push(p);
    clusterEnd = Math.max(clusterEnd, p.end);
  }
  flush();
}

function meetingLabel(p) {
  const m = p.meeting;
  return [stateLabel(m.state), formatDay(dayOf(p.occ.start), 'dayShort'), formatRange(p.occ.start, p.occ.end), m.title]
    .join(' · ');
}

export class Calendar {
  /**
   * @param {{container: HTMLElement, index: import('./units.js').UnitIndex, onOpen: (id: number) => void}} o
   */
  constructor({ container, index, onOpen }) {
    this.container = container;
    this.index = index;
    container.addEventListener('click', (e) => {
      const b = e.target.closest('.meeting[data-meeting-id]');
      if (b) onOpen(Number(b.dataset.meetingId));
    });
  }

  /**
   * @param {{meetings: object[], week: number (Monday's day number), view: 'week'|'agenda',
   *   selectedId?: number|null}} s
   */
  render(s) {
    const node = s.view === 'agenda' ? this.agenda(s) : this.week(s);
    this.container.replaceChildren(node);
    this.container.dataset.view = s.view;
  }

  week({ meetings, week, selectedId }) {
    const all = pieces(meetings, week, 7);
    let first = DEFAULT_FIRST_HOUR;
    let last = DEFAULT_LAST_HOUR;
    for (const p of all) {
      first = Math.min(first, Math.floor(minuteOfDay(p.start) / 60));
      const endMin = p.end - dayStart(p.day) >= DAY_MS ? 1440 : minuteOfDay(p.end);
      last = Math.max(last, Math.ceil(endMin / 60));
    }
    const hours = last - first;
    const now = Date.now();
    const todayNum = today();
    const head = el('div', { class: 'week-head', 'aria-hidden': 'true' }, el('div', { class: 'week-corner' }));
    const body = el('div', { class: 'week-body', style: `--hours:${hours};--hour-px:${HOUR_PX}px` });
    const labels = el('div', { class: 'hour-labels' });
    for (let h = first; h < last; h++) labels.append(el('div', { class: 'hour-label', text: hhmm(h * 60) }));
    body.append(labels);
    for (let i = 0; i < 7; i++) {
      const d = week + i;
      const isToday = d === todayNum;
      head.append(el('div', { class: `day-head${isToday ? ' today' : ''}` },
        el('span', { class: 'day-name', text: formatDay(d, 'weekday') }),
        el('span', { class: 'day-date', text: formatDay(d, 'dayMonth') })));
      const col = el('div', {
        class: `day-col${isToday ? ' today' : ''}${i >= 5 ? ' weekend' : ''}`,
        role: 'group',
        'aria-label': formatDay(d, 'dayLong'),
        'data-day': isoDate(d),
      });
      const mine = all.filter((p) => p.day === d);
      layoutDay(mine);
      for (const p of mine) {
        const top = ((p.start - dayStart(d)) / MINUTE_MS - first * 60) / 60 * HOUR_PX;
        const height = Math.max(22, (p.end - p.start) / MINUTE_MS / 60 * HOUR_PX - 2);
        const m = p.meeting;
        const b = el('button', {
          type: 'button',
          class: `meeting state-${m.state}${m.id === selectedId ? ' selected' : ''}${height < 40 ? ' short' : ''}`,
          style: `top:${top}px;height:${height}px;left:calc(${p.col} * 100% / ${p.cols});width:calc(100% / ${p.cols} - 3px);--lines:${Math.max(1, Math.floor((height - 22) / 16))}`,
          'data-meeting-id': m.id,
          'data-start': p.occ.start,
          'aria-label': meetingLabel(p),
          'aria-pressed': String(m.id === selectedId),
          title: meetingLabel(p),
        },
        el('span', { class: 'meeting-time', text: `${format(p.start, 'time')}–${format(p.end, 'time')}` }),
        el('span', { class: 'meeting-name', text: m.title }),
        m.weekly_until != null ? el('span', { class: 'meeting-repeat', html: icon('refresh'), title: t('sched.repeats') }) : null);
        col.append(b);
      }
      if (isToday) {
        const min = (now - dayStart(d)) / MINUTE_MS - first * 60;
        if (min >= 0 && min <= hours * 60) col.append(el('div', { class: 'now-line', style: `top:${min / 60 * HOUR_PX}px`, 'aria-hidden': 'true' }));
      }
      body.append(col);
    }
    const wrap = el('div', { class: 'week' }, head, body);
    if (!all.length) wrap.append(el('p', { class: 'calendar-empty', text: t('sched.cal.emptyWeek') }));
    return wrap;
  }

  agenda({ meetings, week, selectedId }) {
    // Each occurrence once, on the day it starts (or the Monday, when it began the week before).
    const all = pieces(meetings, week, 7).filter((p) => p.day === Math.max(dayOf(p.occ.start), week));
    const list = el('div', { class: 'agenda' });
    if (!all.length) {
      list.append(el('p', { class: 'calendar-empty', text: t('sched.cal.emptyWeek') }));
      return list;
    }
    for (let i = 0; i < 7; i++) {
      const d = week + i;
      const mine = all.filter((p) => p.day === d);
      if (!mine.length) continue;
      const ul = el('ul', { class: 'agenda-list' });
      for (const p of mine) {
        const m = p.meeting;
        const host = this.index.name(m.host_unit);
        ul.append(el('li', {}, el('button', {
          type: 'button',
          class: `meeting agenda-item state-${m.state}${m.id === selectedId ? ' selected' : ''}`,
          'data-meeting-id': m.id,
          'data-start': p.occ.start,
          'aria-pressed': String(m.id === selectedId),
        },
        el('span', { class: 'agenda-time', text: formatRange(p.occ.start, p.occ.end) }),
        el('span', { class: 'agenda-main' },
          el('span', { class: 'meeting-name', text: m.title }),
          el('span', { class: 'agenda-meta', text: [host, t('sched.invitedCount', { count: m.invited_count ?? 0 })].join(' · ') })),
        m.weekly_until != null ? el('span', { class: 'meeting-repeat', html: icon('refresh'), title: t('sched.repeats') }) : null,
        el('span', { class: `state-badge state-${m.state}`, text: stateLabel(m.state) }))));
      }
      list.append(el('section', { class: `agenda-day${d === today() ? ' today' : ''}` },
        el('h3', { class: 'agenda-date', text: formatDay(d, 'dayLong') }), ul));
    }
    return list;
  }
}
