// The archive page's pure arithmetic, without a browser: sizes, clocks and checksums as the
// page shows them (web-client/js/archive/format.js), the speaker timeline — rows, turns,
// mutes, ticks, which file plays a turn and where in it (web-client/js/archive/timeline.js) —,
// and retention (web-client/js/archive/retention.js, web-client/js/meeting-classes.js): the
// keep-until day, the words for it, when a recording may be destroyed, the destroy dialog's
// checks, the meeting classes named in both languages.
//
//   node --test tests/browser/archive-rules.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { setLang } from '../../web-client/js/i18n.js';
import { formatBytes, formatClock, shortHash, fileLengthMs, sessionLengthMs } from '../../web-client/js/archive/format.js';
import {
  timelineSpan, timelineRows, timelineTicks, mutedIntervals, fileForTurn, mediaSeconds, sessionMsAt,
} from '../../web-client/js/archive/timeline.js';
import '../../web-client/js/strings/archive.js';
import {
  REASON_MAX, formatVnDate, retentionOf, retentionLabel, isDeleted, canManageRetention, deletionAllowed, deletionHint,
  confirmState, reasonState, validateDeletion, deletedText,
} from '../../web-client/js/archive/retention.js';
import {
  normaliseClasses, findClass, className, periodText, classOptionText, describeClass,
} from '../../web-client/js/meeting-classes.js';

test('sizes in decimal units, with the Vietnamese decimal comma', () => {
  setLang('vi', { remember: false });
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(999), '999 B');
  assert.equal(formatBytes(1000), '1,0 kB');
  assert.equal(formatBytes(1_234_567), '1,2 MB');
  assert.equal(formatBytes(25_400_000_000), '25,4 GB');
  assert.equal(formatBytes(null), '—');
  setLang('en', { remember: false });
  assert.equal(formatBytes(1_234_567), '1.2 MB');
  setLang('vi', { remember: false });
});

test('clocks: minutes and seconds, hours only when there are any', () => {
  assert.equal(formatClock(0), '0:00');
  assert.equal(formatClock(7_999), '0:07');
  assert.equal(formatClock(245_000), '4:05');
  assert.equal(formatClock(3_723_000), '1:02:03');
  assert.equal(formatClock(-50), '0:00');
  assert.equal(formatClock(null), '—');
});

test('checksums shortened, lengths from the timeline', () => {
  const h = '3f2a9c1e5d6b7a8f00112233445566778899aabbccddeeff0011223377b0d4e2';
  assert.equal(shortHash(h), '3f2a9c1e…77b0d4e2');
  assert.equal(shortHash('abc'), 'abc');
  assert.equal(shortHash(null), '—');
  // A file keeps the session's timestamps: its length is end − offset, whatever the
  // container says its duration is.
  assert.equal(fileLengthMs({ offset_ms: 2979, end_ms: 9007, duration_ms: 9007 }), 6028);
  assert.equal(fileLengthMs({ duration_ms: 4000 }), 4000);
  assert.equal(fileLengthMs({}), null);
  assert.equal(sessionLengthMs({ started_at: 1000, ended_at: 61_000 }), 60_000);
  assert.equal(sessionLengthMs({ started_at: 1000, ended_at: null }), null);
});

const T0 = 1_764_554_400_000;
const REC = {
  started_at: T0,
  ended_at: T0 + 60_000,
  participants: [
    { participant_id: 'e2', name: 'Hoàng Văn Dũng', unit_id: 'commune:5434', unit_name: 'Phường Quang Vinh', joined_at: T0 + 5_000, left_at: T0 + 20_000 },
    { participant_id: 'e1', name: 'Nguyễn Văn Chủ', unit_id: 'province:19', unit_name: 'Tỉnh Thái Nguyên', joined_at: T0, left_at: T0 + 60_000 },
    { participant_id: 'e5', name: 'Hoàng Văn Dũng', unit_id: 'commune:5434', unit_name: 'Phường Quang Vinh', joined_at: T0 + 30_000, left_at: T0 + 59_000 },
  ],
  files: [
    { name: 'e1-province-19.webm', participant_id: 'e1', content: 'participant', offset_ms: 300, end_ms: 59_900 },
    { name: 'e2-commune-5434.webm', participant_id: 'e2', content: 'participant', offset_ms: 5_200, end_ms: 19_800 },
    { name: 'e2-commune-5434-screen.webm', participant_id: 'e2', content: 'screen', offset_ms: 8_000, end_ms: 15_000 },
    { name: 'e5-commune-5434.webm', participant_id: 'e5', content: 'participant', offset_ms: 30_100, end_ms: 58_900 },
  ],
  speakers: [
    { participant_id: 'e1', from_ms: 1_000, to_ms: 4_000 },
    { participant_id: 'e2', from_ms: 6_000, to_ms: 12_000 },
    { participant_id: 'e1', from_ms: 40_000, to_ms: 40_100 },
  ],
  mutes: [
    { participant_id: 'e2', kind: 'audio', muted: true, at_ms: 13_000 },
    { participant_id: 'e2', kind: 'video', muted: true, at_ms: 14_000 },
    { participant_id: 'e2', kind: 'audio', muted: false, at_ms: 15_000 },
    { participant_id: 'e5', kind: 'audio', muted: true, at_ms: 50_000 },
  ],
};

test('the timeline: a row per stay in order of joining, turns and files in percent', () => {
  assert.equal(timelineSpan(REC), 60_000);
  const { span, rows } = timelineRows(REC);
  assert.equal(span, 60_000);
  assert.deepEqual(rows.map((r) => r.participant_id), ['e1', 'e2', 'e5']);
  // The same person at the same unit twice: the stays are numbered; alone, not.
  assert.deepEqual(rows.map((r) => r.stay), [0, 1, 2]);
  const chair = rows[0];
  assert.equal(chair.turns.length, 2);
  assert.equal(chair.turns[0].left, (1_000 / 60_000) * 100);
  assert.equal(chair.turns[0].width, (3_000 / 60_000) * 100);
  // A 100 ms turn is still wide enough to click.
  assert.ok(chair.turns[1].width >= 0.6);
  assert.equal(chair.presence.left, 0);
  assert.equal(chair.presence.width, 100);
  const official = rows[1];
  assert.equal(official.files.length, 2);
  assert.equal(official.presence.left, (5_000 / 60_000) * 100);
  // Only the microphone's mutes, closed by the unmute.
  assert.deepEqual(official.muted.map((m) => [m.from_ms, m.to_ms]), [[13_000, 15_000]]);
  // Still muted at the end of the stay: the interval runs to the leave.
  assert.deepEqual(rows[2].muted.map((m) => [m.from_ms, m.to_ms]), [[50_000, 59_000]]);
  for (const r of rows) {
    for (const b of [r.presence, ...r.turns, ...r.files, ...r.muted]) {
      assert.ok(b.left >= 0 && b.width >= 0 && b.left + b.width <= 100 + 1e-9, JSON.stringify(b));
    }
  }
});

test('a timeline without an end, or with someone only the files name', () => {
  const rec = { started_at: T0, ended_at: null, participants: [], files: [{ name: 'x.webm', participant_id: 'e9', content: 'participant', offset_ms: 0, end_ms: 4_500 }], speakers: [], mutes: [] };
  assert.equal(timelineSpan(rec), 4_500);
  const { rows } = timelineRows(rec);
  assert.deepEqual(rows.map((r) => [r.participant_id, r.name]), [['e9', 'e9']]);
  assert.equal(timelineSpan({}), 1000, 'never zero');
  assert.deepEqual(mutedIntervals([], 'e1', 'audio', 10), []);
});

test('ticks at a round step, at most six intervals', () => {
  assert.deepEqual(timelineTicks(60_000).map((t) => t.ms), [0, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000]);
  assert.deepEqual(timelineTicks(61_000).map((t) => t.ms), [0, 15_000, 30_000, 45_000, 60_000]);
  const hour = timelineTicks(3_723_000);
  assert.equal(hour[1].ms, 900_000);
  assert.ok(hour.every((t) => t.left >= 0 && t.left <= 100));
  assert.deepEqual(timelineTicks(9_000).map((t) => t.ms), [0, 2_000, 4_000, 6_000, 8_000]);
});

test('a turn plays its speaker’s own file, from the turn’s start', () => {
  const turn = { participant_id: 'e2', from_ms: 9_000 };
  const file = fileForTurn(REC.files, turn);
  assert.equal(file.name, 'e2-commune-5434.webm', 'the camera-and-microphone file, not the screen');
  // Firefox shows a file from 0 at its first frame; Chromium at the first frame's own time.
  assert.equal(mediaSeconds(file, 9_000, 0), 3.8);
  assert.equal(mediaSeconds(file, 9_000, 5.2), 9);
  assert.equal(mediaSeconds(file, 1_000, 0), 0, 'never before the file starts');
  assert.equal(sessionMsAt(file, 3.8, 0), 9_000);
  assert.equal(sessionMsAt(file, 9, 5.2), 9_000);
  // A turn just before its file starts (the first packets in flight) plays the file's start.
  assert.equal(fileForTurn(REC.files, { participant_id: 'e5', from_ms: 30_000 }).name, 'e5-commune-5434.webm');
  assert.equal(fileForTurn(REC.files, { participant_id: 'e7', from_ms: 0 }), null);
});

// ------------------------------------------------------------------ retention

/** The instant Viet Nam day `iso` (YYYY-MM-DD) begins: UTC+7 all year. */
const vnDayStart = (iso) => Date.parse(`${iso}T00:00:00+07:00`);
const DAY = 86_400_000;

test('keep-until as a Viet Nam day, dd/mm/yyyy in both languages', () => {
  setLang('vi', { remember: false });
  assert.equal(formatVnDate(vnDayStart('2037-01-01')), '01/01/2037');
  // A minute before that midnight in Viet Nam is still the last day of 2036 there, while
  // UTC has long been on 31 December: the page counts Viet Nam's day, not the computer's.
  assert.equal(formatVnDate(vnDayStart('2037-01-01') - 60_000), '31/12/2036');
  assert.equal(formatVnDate(Date.parse('2036-11-30T17:30:00Z')), '01/12/2036', '00:30 on 1 December in Viet Nam');
  assert.equal(formatVnDate(null), '—');
  assert.equal(formatVnDate(undefined), '—');
  assert.equal(formatVnDate('x'), '—');
  setLang('en', { remember: false });
  assert.equal(formatVnDate(vnDayStart('2036-11-30')), '30/11/2036');
  setLang('vi', { remember: false });
});

const START = vnDayStart('2026-11-30') + 9 * 3600_000;
const KEPT = { session_id: 12, state: 'ready', started_at: START, class: 'general', keep_until: vnDayStart('2037-01-01'), expired: false, deleted: null };
const EXPIRED = { ...KEPT, keep_until: Date.now() - DAY, expired: true };
const PERMANENT = { ...KEPT, class: 'review', keep_until: null };
const UNCLASSIFIED = { ...KEPT, class: null, keep_until: null };
const DELETED = {
  ...EXPIRED, state: 'deleted', expired: false,
  deleted: { at: vnDayStart('2037-03-05') + (14 * 60 + 20) * 60_000, by: 'luu-tru', reason: 'Hết thời hạn lưu trữ theo danh mục.' },
};

test('a recording’s retention in words: kept until, permanent, not classified, destroyed', () => {
  setLang('vi', { remember: false });
  assert.deepEqual(retentionOf(KEPT), { kind: 'until', until: vnDayStart('2037-01-01'), expired: false });
  assert.equal(retentionOf(EXPIRED).expired, true);
  assert.equal(retentionOf(PERMANENT).kind, 'permanent');
  assert.equal(retentionOf(UNCLASSIFIED).kind, 'unclassified');
  assert.equal(retentionOf(DELETED).kind, 'deleted');
  assert.equal(retentionLabel(KEPT), 'Lưu đến 01/01/2037');
  assert.equal(retentionLabel(PERMANENT), 'Vĩnh viễn');
  assert.equal(retentionLabel(UNCLASSIFIED), 'Chưa phân loại');
  assert.equal(retentionLabel(DELETED), 'Đã huỷ ngày 05/03/2037');
  assert.equal(retentionLabel({ ...DELETED, deleted: null }), 'Đã huỷ', 'state deleted without the details');
  assert.ok(isDeleted(DELETED) && isDeleted({ state: 'deleted' }) && !isDeleted(KEPT) && !isDeleted(null));
  assert.equal(deletedText(DELETED), 'Bản ghi đã được huỷ ngày 05/03/2037 lúc 14:20 bởi luu-tru — lý do: Hết thời hạn lưu trữ theo danh mục.');
  setLang('en', { remember: false });
  assert.equal(retentionLabel(KEPT), 'Kept until 01/01/2037');
  assert.equal(retentionLabel(PERMANENT), 'Permanent');
  assert.equal(retentionLabel(UNCLASSIFIED), 'Not classified');
  assert.equal(deletedText(DELETED), 'The recording was destroyed on 05/03/2037 at 14:20 by luu-tru — reason: Hết thời hạn lưu trữ theo danh mục.');
  setLang('vi', { remember: false });
});

test('only an expired recording may be destroyed, only by an archivist, and the page says why not', () => {
  setLang('vi', { remember: false });
  assert.deepEqual(deletionAllowed(EXPIRED), { allowed: true });
  assert.deepEqual(deletionAllowed(KEPT), { allowed: false, reason: 'not_expired', until: vnDayStart('2037-01-01') });
  assert.equal(deletionHint(deletionAllowed(KEPT)), 'Chưa hết hạn lưu trữ: phải lưu đến ngày 01/01/2037, từ ngày đó mới được huỷ.');
  assert.equal(deletionAllowed(PERMANENT).reason, 'permanent');
  assert.equal(deletionAllowed(UNCLASSIFIED).reason, 'unclassified');
  assert.equal(deletionAllowed(DELETED).reason, 'deleted');
  assert.equal(deletionAllowed(null).reason, 'none');
  // The hub's `expired` decides, not this computer's clock: a keep-until in the past that the
  // hub does not call expired is not destroyable here either.
  assert.equal(deletionAllowed({ ...KEPT, keep_until: Date.now() - DAY, expired: false }).reason, 'not_expired');
  // Still being written (the hub refuses it too).
  assert.equal(deletionAllowed({ ...EXPIRED, state: 'recording' }).reason, 'moving');
  assert.equal(deletionAllowed({ ...EXPIRED, state: 'finalising' }).reason, 'moving');
  assert.equal(deletionAllowed({ ...EXPIRED, state: 'interrupted' }).allowed, true);
  // An admin without the archivist role.
  assert.deepEqual(deletionAllowed(EXPIRED, { archivist: false }), { allowed: false, reason: 'role' });
  assert.equal(deletionHint(deletionAllowed(EXPIRED, { archivist: false })), 'Chỉ cán bộ lưu trữ được huỷ bản ghi.');
  assert.equal(deletionHint({ allowed: true }), '');
  for (const r of ['permanent', 'unclassified', 'moving', 'deleted', 'role', 'none']) {
    assert.doesNotMatch(deletionHint({ allowed: false, reason: r }), /^arch\./, `a sentence for ${r}`);
  }
  assert.equal(canManageRetention({ roles: ['archivist'] }), true);
  assert.equal(canManageRetention({ roles: ['admin'] }), false, 'the hub answers 403 to an admin without the role');
  assert.equal(canManageRetention(null), false);
  setLang('en', { remember: false });
  assert.equal(deletionHint(deletionAllowed(KEPT)), 'Still within its retention period: it must be kept until 01/01/2037, and may be destroyed from that day.');
  setLang('vi', { remember: false });
});

test('the destroy dialog: the session number typed back exactly, and a reason', () => {
  assert.equal(confirmState('', 12), 'empty');
  assert.equal(confirmState('   ', 12), 'empty');
  assert.equal(confirmState('1', 12), 'partial', 'still typing');
  assert.equal(confirmState('12', 12), 'ok');
  assert.equal(confirmState(' 12 ', 12), 'ok');
  assert.equal(confirmState('13', 12), 'mismatch');
  assert.equal(confirmState('121', 12), 'mismatch');
  assert.equal(confirmState('012', 12), 'mismatch', 'not forgiven');
  assert.equal(confirmState('12', null), 'mismatch');
  assert.equal(reasonState(''), 'empty');
  assert.equal(reasonState(' \n '), 'empty');
  assert.equal(reasonState('Hết hạn'), 'ok');
  assert.equal(reasonState('ệ'.repeat(REASON_MAX)), 'ok', 'characters, not bytes');
  assert.equal(reasonState(`  ${'a'.repeat(REASON_MAX)}  `), 'ok', 'counted once trimmed');
  assert.equal(reasonState('a'.repeat(REASON_MAX + 1)), 'too_long');

  assert.deepEqual(validateDeletion({ confirm: ' 12', reason: '  Hết thời hạn lưu trữ. ' }, 12), {
    ok: true, confirm: 'ok', reason: 'ok', body: { confirm: 12, reason: 'Hết thời hạn lưu trữ.' },
  });
  assert.deepEqual(validateDeletion({ confirm: '13', reason: 'Hết hạn' }, 12), { ok: false, confirm: 'mismatch', reason: 'ok', body: null });
  assert.deepEqual(validateDeletion({ confirm: '12', reason: '' }, 12), { ok: false, confirm: 'ok', reason: 'empty', body: null });
  assert.equal(validateDeletion({}, 12).ok, false);
  assert.equal(typeof validateDeletion({ confirm: '7', reason: 'x' }, '7').body.confirm, 'number', 'the hub takes a number');
});

const CLASSES_ANSWER = {
  classes: [
    { id: 'review', name: 'Hội nghị tổng kết, sơ kết', name_en: 'Annual and interim reviews', years: null },
    { id: 'thematic', name: 'Hội nghị, cuộc họp chuyên đề', name_en: 'Thematic meetings and conferences', years: 20 },
    { id: 'general', name: 'Họp thường kỳ, giao ban', name_en: 'Regular and briefing meetings', years: 10 },
    { id: 'training', name: 'Tập huấn, hướng dẫn nghiệp vụ', name_en: 'Training and guidance', years: 5 },
  ],
  default: 'general',
};

test('meeting classes: named in the page’s language with their period', () => {
  const list = normaliseClasses(CLASSES_ANSWER);
  assert.deepEqual(list.classes.map((c) => [c.id, c.years]), [['review', null], ['thematic', 20], ['general', 10], ['training', 5]]);
  assert.equal(list.default, 'general');
  setLang('vi', { remember: false });
  assert.equal(classOptionText(findClass(list, 'general')), 'Họp thường kỳ, giao ban — lưu 10 năm');
  assert.equal(classOptionText(findClass(list, 'review')), 'Hội nghị tổng kết, sơ kết — lưu vĩnh viễn');
  assert.equal(periodText(1), 'lưu 1 năm');
  assert.equal(describeClass(list, 'thematic'), 'Hội nghị, cuộc họp chuyên đề — lưu 20 năm');
  assert.equal(describeClass(list, 'old-class'), 'Loại “old-class”', 'a class the page does not know is named, not hidden');
  assert.equal(describeClass(null, 'general'), 'Loại “general”', 'the list failed to load');
  assert.equal(describeClass(list, null), '—');
  setLang('en', { remember: false });
  assert.equal(className(findClass(list, 'training')), 'Training and guidance');
  assert.equal(classOptionText(findClass(list, 'general')), 'Regular and briefing meetings — kept 10 years');
  assert.equal(classOptionText(findClass(list, 'review')), 'Annual and interim reviews — kept permanently');
  assert.equal(periodText(1), 'kept 1 year');
  assert.equal(className({ id: 'x', name: 'Tên', name_en: '' }), 'Tên', 'English falls back to the Vietnamese name');
  setLang('vi', { remember: false });
  // What the page cannot use is dropped; a default it does not list falls back to the first.
  const odd = normaliseClasses({ classes: [{ id: 'a', name: 'A', years: 0 }, { name: 'no id' }, null, { id: 'b', years: '7' }], default: 'zzz' });
  assert.deepEqual(odd.classes.map((c) => [c.id, c.name, c.years]), [['a', 'A', null], ['b', 'b', 7]]);
  assert.equal(odd.default, 'a');
  assert.deepEqual(normaliseClasses(null), { classes: [], default: null });
});
