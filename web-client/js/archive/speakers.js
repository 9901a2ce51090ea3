// The speaker timeline of a session (#timeline): the time axis, then a row per participant —
// name and unit, a track with its presence, its files (a light band), its microphone's
// mutes (hatched) and its turns of speech (solid bars, buttons: a click, Enter or Space
// plays that participant's file from the turn's start) — and a playhead where the player is.
// The arithmetic is in timeline.js.
//
// Hooks for tests: #timeline .tl-row[data-participant-id], .tl-turn[data-from-ms][data-to-ms].

import { t } from '../i18n.js';
import { el } from '../schedule/dom.js';
import { formatClock } from './format.js';
import { timelineRows, timelineTicks } from './timeline.js';

const pos = (box) => `left:${box.left.toFixed(3)}%;width:${box.width.toFixed(3)}%`;

export class SpeakerTimeline {
  /** @param {{container: HTMLElement, onTurn: (turn, row) => void}} o */
  constructor({ container, onTurn }) {
    this.container = container;
    this.onTurn = onTurn;
    this.model = null;
    this.playheads = [];
    this.current = null; // participant id being played
  }

  /** Lays out `rec` (GET /api/recordings/{id}); false when there is nothing to show. */
  render(rec) {
    const model = timelineRows(rec);
    this.model = model;
    const hasTurns = model.rows.some((r) => r.turns.length);
    const rows = model.rows.filter((r) => r.turns.length || r.files.length);
    this.container.replaceChildren();
    this.playheads = [];
    this.container.dataset.turns = String(model.rows.reduce((n, r) => n + r.turns.length, 0));
    if (!rows.length) {
      this.container.append(el('p', { class: 'hint tl-none', text: t('arch.tl.none') }));
      return false;
    }
    const axis = el('div', { class: 'tl-axis', 'aria-hidden': 'true' });
    for (const tick of timelineTicks(model.span)) {
      const mark = el('span', { class: 'tl-tick', text: formatClock(tick.ms) });
      mark.style.left = `${tick.left}%`;
      if (tick.left > 92) mark.classList.add('tl-tick-end');
      axis.append(mark);
    }
    this.container.append(el('div', { class: 'tl-row tl-axis-row' },
      el('div', { class: 'tl-label', 'aria-hidden': 'true' }), axis));
    for (const row of rows) this.container.append(this.renderRow(row));
    if (!hasTurns) this.container.append(el('p', { class: 'hint tl-none', text: t('arch.tl.none') }));
    this.setCurrent(this.current);
    return true;
  }

  renderRow(row) {
    const who = row.stay ? `${row.name} (${t('arch.files.stay', { n: row.stay })})` : row.name;
    const track = el('div', { class: 'tl-track', role: 'group', 'aria-label': `${who}: ${t('arch.tl.turns', { count: row.turns.length })}` });
    const presence = el('span', { class: 'tl-presence', 'aria-hidden': 'true' });
    presence.style.cssText = pos(row.presence);
    track.append(presence);
    for (const f of row.files) {
      const band = el('span', { class: `tl-file tl-file-${f.file.content === 'screen' ? 'screen' : 'participant'}`, 'aria-hidden': 'true' });
      band.style.cssText = pos(f);
      track.append(band);
    }
    for (const m of row.muted) {
      const band = el('span', { class: 'tl-muted', 'aria-hidden': 'true', title: `${t('arch.tl.legendMuted')} ${formatClock(m.from_ms)}–${formatClock(m.to_ms)}` });
      band.style.cssText = pos(m);
      track.append(band);
    }
    for (const turn of row.turns) {
      const label = t('arch.tl.turn', { who, from: formatClock(turn.from_ms), to: formatClock(turn.to_ms) });
      const button = el('button', {
        type: 'button',
        class: 'tl-turn',
        'aria-label': label,
        title: label,
        'data-from-ms': turn.from_ms,
        'data-to-ms': turn.to_ms,
        on: { click: () => this.onTurn(turn, row) },
      });
      button.style.cssText = pos(turn);
      track.append(button);
    }
    const head = el('span', { class: 'tl-playhead', 'aria-hidden': 'true', hidden: true });
    track.append(head);
    this.playheads.push(head);
    return el('div', { class: 'tl-row', 'data-participant-id': row.participant_id },
      el('div', { class: 'tl-label' },
        el('span', { class: 'tl-name', text: who }),
        el('span', { class: 'tl-unit', text: row.unit_name || '' })),
      track);
  }

  /** Marks the row of the participant being played. */
  setCurrent(participantId) {
    this.current = participantId;
    for (const r of this.container.querySelectorAll('.tl-row[data-participant-id]')) {
      r.classList.toggle('current', participantId != null && r.dataset.participantId === String(participantId));
    }
  }

  /** Moves the playhead to session time `ms` (null hides it). */
  setPlayhead(ms) {
    const span = this.model?.span;
    for (const head of this.playheads) {
      if (ms == null || !span) {
        head.hidden = true;
        continue;
      }
      head.hidden = false;
      head.style.left = `${Math.min(100, Math.max(0, (ms / span) * 100)).toFixed(3)}%`;
    }
  }
}
