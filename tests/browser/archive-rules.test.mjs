// The archive page's pure arithmetic, without a browser: sizes, clocks and checksums as the
// page shows them (web-client/js/archive/format.js) and the speaker timeline — rows, turns,
// mutes, ticks, which file plays a turn and where in it (web-client/js/archive/timeline.js).
//
//   node --test tests/browser/archive-rules.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { setLang } from '../../web-client/js/i18n.js';
import { formatBytes, formatClock, shortHash, fileLengthMs, sessionLengthMs } from '../../web-client/js/archive/format.js';
import {
  timelineSpan, timelineRows, timelineTicks, mutedIntervals, fileForTurn, mediaSeconds, sessionMsAt,
} from '../../web-client/js/archive/timeline.js';

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
