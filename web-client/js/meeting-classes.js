// The meeting classes (GET /api/meeting-classes), which set how long a meeting's recordings
// are kept: loaded once per page, and named in the page's language. Used by the schedule
// page (the meeting form's #m-class, the details) and the archive (a recording's class).
//
//   const classes = await loadMeetingClasses();   // {classes: [{id, name, name_en, years}], default}
//   classOptionText(classes.classes[0])           // "Hội nghị tổng kết, sơ kết — lưu vĩnh viễn"
//
// No DOM here: the naming is tested with node --test (tests/browser/archive-rules.test.mjs).

import { t, getLang } from './i18n.js';
import { get } from './api.js';
import './strings/retention.js';

let pending = null;

/**
 * The hub's answer, kept to what the pages can use: classes with a string id, `years` a
 * positive number or null (permanent); `default` an id among them, else the first one's.
 * @returns {{classes: Array<{id: string, name: string, name_en: string, years: number|null}>, default: string|null}}
 */
export function normaliseClasses(res) {
  const classes = (Array.isArray(res?.classes) ? res.classes : [])
    .filter((c) => c && typeof c.id === 'string' && c.id)
    .map((c) => ({
      id: c.id,
      name: typeof c.name === 'string' && c.name ? c.name : c.id,
      name_en: typeof c.name_en === 'string' && c.name_en ? c.name_en : '',
      years: Number.isFinite(Number(c.years)) && c.years != null && Number(c.years) > 0 ? Number(c.years) : null,
    }));
  const def = classes.some((c) => c.id === res?.default) ? res.default : classes[0]?.id ?? null;
  return { classes, default: def };
}

/**
 * GET /api/meeting-classes, once per page (a failure is forgotten, so the next call asks
 * again). Throws ApiError.
 */
export function loadMeetingClasses() {
  if (!pending) {
    pending = get('/api/meeting-classes').then(normaliseClasses);
    pending.catch(() => { pending = null; });
  }
  return pending;
}

/** The class of `id` in a normalised list, or null. */
export function findClass(list, id) {
  return (list?.classes ?? []).find((c) => c.id === id) ?? null;
}

/** A class's name in the page's language (English falls back to the Vietnamese name). */
export function className(cls, lang = getLang()) {
  if (!cls) return '';
  return lang === 'en' && cls.name_en ? cls.name_en : cls.name || cls.id;
}

/** "lưu 10 năm", "lưu vĩnh viễn" (null years: permanent). */
export function periodText(years) {
  return years == null ? t('ret.period.permanent') : t('ret.period.years', { count: years });
}

/** "Họp thường kỳ, giao ban — lưu 10 năm": a select's option, the details' line. */
export function classOptionText(cls) {
  return t('ret.option', { name: className(cls), period: periodText(cls?.years ?? null) });
}

/**
 * How to name class `id` with the list (null when it failed to load): the option text of a
 * known class, else "Loại “id”" — a class this page does not know is still shown, never hidden.
 */
export function describeClass(list, id) {
  if (id == null || id === '') return '—';
  const cls = findClass(list, id);
  return cls ? classOptionText(cls) : t('ret.unknownClass', { id });
}
