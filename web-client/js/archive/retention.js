// The archive's rules of retention, without the DOM (tested with node --test in
// tests/browser/archive-rules.test.mjs): how a recording's retention reads ("Lưu đến
// 01/01/2037", "Vĩnh viễn", "Chưa phân loại"), whether it may be destroyed now and if not
// why, and the checks of the destruction dialog (the session's number typed back, a reason).
//
// The hub decides (docs/api.md): `keep_until` is the start of the Viet Nam day from which a
// recording may be destroyed (null: kept — permanently, or until an archivist classifies a
// recording made before classes existed, whose `class` is null); `expired` says that day has
// come; `deleted` ({at, by, reason}) says it was destroyed. Nothing is ever destroyed without
// an archivist confirming it here.

import { t } from '../i18n.js';
import { dayOf, isoDate, format } from '../schedule/time.js';

/** The most characters a reason may have (the hub refuses more). */
export const REASON_MAX = 500;

/** States in which a recording is still being written: it cannot be destroyed. */
const MOVING = new Set(['recording', 'finalising']);

/** "30/11/2036": the Viet Nam day of instant `ms` (the same in both languages); "—" for none. */
export function formatVnDate(ms) {
  const n = Number(ms);
  if (ms == null || ms === '' || !Number.isFinite(n)) return '—';
  const [y, m, d] = isoDate(dayOf(n)).split('-');
  return `${d}/${m}/${y}`;
}

/** Whether the recording was destroyed (its files are gone). */
export function isDeleted(rec) {
  return rec?.state === 'deleted' || (rec?.deleted != null && typeof rec.deleted === 'object');
}

/**
 * What a recording's retention is:
 *   {kind: 'deleted', at}              destroyed (at: ms or null)
 *   {kind: 'unclassified'}             no class: kept until an archivist classifies it
 *   {kind: 'permanent'}                kept permanently
 *   {kind: 'until', until, expired}    kept until `until` (ms); `expired` once that day came
 */
export function retentionOf(rec) {
  if (isDeleted(rec)) return { kind: 'deleted', at: rec?.deleted?.at ?? null };
  if (rec?.class == null || rec.class === '') return { kind: 'unclassified' };
  if (rec.keep_until == null) return { kind: 'permanent' };
  return { kind: 'until', until: Number(rec.keep_until), expired: rec.expired === true };
}

/** The retention in a few words, for the search results and the session's block. */
export function retentionLabel(rec) {
  const r = retentionOf(rec);
  if (r.kind === 'deleted') return r.at != null ? t('arch.ret.deletedOn', { date: formatVnDate(r.at) }) : t('arch.ret.deleted');
  if (r.kind === 'unclassified') return t('arch.ret.unclassified');
  if (r.kind === 'permanent') return t('arch.ret.permanent');
  return t('arch.ret.until', { date: formatVnDate(r.until) });
}

/** Whether an account may classify and destroy recordings (the archivist role; an admin is not enough). */
export function canManageRetention(user) {
  return Array.isArray(user?.roles) && user.roles.includes('archivist');
}

/**
 * Whether `rec` may be destroyed now, and when not, why:
 *   {allowed: true}
 *   {allowed: false, reason: 'none' | 'deleted' | 'moving' | 'unclassified' | 'permanent' |
 *     'not_expired' | 'role', until?: ms}
 * The hub's `expired` decides the time (its clock, not this computer's); the page only
 * follows it. A person without the archivist role learns that last, after the rest.
 */
export function deletionAllowed(rec, { archivist = true } = {}) {
  if (!rec) return { allowed: false, reason: 'none' };
  if (isDeleted(rec)) return { allowed: false, reason: 'deleted' };
  if (MOVING.has(rec.state)) return { allowed: false, reason: 'moving' };
  const r = retentionOf(rec);
  if (rec.expired !== true) {
    if (r.kind === 'unclassified') return { allowed: false, reason: 'unclassified' };
    if (r.kind === 'permanent') return { allowed: false, reason: 'permanent' };
    return { allowed: false, reason: 'not_expired', until: r.until };
  }
  if (!archivist) return { allowed: false, reason: 'role' };
  return { allowed: true };
}

/** Why the destroy button is disabled (its title and the hint beside it); '' when it is not. */
export function deletionHint(d) {
  if (!d || d.allowed) return '';
  if (d.reason === 'not_expired') return t('arch.del.why.not_expired', { date: formatVnDate(d.until) });
  return t(`arch.del.why.${d.reason}`);
}

/**
 * The session number typed back into the dialog, against `sessionId`:
 * 'empty' | 'partial' (a beginning of it: still typing) | 'mismatch' | 'ok'.
 * Spaces around it do not count; nothing else is forgiven (not "012" for 12).
 */
export function confirmState(typed, sessionId) {
  const s = String(typed ?? '').trim();
  const want = String(sessionId ?? '');
  if (!s) return 'empty';
  if (want && s === want) return 'ok';
  if (want.startsWith(s)) return 'partial';
  return 'mismatch';
}

/** The reason: 'empty' | 'too_long' | 'ok' (1 to REASON_MAX characters once trimmed). */
export function reasonState(text) {
  const s = String(text ?? '').trim();
  if (!s) return 'empty';
  if ([...s].length > REASON_MAX) return 'too_long';
  return 'ok';
}

/**
 * The dialog's fields checked: `ok` only when both are; `body` is then what
 * DELETE /api/recordings/{id} takes ({confirm: the number, reason: trimmed}).
 * @returns {{ok: boolean, confirm: string, reason: string, body: {confirm: number, reason: string}|null}}
 */
export function validateDeletion({ confirm, reason } = {}, sessionId) {
  const c = confirmState(confirm, sessionId);
  const r = reasonState(reason);
  const ok = c === 'ok' && r === 'ok';
  return { ok, confirm: c, reason: r, body: ok ? { confirm: Number(sessionId), reason: String(reason).trim() } : null };
}

/** "Bản ghi đã được huỷ ngày 05/03/2037 lúc 14:20 bởi luu-tru — lý do: …" */
export function deletedText(rec) {
  const d = rec?.deleted ?? {};
  return t('arch.ret.deletedNotice', {
    date: formatVnDate(d.at),
    time: d.at != null ? format(d.at, 'short').slice(6) : '—',
    by: d.by || '—',
    reason: d.reason || '—',
  });
}
