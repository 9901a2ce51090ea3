// The roll call of a live meeting on the schedule page, full width (#roll-view with
// #roll-call): GET /api/meetings/{id}/roll-call (`{units, connected, invited}`, the
// websocket's roll_call shape) every 3 s while it is shown and the page is visible, drawn by
// the shared roll-call table (js/rollcall.js).

import { get } from '../api.js';
import { RollCall } from '../rollcall.js';
import { $, apiErrorText } from './dom.js';

const REFRESH_MS = 3000;

export class RollCallPanel {
  /** @param {{directory: import('../directory.js').Directory}} o */
  constructor({ directory }) {
    this.directory = directory;
    this.container = $('roll-call');
    this.error = $('roll-call-error');
    this.meetingId = null;
    this.table = null;
    this.timer = null;
    this.seq = 0;
    document.addEventListener('visibilitychange', () => {
      if (this.meetingId == null) return;
      if (document.visibilityState === 'visible') this.poll();
      else clearTimeout(this.timer);
    });
  }

  get running() {
    return this.meetingId != null;
  }

  /** Shows the roll call of `meeting` in place of the calendar. */
  start(meeting) {
    this.stop();
    this.meetingId = meeting.id;
    $('roll-view-meeting').textContent = meeting.title;
    this.error.hidden = true;
    $('roll-view').hidden = false;
    document.body.dataset.panel = 'roll-call';
    this.table = new RollCall(this.container, { directory: this.directory, idPrefix: 'sched-roll' });
    $('roll-view-title').focus();
    this.poll();
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
    this.meetingId = null;
    this.seq++;
    this.table?.destroy();
    this.table = null;
    $('roll-view').hidden = true;
    if (document.body.dataset.panel === 'roll-call') document.body.dataset.panel = 'calendar';
  }

  async poll() {
    clearTimeout(this.timer);
    const id = this.meetingId;
    if (id == null) return;
    const seq = ++this.seq;
    try {
      const res = await get(`/api/meetings/${encodeURIComponent(id)}/roll-call`);
      if (seq !== this.seq) return;
      this.table.update(res);
      this.error.hidden = true;
    } catch (err) {
      if (seq !== this.seq) return;
      this.error.textContent = apiErrorText(err);
      this.error.hidden = false;
    }
    if (this.meetingId === id && document.visibilityState === 'visible') {
      this.timer = setTimeout(() => this.poll(), REFRESH_MS);
    }
  }
}
