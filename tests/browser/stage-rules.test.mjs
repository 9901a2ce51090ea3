// The meeting stage's pure arithmetic, without a browser: where tiles go (layout.js, grid,
// speaker and presentation layouts), how good a connection is (netquality.js, from
// getStats figures), and what the page says about the session's recording
// (recording-notice.js: the header's indicator for everyone, the chairs' warning).
//
//   node --test tests/browser/stage-rules.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { bestGrid, gridLayout, speakerLayout, presentationLayout, SCREEN_ASPECT } from '../../web-client/js/layout.js';
import { inboundQuality, outboundQuality, reduceStats, worse } from '../../web-client/js/netquality.js';
import { setLang } from '../../web-client/js/i18n.js';
import { recordingNotice } from '../../web-client/js/recording-notice.js';

const inside = (b, W, H) => b.x >= -0.5 && b.y >= -0.5 && b.x + b.w <= W + 0.5 && b.y + b.h <= H + 0.5;
const overlap = (a, b) => a.x < b.x + b.w - 0.5 && b.x < a.x + a.w - 0.5 && a.y < b.y + b.h - 0.5 && b.y < a.y + a.h - 0.5;

function noOverlaps(boxes) {
  const list = [...boxes.entries()].filter(([, b]) => !b.pip);
  for (let i = 0; i < list.length; i++) {
    for (let j = i + 1; j < list.length; j++) assert.ok(!overlap(list[i][1], list[j][1]), `${list[i][0]} and ${list[j][0]} overlap`);
  }
}

test('bestGrid keeps tiles between 4:3 and 16:9 on a landscape stage', () => {
  for (const n of [1, 2, 3, 5, 7, 12]) {
    const g = bestGrid(n, 1280, 720, 10);
    const aspect = g.w / g.h;
    assert.ok(aspect >= 4 / 3 - 1e-9 && aspect <= 16 / 9 + 1e-9, `n=${n}: ${aspect}`);
    assert.ok(g.cols * g.rows >= n);
  }
  assert.ok(bestGrid(1, 390, 700, 6).w / bestGrid(1, 390, 700, 6).h < 1, 'a phone may get portrait tiles');
  assert.ok(bestGrid(1, 390, 700, 6, { landscape: true }).w / bestGrid(1, 390, 700, 6, { landscape: true }).h >= 4 / 3 - 1e-9);
});

test('the grid: everyone inside, no overlaps; one other participant fills with you in a corner', () => {
  const ids = ['a', 'b', 'c', 'd', 'e', 'self'];
  const g = gridLayout({ W: 1280, H: 720, ids, selfId: 'self' });
  assert.equal(g.boxes.size, 6);
  for (const b of g.boxes.values()) assert.ok(inside(b, 1280, 720));
  noOverlaps(g.boxes);
  assert.equal(g.largeHeight, g.smallHeight);
  const one = gridLayout({ W: 1280, H: 720, ids: ['a', 'self'], selfId: 'self' });
  assert.equal(one.boxes.get('self').pip, true);
  assert.ok(one.boxes.get('a').w > 1000);
});

test('the speaker layout: the floor holder spotlighted, the chair large, the rest in a strip', () => {
  const W = 1280;
  const H = 640;
  const thumbs = ['c', 'd', 'e', 'self'];
  const s = speakerLayout({ W, H, large: ['floor', 'chair'], thumbs, selfId: 'self', spotlight: true });
  const f = s.boxes.get('floor');
  const ch = s.boxes.get('chair');
  assert.equal(f.size, 'large');
  assert.equal(ch.size, 'large');
  assert.ok(f.w * f.h > 1.5 * ch.w * ch.h, 'the spotlight is clearly larger');
  for (const id of thumbs) {
    const b = s.boxes.get(id);
    assert.equal(b.size, 'small', id);
    assert.ok(b.y > f.y + f.h, `${id} is below the large tiles`);
  }
  for (const b of s.boxes.values()) assert.ok(inside(b, W, H));
  noOverlaps(s.boxes);
  assert.equal(s.largeHeight, f.h);
  assert.equal(s.smallHeight, s.boxes.get('c').h);
  assert.equal(s.overflow, null);
});

test('the speaker layout: a full strip shows "+N" and keeps you; with nobody large the first is promoted', () => {
  const thumbs = [...Array(20).keys()].map((i) => `p${i}`).concat('self');
  const s = speakerLayout({ W: 390, H: 600, large: ['chair'], thumbs, selfId: 'self' });
  assert.ok(s.boxes.has('self'), 'you stay');
  assert.ok(s.overflow && s.overflow.count === s.hidden.length && s.hidden.length > 10);
  for (const b of s.boxes.values()) assert.ok(inside(b, 390, 600));
  assert.ok(inside(s.overflow, 390, 600));
  noOverlaps(s.boxes);

  const promoted = speakerLayout({ W: 1000, H: 600, large: [], thumbs: ['a', 'b', 'self'], selfId: 'self' });
  assert.equal(promoted.boxes.get('a').size, 'large');
  assert.equal(promoted.boxes.get('b').size, 'small');

  const alone = speakerLayout({ W: 1000, H: 600, large: ['a'], thumbs: ['self'], selfId: 'self' });
  assert.equal(alone.boxes.get('self').pip, true, 'alone in the strip beside one large tile: a corner');
  const two = speakerLayout({ W: 1000, H: 600, large: ['a', 'b'], thumbs: ['self'], selfId: 'self', spotlight: true });
  assert.ok(!two.boxes.get('self').pip, 'beside two large tiles: the strip');
  noOverlaps(two.boxes);
});

test('the presentation layout: the screen large and uncropped, the speaker beside it, the rest in a strip', () => {
  const W = 1280;
  const H = 640;
  const p = presentationLayout({ W, H, screens: ['screen:a'], speaker: 'a', thumbs: ['a', 'b', 'c', 'self'], selfId: 'self' });
  const scr = p.boxes.get('screen:a');
  const spk = p.boxes.get('a');
  assert.equal(scr.size, 'large');
  assert.equal(spk.size, 'side');
  assert.ok(Math.abs(scr.w / scr.h - SCREEN_ASPECT) < 1e-6, 'the box has the screen’s shape: contain, never cropped');
  for (const [id, b] of p.boxes) {
    assert.ok(inside(b, W, H), id);
    if (id !== 'screen:a') assert.ok(b.w * b.h < scr.w * scr.h / 3, `${id} is much smaller than the screen`);
  }
  noOverlaps(p.boxes);
  assert.ok(spk.x >= scr.x + scr.w, 'the speaker beside the screen');
  assert.ok(Math.abs(spk.x - (scr.x + scr.w) - 10) < 1, 'just the gap between them');
  assert.ok(Math.abs(scr.x - (W - spk.x - spk.w)) < 1, 'the two centred together');
  for (const id of ['b', 'c', 'self']) {
    assert.equal(p.boxes.get(id).size, 'small');
    assert.ok(p.boxes.get(id).y >= scr.y + scr.h, `${id} in the strip below`);
  }
  assert.ok(scr.w > W * 0.6, `the screen takes most of the width (${scr.w})`);
  assert.equal(p.largeHeight, scr.h, '`receive` large_height is the screen’s');
  assert.equal(p.smallHeight, p.boxes.get('b').h);

  // A 4:3 window keeps its shape; no speaker: the screen takes the whole width it can.
  const q = presentationLayout({ W, H, screens: ['s'], thumbs: ['self'], selfId: 'self', aspects: { s: 4 / 3 } });
  assert.ok(Math.abs(q.boxes.get('s').w / q.boxes.get('s').h - 4 / 3) < 1e-6);
  assert.ok(!q.boxes.get('self').pip, 'no corner over a screen: the strip');
  noOverlaps(q.boxes);
});

test('the presentation layout: two screens side by side on a wide stage, stacked on a tall one', () => {
  const wide = presentationLayout({ W: 1600, H: 700, screens: ['s1', 's2'], speaker: 'a', thumbs: ['b', 'self'], selfId: 'self' });
  const [a, b] = [wide.boxes.get('s1'), wide.boxes.get('s2')];
  assert.ok(Math.abs(a.y - b.y) < 1 && b.x >= a.x + a.w, 'side by side');
  assert.equal(a.size, 'large');
  assert.equal(b.size, 'large');
  noOverlaps(wide.boxes);
  for (const box of wide.boxes.values()) assert.ok(inside(box, 1600, 700));
  const tall = presentationLayout({ W: 390, H: 800, screens: ['s1', 's2'], speaker: 'a', thumbs: ['b', 'self'], selfId: 'self' });
  const [c, d] = [tall.boxes.get('s1'), tall.boxes.get('s2')];
  assert.ok(d.y >= c.y + c.h, 'stacked');
  assert.ok(tall.boxes.get('a').y >= d.y + d.h, 'the speaker below the screens on a portrait stage');
  noOverlaps(tall.boxes);
  for (const box of tall.boxes.values()) assert.ok(inside(box, 390, 800));
  assert.equal(presentationLayout({ W: 1600, H: 700, screens: ['s1', 's2', 's3'], thumbs: [] }).boxes.has('s3'), false, 'two at most');
});

test('the presenter: its own screen a small labelled preview, kept in a full strip', () => {
  const thumbs = [...Array(20).keys()].map((i) => `p${i}`).concat('myscreen', 'self');
  // Someone else's screen large, and ours kept among the thumbnails.
  const p = presentationLayout({ W: 1000, H: 600, screens: ['screen:x'], speaker: 'x', thumbs, selfId: 'self', keep: ['myscreen'] });
  assert.equal(p.boxes.get('myscreen').size, 'small');
  assert.ok(p.boxes.has('self'));
  assert.ok(p.overflow && p.overflow.count === p.hidden.length);
  assert.ok(!p.hidden.includes('myscreen'));
  noOverlaps(p.boxes);
  // Only ours: no screen large (we see what we share in the preview); the speaker is large.
  const own = presentationLayout({ W: 1000, H: 600, screens: [], speaker: 'x', thumbs: ['x', 'y', 'myscreen', 'self'], selfId: 'self', keep: ['myscreen'] });
  assert.equal(own.boxes.get('x').size, 'large');
  assert.equal(own.boxes.get('myscreen').size, 'small');
  assert.equal(own.boxes.get('self').size, 'small');
  noOverlaps(own.boxes);
  // Nobody else in the meeting: nothing else to show, so the preview takes the large place.
  const alone = presentationLayout({ W: 1000, H: 600, screens: [], thumbs: ['myscreen', 'self'], selfId: 'self', keep: ['myscreen'] });
  assert.equal(alone.boxes.get('myscreen').size, 'large');
  assert.equal(alone.boxes.get('self').pip, true);
});

test('inbound quality: loss, jitter and frame rate over an interval', () => {
  const a = { audio: { packetsReceived: 100, packetsLost: 0, jitter: 0.005, bytesReceived: 10_000 },
    video: { packetsReceived: 1000, packetsLost: 0, jitter: 0.01, framesDecoded: 100, bytesReceived: 500_000 } };
  const good = inboundQuality(a, {
    audio: { packetsReceived: 200, packetsLost: 0, jitter: 0.006, bytesReceived: 20_000 },
    video: { packetsReceived: 1600, packetsLost: 3, jitter: 0.012, framesDecoded: 172, bytesReceived: 800_000 },
  }, 3000, { videoExpected: true });
  assert.equal(good.level, 'good');
  assert.ok(Math.abs(good.fps - 24) < 0.01);
  assert.ok(good.loss < 0.01);
  assert.ok(Math.abs(good.jitterMs - 12) < 0.01);
  const lossy = inboundQuality(a, {
    audio: { packetsReceived: 190, packetsLost: 2, jitter: 0.02, bytesReceived: 20_000 },
    video: { packetsReceived: 1500, packetsLost: 30, jitter: 0.05, framesDecoded: 160, bytesReceived: 700_000 },
  }, 3000, { videoExpected: true });
  assert.equal(lossy.level, 'fair', JSON.stringify(lossy));
  const bad = inboundQuality(a, {
    audio: { packetsReceived: 190, packetsLost: 10, jitter: 0.02, bytesReceived: 20_000 },
    video: { packetsReceived: 1500, packetsLost: 60, jitter: 0.05, framesDecoded: 160, bytesReceived: 700_000 },
  }, 3000, { videoExpected: true });
  assert.equal(bad.level, 'poor', 'over 8 % lost');
  const frozen = inboundQuality(a, { audio: { ...a.audio, packetsReceived: 150 }, video: { ...a.video, packetsReceived: 1010, framesDecoded: 103 } }, 3000, { videoExpected: true });
  assert.equal(frozen.level, 'poor', 'one frame a second is poor');
  const stopped = inboundQuality({ video: a.video }, { video: a.video }, 3000, { videoExpected: true });
  assert.equal(stopped.level, 'poor', 'nothing arrives though it should');
  assert.equal(inboundQuality({ video: a.video }, { video: a.video }, 3000).level, 'unknown', 'a camera off is not poor');
  assert.equal(inboundQuality(null, a, 3000).level, 'unknown', 'one sample says nothing');
});

test('your own link: round trip, loss reported by the hub, limitation', () => {
  assert.equal(outboundQuality(null, { rttMs: 40, loss: 0, jitterMs: 3 }, 0).level, 'good');
  assert.equal(outboundQuality(null, { rttMs: 320, loss: 0 }, 0).level, 'fair');
  assert.equal(outboundQuality(null, { rttMs: 40, loss: 0.12 }, 0).level, 'poor');
  assert.equal(outboundQuality(null, { rttMs: 40, loss: 0, limitation: 'bandwidth' }, 0).level, 'fair');
  const q = outboundQuality({ bytesSent: 0 }, { bytesSent: 375_000, rttMs: 10 }, 3000);
  assert.equal(q.kbps, 1000);
  assert.equal(worse('good', 'unknown'), 'good');
  assert.equal(worse('fair', 'poor'), 'poor');
});

test('reduceStats takes inbound streams by mid (or by track) and the selected pair’s round trip', () => {
  const report = new Map([
    ['i1', { type: 'inbound-rtp', kind: 'video', mid: '5', packetsReceived: 10, packetsLost: 1, jitter: 0.01, framesDecoded: 4, bytesReceived: 999 }],
    ['i2', { type: 'inbound-rtp', kind: 'audio', trackIdentifier: 'tr-a', packetsReceived: 7 }],
    ['o1', { type: 'outbound-rtp', kind: 'video', bytesSent: 100, qualityLimitationReason: 'bandwidth' }],
    ['o2', { type: 'outbound-rtp', kind: 'video', bytesSent: 50, qualityLimitationReason: 'none' }],
    ['r1', { type: 'remote-inbound-rtp', fractionLost: 0.02, roundTripTime: 0.05, jitter: 0.004 }],
    ['t', { type: 'transport', selectedCandidatePairId: 'cp2' }],
    ['cp1', { type: 'candidate-pair', id: 'cp1', currentRoundTripTime: 0.5 }],
    ['cp2', { type: 'candidate-pair', id: 'cp2', currentRoundTripTime: 0.03 }],
  ]);
  const r = reduceStats(report, new Map([['tr-a', '2']]));
  assert.deepEqual([...r.inbound.keys()].sort(), ['2', '5']);
  assert.equal(r.inbound.get('5').framesDecoded, 4);
  assert.equal(r.outbound.bytesSent, 150);
  assert.equal(r.outbound.limitation, 'bandwidth');
  assert.equal(r.outbound.loss, 0.02);
  assert.equal(r.outbound.rttMs, 30, 'the selected pair wins over remote-inbound-rtp');
});

// ------------------------------------------------------------------ the session's recording

const RECORDING = { state: 'recording', reason: null };
const DISK_LOW = { state: 'stopped', reason: 'disk_low' };
const FAILED = { state: 'stopped', reason: 'failed' };

test('the recording indicator: none when not recorded, red while recording, grey once stopped — for everyone', () => {
  setLang('vi', { remember: false });
  for (const role of ['chair', 'official']) {
    assert.deepEqual(recordingNotice(null, role), { indicator: null, warning: null }, `${role}: not recorded`);
    assert.deepEqual(recordingNotice(undefined, role), { indicator: null, warning: null }, `${role}: an older hub`);
    assert.deepEqual(recordingNotice({ state: 'paused' }, role), { indicator: null, warning: null }, `${role}: an unknown state`);
    const on = recordingNotice(RECORDING, role);
    assert.equal(on.indicator.state, 'recording');
    assert.equal(on.indicator.text, 'Đang ghi hình');
    assert.equal(on.warning, null, `${role}: nothing to warn of while recording`);
    for (const stopped of [DISK_LOW, FAILED]) {
      const n = recordingNotice(stopped, role);
      assert.equal(n.indicator.state, 'stopped');
      assert.equal(n.indicator.text, 'Đã dừng ghi hình');
    }
  }
  setLang('en', { remember: false });
  assert.equal(recordingNotice(RECORDING, 'official').indicator.text, 'Recording');
  assert.equal(recordingNotice(FAILED, 'official').indicator.text, 'Recording stopped');
  setLang('vi', { remember: false });
});

test('the recording stopped: chairs are warned with the reason, officials are not', () => {
  setLang('vi', { remember: false });
  assert.equal(recordingNotice(DISK_LOW, 'official').warning, null);
  assert.equal(recordingNotice(FAILED, 'official').warning, null);
  assert.equal(recordingNotice(DISK_LOW, null).warning, null, 'no role yet: not a chair');

  const disk = recordingNotice(DISK_LOW, 'chair').warning;
  assert.deepEqual(disk, {
    reason: 'disk_low', key: 'stopped:disk_low',
    text: 'Ghi hình đã dừng: ổ đĩa máy chủ sắp đầy. Phần đã ghi được giữ nguyên; hãy báo bộ phận kỹ thuật.',
  });
  const failed = recordingNotice(FAILED, 'chair').warning;
  assert.deepEqual(failed, {
    reason: 'failed', key: 'stopped:failed',
    text: 'Ghi hình đã dừng do lỗi của bộ ghi. Phần đã ghi được giữ nguyên; hãy báo bộ phận kỹ thuật.',
  });
  assert.notEqual(disk.key, failed.key, 'a stop for another reason is a new warning');
  // A reason newer than the page, or none: a warning all the same, without a cause it cannot name.
  const other = recordingNotice({ state: 'stopped', reason: 'quota' }, 'chair').warning;
  assert.equal(other.reason, 'quota');
  assert.equal(other.text, 'Ghi hình đã dừng. Phần đã ghi được giữ nguyên; hãy báo bộ phận kỹ thuật.');
  assert.equal(recordingNotice({ state: 'stopped' }, 'chair').warning.reason, null);

  setLang('en', { remember: false });
  assert.match(recordingNotice(DISK_LOW, 'chair').warning.text, /^Recording has stopped: the server's disk is almost full\. What was recorded is kept/);
  assert.match(recordingNotice(FAILED, 'chair').warning.text, /^Recording has stopped because the recorder failed\. What was recorded is kept/);
  setLang('vi', { remember: false });
});
