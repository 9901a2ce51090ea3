// Time in the province: Asia/Ho_Chi_Minh, UTC+7 all year (no daylight saving). The API
// speaks milliseconds since the epoch; the page shows and takes province time whatever the
// time zone of the computer it runs on.
//
// A "day" here is a day number: whole days since 1970-01-01 in province time.

import { getLang } from '../i18n.js';

export const TIME_ZONE = 'Asia/Ho_Chi_Minh';
export const OFFSET_MS = 7 * 3600_000;
export const DAY_MS = 86_400_000;
export const MINUTE_MS = 60_000;

/** The province day number of instant `ms`. */
export const dayOf = (ms) => Math.floor((ms + OFFSET_MS) / DAY_MS);
/** The instant province day `day` begins. */
export const dayStart = (day) => day * DAY_MS - OFFSET_MS;
/** Minutes since the province midnight of instant `ms` (0–1439). */
export const minuteOfDay = (ms) => Math.floor((((ms + OFFSET_MS) % DAY_MS) + DAY_MS) % DAY_MS / MINUTE_MS);
/** The Monday on or before `day` (1970-01-01 was a Thursday). */
export const mondayOf = (day) => day - ((day + 3) % 7 + 7) % 7;
/** 0 = Monday … 6 = Sunday. */
export const weekdayOf = (day) => ((day + 3) % 7 + 7) % 7;
export const today = () => dayOf(Date.now());

/** 'YYYY-MM-DD' of a day number (the value of an <input type=date>). */
export function isoDate(day) {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** The day number of 'YYYY-MM-DD', or null. */
export function parseIsoDate(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(s ?? '').trim());
  if (!m) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const day = ms / DAY_MS;
  return isoDate(day) === m[0] ? day : null; // rejects 2025-02-30
}

/** Minutes since midnight of 'HH:MM' (or 'HH:MM:SS'), or null. */
export function parseTime(s) {
  const m = /^(\d{1,2}):(\d{2})(?::\d{2}(?:\.\d+)?)?$/.exec(String(s ?? '').trim());
  if (!m) return null;
  const h = Number(m[1]);
  const min = Number(m[2]);
  return h < 24 && min < 60 ? h * 60 + min : null;
}

/** 'HH:MM' of minutes since midnight. */
export function hhmm(minutes) {
  const m = ((minutes % 1440) + 1440) % 1440;
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

/** The instant of province date `day` at `minutes` past midnight. */
export const instant = (day, minutes) => dayStart(day) + minutes * MINUTE_MS;

// ------------------------------------------------------------------ formatting (Intl)

const cache = new Map();
function fmt(kind, opts) {
  const lang = getLang();
  const key = `${lang}|${kind}`;
  if (!cache.has(key)) {
    const locale = lang === 'vi' ? 'vi-VN' : 'en-GB';
    let f;
    try {
      f = new Intl.DateTimeFormat(locale, { timeZone: TIME_ZONE, ...opts });
    } catch {
      f = new Intl.DateTimeFormat(locale, { timeZone: 'Etc/GMT-7', ...opts }); // same offset
    }
    cache.set(key, f);
  }
  return cache.get(key);
}

const FORMATS = {
  time: { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' },
  date: { day: '2-digit', month: '2-digit', year: 'numeric' },
  dayLong: { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' },
  dayShort: { weekday: 'short', day: '2-digit', month: '2-digit' },
  weekday: { weekday: 'short' },
  dayMonth: { day: 'numeric', month: 'numeric' },
  dateTime: { day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' },
};

/**
 * Formats instant `ms` in province time: kind is one of FORMATS' keys, or `short`
 * ("25/11 13:40", the same in both languages: compact, for tables).
 */
export function format(ms, kind = 'dateTime') {
  if (ms == null || !Number.isFinite(Number(ms))) return '—';
  if (kind === 'short') {
    const iso = new Date(Number(ms) + OFFSET_MS).toISOString();
    return `${iso.slice(8, 10)}/${iso.slice(5, 7)} ${iso.slice(11, 16)}`;
  }
  return fmt(kind, FORMATS[kind]).format(new Date(Number(ms)));
}

/** Formats the province day `day` (noon of it, so no edge can slip a day). */
export const formatDay = (day, kind = 'dayLong') => format(dayStart(day) + 12 * 3600_000, kind);

/** "08:00–10:00", with the end's date when it ends on another day. */
export function formatRange(start, end) {
  const sameDay = dayOf(start) === dayOf(end - 1);
  return `${format(start, 'time')}–${sameDay ? format(end, 'time') : format(end, 'dateTime')}`;
}

/** Clears the formatter cache (after a language change). */
export function resetFormats() {
  cache.clear();
}
