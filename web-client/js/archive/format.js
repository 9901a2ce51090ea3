// The archive page's formatting of figures: sizes, lengths, positions on a session's
// timeline, checksums. No DOM here (tested with node --test in tests/browser/archive-rules.test.mjs).

import { getLang } from '../i18n.js';

const numberFormats = new Map();
function nf(digits) {
  const key = `${getLang()}|${digits}`;
  if (!numberFormats.has(key)) {
    numberFormats.set(key, new Intl.NumberFormat(getLang() === 'vi' ? 'vi-VN' : 'en-GB', {
      maximumFractionDigits: digits,
      minimumFractionDigits: digits,
    }));
  }
  return numberFormats.get(key);
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

/**
 * A size in bytes for people: "850 B", "12,4 MB" (Vietnamese decimal comma), "1.2 GB" in
 * English. Decimal units (1 MB = 1 000 000 bytes), as disks are sold and as the statistics
 * page counts; one decimal from kB up.
 */
export function formatBytes(bytes) {
  const n = Number(bytes);
  if (bytes == null || !Number.isFinite(n) || n < 0) return '—';
  let i = 0;
  let v = n;
  while (v >= 1000 && i < UNITS.length - 1) {
    v /= 1000;
    i++;
  }
  return `${nf(i === 0 ? 0 : 1).format(v)} ${UNITS[i]}`;
}

/**
 * A length or a position in ms as a clock: "0:07", "4:05", "1:02:03" (hours only when
 * there are any). Negative values count as 0; null is "—".
 */
export function formatClock(ms) {
  const n = Number(ms);
  if (ms == null || !Number.isFinite(n)) return '—';
  const total = Math.floor(Math.max(0, n) / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** "3f2a9c1e…77b0d4e2": the start and end of a hex digest (the whole one goes in a title). */
export function shortHash(hex, keep = 8) {
  const s = String(hex ?? '');
  if (!s) return '—';
  return s.length <= keep * 2 + 1 ? s : `${s.slice(0, keep)}…${s.slice(-keep)}`;
}

/**
 * How long a file lasts on the session timeline: `end_ms - offset_ms` when both are known
 * (the files keep the session's timestamps, so a container's own "duration" may count from
 * the session's start), else `duration_ms`, else null.
 */
export function fileLengthMs(file) {
  const a = Number(file?.offset_ms);
  const b = Number(file?.end_ms);
  if (file?.offset_ms != null && file?.end_ms != null && Number.isFinite(a) && Number.isFinite(b) && b >= a) return b - a;
  const d = Number(file?.duration_ms);
  return file?.duration_ms != null && Number.isFinite(d) ? d : null;
}

/** A recording's length (ms): from its start to its end, null while it is being recorded. */
export function sessionLengthMs(rec) {
  if (rec?.started_at == null || rec?.ended_at == null) return null;
  return Math.max(0, Number(rec.ended_at) - Number(rec.started_at));
}

/** The catalogue's states, in the order the page knows them. */
export const STATES = ['recording', 'finalising', 'ready', 'interrupted', 'damaged', 'deleted'];
