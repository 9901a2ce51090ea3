// A session's retention block (#retention) and the dialog that destroys a recording
// (#delete-dialog): the meeting class, the day until which the recording is kept, whether
// that day has come; classifying it again (PUT /api/recordings/{id}/class, archivists only);
// destroying it once its retention is over (DELETE /api/recordings/{id} with the session's
// number typed back and a reason). The rules are in retention.js; the hub checks them again.
//
// A refusal is shown where it happened (beside the select, inside the dialog), and nothing
// typed is cleared by it. Only a 401 leaves the page (to the login); a 403 here means "an
// admin without the archivist role", which is said in place rather than closing the archive.
//
// Hooks for tests: #retention[data-class][data-keep-until][data-expired][data-deleted],
// #retention-facts [data-fact="class" | "keep-until" | "status"] dd, #retention-expired,
// #retention-class, #retention-save, #delete-recording (disabled, title), #delete-dialog
// (open), #delete-confirm, #delete-reason, #delete-submit, #delete-error.

import { t, has } from '../i18n.js';
import { ApiError, api, put } from '../api.js';
import { $, el, apiErrorText } from '../schedule/dom.js';
import { formatBytes } from './format.js';
import { loadMeetingClasses, findClass, className, classOptionText, describeClass } from '../meeting-classes.js';
import {
  REASON_MAX, retentionOf, retentionLabel, formatVnDate, isDeleted, deletionAllowed, deletionHint, validateDeletion,
} from './retention.js';

/** The words for a refusal of the archive's API: its own for what only it refuses, else the shared ones. */
export function archiveErrorText(err) {
  if (err instanceof ApiError && err.code !== 'bad_request' && has(`arch.err.${err.code}`)) return t(`arch.err.${err.code}`);
  return apiErrorText(err);
}

export class RetentionPanel {
  /**
   * @param {{archivist: boolean, onAuthError: (err) => boolean, status: (text: string, error?: boolean) => void,
   *   onChanged: (rec: object|null) => void}} o
   *   onChanged gets the recording the hub answered (null: load it again).
   */
  constructor({ archivist, onAuthError, status, onChanged }) {
    this.archivist = archivist;
    this.onAuthError = onAuthError;
    this.status = status;
    this.onChanged = onChanged;
    this.rec = null;
    this.classes = null; // {classes, default} once loaded
    this.classesFailed = false;
    this.chosen = null; // the class picked in the select and not saved yet
    this.saving = false;
    this.error = null;
    this.deleting = false;
    this.typedFor = null; // the session the dialog's fields were typed for

    $('retention-class').addEventListener('change', (e) => {
      this.chosen = e.target.value;
      this.error = null;
      this.renderControls();
    });
    $('retention-save').addEventListener('click', () => this.save());
    $('delete-recording').addEventListener('click', () => this.openDialog());
    $('delete-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    $('delete-cancel').addEventListener('click', () => this.closeDialog());
    $('delete-dialog').addEventListener('cancel', (e) => {
      if (this.deleting) e.preventDefault(); // Esc while the hub is destroying it: wait for the answer
    });
    for (const id of ['delete-confirm', 'delete-reason']) {
      $(id).addEventListener('input', () => {
        $('delete-error').hidden = true;
        this.validate();
      });
    }
  }

  /** Only a missing login leaves the page; any other refusal is said in place. */
  authError(err) {
    return err?.status === 401 && this.onAuthError(err);
  }

  /**
   * Loads the meeting classes once (again after a failure). True when this call changed
   * what is known (the caller shows the recording again).
   */
  async ensureClasses() {
    if (this.classes) return false;
    try {
      this.classes = await loadMeetingClasses();
      this.classesFailed = false;
    } catch (err) {
      if (this.authError(err)) return false;
      this.classesFailed = true;
    }
    return true;
  }

  // ---------------------------------------------------------------- the block

  render(rec) {
    if (this.rec?.session_id !== rec?.session_id) {
      this.chosen = null;
      this.error = null;
    }
    this.rec = rec;
    if (!rec) return;
    const r = retentionOf(rec);
    const deleted = r.kind === 'deleted';
    const box = $('retention');
    box.dataset.class = rec.class ?? '';
    box.dataset.keepUntil = rec.keep_until ?? '';
    box.dataset.expired = String(rec.expired === true && !deleted);
    box.dataset.deleted = String(deleted);
    $('retention-expired').hidden = !(rec.expired === true && !deleted);

    const fact = (key, label, value) => el('div', { class: 'fact', 'data-fact': key }, el('dt', { text: label }), el('dd', {}, value));
    const classText = rec.class == null || rec.class === '' ? t('arch.ret.unclassified') : describeClass(this.classes, rec.class);
    let keep;
    if (rec.keep_until != null) keep = formatVnDate(rec.keep_until);
    else keep = rec.class == null || rec.class === '' ? t('arch.ret.unclassified') : t('arch.ret.permanent');
    let statusText;
    if (deleted) statusText = t('arch.ret.status.deleted');
    else if (r.kind === 'unclassified') statusText = t('arch.ret.status.unclassified');
    else if (r.kind === 'permanent') statusText = t('arch.ret.status.permanent');
    else if (r.expired) statusText = t('arch.ret.status.expired', { date: formatVnDate(r.until) });
    else statusText = t('arch.ret.status.kept');
    $('retention-facts').replaceChildren(
      fact('class', t('arch.ret.class'), classText),
      fact('keep-until', t('arch.ret.keepUntil'), keep),
      el('div', { class: 'fact fact-wide', 'data-fact': 'status' },
        el('dt', { text: t('arch.ret.status') }),
        el('dd', { class: r.kind === 'until' && r.expired ? 'ret-expired' : '' }, statusText)),
    );
    $('retention-controls').hidden = deleted;
    $('retention-hint').hidden = deleted;
    this.renderControls();
    if ($('delete-dialog').open) this.fillDialog();
  }

  renderControls() {
    const rec = this.rec;
    if (!rec) return;
    const select = $('retention-class');
    const list = this.classes?.classes ?? [];
    const current = rec.class ?? '';
    const options = [];
    if (!list.length) {
      let text = t('arch.loading');
      if (this.classesFailed) text = current ? describeClass(null, current) : t('ret.loadFailed');
      options.push(el('option', { value: current, text }));
    } else {
      if (!current) options.push(el('option', { value: '', text: t('arch.ret.choose') }));
      else if (!findClass(this.classes, current)) options.push(el('option', { value: current, text: describeClass(this.classes, current) }));
      for (const c of list) options.push(el('option', { value: c.id, text: classOptionText(c) }));
    }
    select.replaceChildren(...options);
    const wanted = this.chosen ?? current;
    select.value = [...select.options].some((o) => o.value === wanted) ? wanted : current;
    select.disabled = !this.archivist || !list.length || this.saving;
    const save = $('retention-save');
    save.disabled = !this.archivist || !list.length || this.saving || !select.value || select.value === current;
    save.setAttribute('aria-busy', String(this.saving));
    $('retention-save-text').textContent = t(this.saving ? 'arch.ret.saving' : 'arch.ret.save');
    let hint = t('arch.ret.reclassifyHint');
    if (!this.archivist) hint = t('arch.ret.onlyArchivists');
    else if (this.classesFailed && !list.length) hint = t('ret.loadFailed');
    $('retention-class-hint').textContent = hint;
    const error = $('retention-error');
    error.hidden = !this.error;
    error.textContent = this.error ?? '';
    if (this.error) select.setAttribute('aria-invalid', 'true');
    else select.removeAttribute('aria-invalid');

    const d = deletionAllowed(rec, { archivist: this.archivist });
    const button = $('delete-recording');
    button.hidden = isDeleted(rec);
    button.disabled = !d.allowed;
    button.title = deletionHint(d);
    button.dataset.reason = d.allowed ? '' : d.reason;
    $('delete-why').textContent = deletionHint(d);
    $('delete-why').hidden = d.allowed;
  }

  async save() {
    const rec = this.rec;
    const value = $('retention-class').value;
    if (!rec || !value || value === rec.class || this.saving || !this.archivist) return;
    this.saving = true;
    this.error = null;
    this.renderControls();
    let answer;
    try {
      answer = await put(`/api/recordings/${encodeURIComponent(rec.session_id)}/class`, { class: value });
    } catch (err) {
      this.saving = false;
      if (this.authError(err)) return;
      if (this.rec?.session_id === rec.session_id) this.error = t('arch.ret.error', { detail: archiveErrorText(err) });
      this.renderControls();
      return;
    }
    this.saving = false;
    if (this.rec?.session_id !== rec.session_id) return;
    this.chosen = null;
    this.status(t('arch.ret.saved', { name: className(findClass(this.classes, value)) || value }));
    this.onChanged(answer && typeof answer === 'object' && answer.session_id === rec.session_id ? answer : null);
  }

  // ---------------------------------------------------------------- the dialog

  openDialog() {
    const rec = this.rec;
    if (!rec || !deletionAllowed(rec, { archivist: this.archivist }).allowed) return;
    if (this.typedFor !== rec.session_id) {
      $('delete-confirm').value = '';
      $('delete-reason').value = '';
      this.typedFor = rec.session_id;
    }
    $('delete-error').hidden = true;
    this.fillDialog();
    $('delete-dialog').showModal();
    $('delete-confirm').focus();
  }

  /** The dialog's words for the recording shown (again after a language change). */
  fillDialog() {
    const rec = this.rec;
    if (!rec) return;
    const id = rec.session_id;
    $('delete-title').textContent = t('arch.del.title', { id });
    $('delete-what').textContent = t('arch.del.what', { title: rec.title ?? '', day: formatVnDate(rec.started_at), retention: retentionLabel(rec) });
    const files = Array.isArray(rec.files) ? rec.files.length : Number(rec.files) || 0;
    $('delete-body').textContent = t('arch.del.body', { count: files, size: formatBytes(rec.bytes) });
    $('delete-confirm-label').textContent = t('arch.del.confirmLabel', { id });
    this.validate();
  }

  closeDialog() {
    if (this.deleting) return;
    const dlg = $('delete-dialog');
    if (dlg.open) dlg.close();
    $('delete-recording').focus?.();
  }

  /** Checks the fields as they are typed: the button is enabled only when both are right. */
  validate() {
    const rec = this.rec;
    const confirm = $('delete-confirm');
    const reason = $('delete-reason');
    const v = validateDeletion({ confirm: confirm.value, reason: reason.value }, rec?.session_id);
    const submit = $('delete-submit');
    submit.disabled = !v.ok || this.deleting || !rec;
    submit.setAttribute('aria-busy', String(this.deleting));
    $('delete-submit-text').textContent = t(this.deleting ? 'arch.del.submitting' : 'arch.del.submit');
    $('delete-dialog').dataset.valid = String(v.ok);

    const cErr = $('delete-confirm-error');
    cErr.hidden = v.confirm !== 'mismatch';
    cErr.textContent = v.confirm === 'mismatch' ? t('arch.del.confirmMismatch', { id: rec?.session_id ?? '' }) : '';
    if (v.confirm === 'mismatch') confirm.setAttribute('aria-invalid', 'true');
    else confirm.removeAttribute('aria-invalid');

    const length = [...reason.value.trim()].length;
    $('delete-reason-count').textContent = t('arch.del.reasonCount', { count: length, max: REASON_MAX });
    const rErr = $('delete-reason-error');
    rErr.hidden = v.reason !== 'too_long';
    rErr.textContent = v.reason === 'too_long' ? t('arch.del.reasonTooLong', { max: REASON_MAX }) : '';
    if (v.reason === 'too_long') reason.setAttribute('aria-invalid', 'true');
    else reason.removeAttribute('aria-invalid');
    return v;
  }

  async submit() {
    const rec = this.rec;
    if (!rec || this.deleting) return;
    const v = this.validate();
    if (!v.ok) return;
    this.deleting = true;
    $('delete-error').hidden = true;
    this.validate();
    let answer;
    try {
      answer = await api('DELETE', `/api/recordings/${encodeURIComponent(rec.session_id)}`, v.body);
    } catch (err) {
      this.deleting = false;
      this.validate();
      if (this.authError(err)) return;
      const box = $('delete-error');
      box.textContent = t('arch.del.error', { detail: archiveErrorText(err) });
      box.hidden = false;
      // The recording may have changed meanwhile (destroyed from another window, not
      // expired any more after a new class): look again, the dialog stays as typed.
      if (err instanceof ApiError && (err.code === 'gone' || err.code === 'invalid_state')) this.onChanged(null);
      return;
    }
    this.deleting = false;
    $('delete-confirm').value = '';
    $('delete-reason').value = '';
    this.typedFor = null;
    this.validate();
    $('delete-dialog').close();
    this.status(t('arch.del.done', { id: rec.session_id }));
    this.onChanged(answer && typeof answer === 'object' && answer.session_id === rec.session_id ? answer : null);
  }

  /** Closes the dialog without a word (the page goes to another session or the list). */
  reset() {
    this.deleting = false;
    if ($('delete-dialog').open) $('delete-dialog').close();
  }

  relabel() {
    if (this.rec) this.render(this.rec);
  }
}
