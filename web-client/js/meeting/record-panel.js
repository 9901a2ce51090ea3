// The chair's meeting record, under the roll call in the chair's panel: the notes and the list
// of decisions typed during the meeting (PUT /api/meetings/{id}/record, with the chair's join
// token or a staff chair's session), and the link to the printable record with the live
// attendance (record.html). Loaded only for a chair (import() from chair.js).
//
// Test hooks: #record-editor, #record-notes, #record-decisions li input, #record-add-decision,
// #record-save, #record-status[data-state="saved|saving|unsaved|failed"], #record-open.

import { t } from '../i18n.js';
import { api } from '../api.js';
import { MEETING_ID, TOKEN } from './state.js';
import '../strings/record.js';

const AUTOSAVE_MS = 5_000;
const TIME_ZONE = 'Asia/Ho_Chi_Minh';

function path(what) {
  const q = TOKEN ? `?token=${encodeURIComponent(TOKEN)}` : '';
  return `/api/meetings/${MEETING_ID}/${what}${q}`;
}

/** The editor in `root` (an empty element), filled from the hub's saved record. */
export class RecordPanel {
  constructor(root) {
    this.root = root;
    this.dirty = false;
    this.saving = null;
    this.savedAt = null;
    this.error = null;
    this.timer = null;
    root.innerHTML = `
      <h3 class="record-panel-title"></h3>
      <label class="record-label" for="record-notes"></label>
      <textarea id="record-notes" rows="6" maxlength="20000" spellcheck="true"></textarea>
      <p class="record-label" id="record-decisions-label"></p>
      <ol class="record-decisions" id="record-decisions" aria-labelledby="record-decisions-label"></ol>
      <div class="record-actions">
        <button type="button" class="btn btn-secondary" id="record-add-decision"></button>
        <button type="button" class="btn btn-primary" id="record-save"></button>
      </div>
      <p class="record-status" id="record-status" role="status" aria-live="polite"></p>
      <a class="record-open" id="record-open" target="_blank" rel="noopener"></a>`;
    this.notes = root.querySelector('#record-notes');
    this.list = root.querySelector('#record-decisions');
    this.status = root.querySelector('#record-status');
    this.notes.addEventListener('input', () => this.changed());
    root.querySelector('#record-add-decision').addEventListener('click', () => {
      this.addDecision('').focus();
      this.changed();
    });
    root.querySelector('#record-save').addEventListener('click', () => this.save());
    const q = new URLSearchParams({ meeting: String(MEETING_ID) });
    if (TOKEN) q.set('token', TOKEN);
    root.querySelector('#record-open').href = `record.html?${q}`;
    this.render();
    this.load();
  }

  async load() {
    try {
      const r = await api('GET', path('record'), undefined, { csrf: false });
      if (this.dirty) return; // typed before the saved record came: keep what was typed
      this.notes.value = r.notes ?? '';
      this.list.replaceChildren();
      for (const d of r.decisions ?? []) this.addDecision(d);
      this.savedAt = r.updated_at ?? null;
      this.renderStatus();
    } catch (err) {
      this.error = err.message || err.code;
      this.renderStatus();
    }
  }

  addDecision(text) {
    const li = document.createElement('li');
    const input = document.createElement('input');
    input.type = 'text';
    input.maxLength = 2000;
    input.value = text;
    input.placeholder = t('recordPanel.decisionPlaceholder');
    input.addEventListener('input', () => this.changed());
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'record-remove';
    remove.textContent = '×';
    remove.addEventListener('click', () => {
      li.remove();
      this.renumber();
      this.changed();
    });
    const row = document.createElement('div');
    row.className = 'record-decision';
    row.append(input, remove);
    li.append(row);
    this.list.append(li);
    this.renumber();
    return input;
  }

  renumber() {
    [...this.list.children].forEach((li, i) => {
      const label = t('recordPanel.removeDecision', { n: i + 1 });
      const b = li.querySelector('button');
      b.title = label;
      b.setAttribute('aria-label', label);
    });
  }

  changed() {
    this.dirty = true;
    this.error = null;
    this.renderStatus();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.save(), AUTOSAVE_MS);
  }

  async save() {
    clearTimeout(this.timer);
    if (this.saving) return this.saving;
    const body = {
      notes: this.notes.value,
      decisions: [...this.list.querySelectorAll('input')].map((i) => i.value),
    };
    this.dirty = false;
    this.renderStatus('saving');
    this.saving = (async () => {
      try {
        // With a join token there is no session cookie, so no CSRF header either.
        const r = await api('PUT', path('record'), body, { csrf: !TOKEN });
        this.savedAt = r.updated_at;
        this.error = null;
      } catch (err) {
        this.dirty = true;
        this.error = err.message || err.code;
      } finally {
        this.saving = null;
        this.renderStatus();
      }
    })();
    return this.saving;
  }

  renderStatus(forced) {
    let state;
    let text;
    if (forced === 'saving') [state, text] = ['saving', t('recordPanel.saving')];
    else if (this.error) [state, text] = ['failed', t('recordPanel.failed', { message: this.error })];
    else if (this.dirty) [state, text] = ['unsaved', t('recordPanel.unsaved')];
    else if (this.savedAt) {
      const time = new Date(this.savedAt).toLocaleTimeString('vi-VN', { timeZone: TIME_ZONE, hour: '2-digit', minute: '2-digit', hour12: false });
      [state, text] = ['saved', t('recordPanel.saved', { time })];
    } else [state, text] = ['empty', ''];
    this.status.dataset.state = state;
    this.status.textContent = text;
  }

  /** Labels in the current language. */
  render() {
    const q = (s) => this.root.querySelector(s);
    q('.record-panel-title').textContent = t('recordPanel.title');
    q('label[for="record-notes"]').textContent = t('recordPanel.notes');
    this.notes.placeholder = t('recordPanel.notesHint');
    q('#record-decisions-label').textContent = t('recordPanel.decisions');
    q('#record-add-decision').textContent = t('recordPanel.addDecision');
    q('#record-save').textContent = t('recordPanel.save');
    q('#record-open').textContent = t('recordPanel.open');
    for (const input of this.list.querySelectorAll('input')) input.placeholder = t('recordPanel.decisionPlaceholder');
    this.renumber();
    this.renderStatus();
  }
}
