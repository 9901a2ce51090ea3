// A session's access log (GET /api/recordings/{id}/access-log), the latest 50 entries: when,
// who, what (play, download, verify, classify — `file` is then the class —, delete), which
// file, and the entry's chained hash.
//
// Hooks for tests: #access-log tbody tr[data-action][data-file].

import { t, has } from '../i18n.js';
import { get } from '../api.js';
import { $, el, apiErrorText } from '../schedule/dom.js';
import { format } from '../schedule/time.js';
import { shortHash } from './format.js';

export const ACCESS_LOG_ROWS = 50;

export class AccessLog {
  /**
   * @param {{onAuthError: (err) => boolean, describe?: (entry) => string|null}} o
   *   describe: the words for an entry's `file` column (null: the file as it is)
   */
  constructor({ onAuthError, describe = () => null }) {
    this.onAuthError = onAuthError;
    this.describe = describe;
    this.sessionId = null;
    this.entries = [];
    this.error = null;
    this.seq = 0;
    this.timer = null;
    $('access-refresh').addEventListener('click', () => this.load());
  }

  open(sessionId) {
    this.sessionId = sessionId;
    this.entries = [];
    this.error = null;
    this.render();
    return this.load();
  }

  close() {
    this.sessionId = null;
    this.seq++;
    clearTimeout(this.timer);
  }

  /** Loads again after `ms` (a download goes through the browser: give it a moment). */
  later(ms = 1500) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), ms);
  }

  async load() {
    if (this.sessionId == null) return;
    const seq = ++this.seq;
    const id = this.sessionId;
    $('access-log').setAttribute('aria-busy', 'true');
    try {
      const res = await get(`/api/recordings/${encodeURIComponent(id)}/access-log`);
      if (seq !== this.seq) return;
      this.entries = (Array.isArray(res?.entries) ? res.entries : []).slice(0, ACCESS_LOG_ROWS);
      this.error = null;
    } catch (err) {
      if (seq !== this.seq || this.onAuthError(err)) return;
      this.error = t('arch.log.error', { detail: apiErrorText(err) });
    }
    $('access-log').removeAttribute('aria-busy');
    this.render();
  }

  render() {
    const error = $('access-error');
    error.hidden = !this.error;
    error.textContent = this.error ?? '';
    $('access-empty').hidden = this.entries.length > 0 || !!this.error;
    $('access-log').hidden = this.entries.length === 0;
    const label = (key) => t(`arch.log.${key}`);
    $('access-log').tBodies[0].replaceChildren(...this.entries.map((e) => el('tr', {
      'data-action': e.action,
      'data-file': e.file ?? '',
      'data-entry-id': e.id,
    },
    el('td', { 'data-label': label('at'), text: format(e.at, 'dateTime') }),
    el('td', { 'data-label': label('user'), text: e.username }),
    el('td', { 'data-label': label('action') }, el('span', { class: `log-action log-${e.action}`, text: has(`arch.log.action.${e.action}`) ? t(`arch.log.action.${e.action}`) : String(e.action ?? '') })),
    el('td', { 'data-label': label('file'), class: 'log-file', text: this.describe(e) ?? e.file ?? t('arch.log.wholeSession') }),
    el('td', { 'data-label': label('hash') }, el('code', { class: 'hash', title: e.hash, text: shortHash(e.hash, 6) })))));
  }
}
