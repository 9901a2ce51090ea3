// One modal confirmation dialog (<dialog id="confirm-dialog"> in schedule.html), optionally
// with a required reason. Resolves to {reason} when confirmed, null when dismissed.

import { t } from '../i18n.js';
import { $ } from './dom.js';

/**
 * @param {{title: string, body?: string, confirm: string, danger?: boolean,
 *   reason?: {label: string, required?: boolean}}} o
 * @returns {Promise<{reason: string}|null>}
 */
export function confirmDialog({ title, body = '', confirm, danger = false, reason = null }) {
  const dlg = $('confirm-dialog');
  const form = $('confirm-form');
  const reasonField = $('confirm-reason-field');
  const reasonInput = $('confirm-reason');
  const error = $('confirm-error');
  const ok = $('confirm-ok');
  $('confirm-title').textContent = title;
  $('confirm-body').textContent = body;
  $('confirm-body').hidden = !body;
  $('confirm-cancel').textContent = t('sched.dialog.back');
  ok.textContent = confirm;
  ok.className = `btn ${danger ? 'btn-danger' : 'btn-primary'}`;
  reasonField.hidden = !reason;
  reasonInput.value = '';
  reasonInput.removeAttribute('aria-invalid');
  error.hidden = true;
  if (reason) $('confirm-reason-label').textContent = reason.label;

  return new Promise((resolve) => {
    const done = (value) => {
      form.removeEventListener('submit', onSubmit);
      $('confirm-cancel').removeEventListener('click', onCancel);
      dlg.removeEventListener('cancel', onEsc);
      if (dlg.open) dlg.close();
      resolve(value);
    };
    const onSubmit = (e) => {
      e.preventDefault();
      const text = reasonInput.value.trim();
      if (reason?.required && !text) {
        error.textContent = t('sched.dialog.reasonRequired');
        error.hidden = false;
        reasonInput.setAttribute('aria-invalid', 'true');
        reasonInput.focus();
        return;
      }
      done({ reason: text });
    };
    const onCancel = () => done(null);
    const onEsc = (e) => {
      e.preventDefault();
      done(null);
    };
    form.addEventListener('submit', onSubmit);
    $('confirm-cancel').addEventListener('click', onCancel);
    dlg.addEventListener('cancel', onEsc);
    dlg.showModal();
    (reason ? reasonInput : $('confirm-cancel')).focus();
  });
}
