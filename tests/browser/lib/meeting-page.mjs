// Helpers for tests that drive the meeting page (web-client/meeting.html): its view, who a
// receive slot carries, and the decoding of one participant's media (through the slot that
// carries it, as protocol.md says a client maps tracks).
//
//   await inMeeting(page, 'An');
//   const id = await selfId(page);
//   await framesOf(other, id)          // framesDecoded on the video slot carrying `id`, or null

import { waitFor } from './browsers.mjs';

export const view = (page) => page.evaluate(() => document.body.dataset.view);
export const recent = (page, n = 8) => page.consoleLines.slice(-n).join(' | ');

/** Waits until the page shows the meeting. */
export async function inMeeting(page, who, timeout = 25_000) {
  await waitFor(async () => (await view(page)) === 'meeting', { timeout, message: `${who} in the meeting (${recent(page)})` });
}

/** This page's participant id (from `welcome`). */
export const selfId = (page) => page.evaluate(() => window.cau.client.participantId);

/**
 * The receive slot of `kind` carrying participant `id`'s `source` on this page (default: its
 * microphone or camera; 'screen' for its shared screen): {mid, reason, layer, source} or null.
 */
export const slotOf = (page, id, kind = 'video', source = undefined) =>
  page.evaluate((pid, k, src) => {
    const s = window.cau.client.slotOf(pid, k, src ?? undefined);
    return s ? { mid: s.mid, reason: s.reason, layer: s.layer, source: s.source } : null;
  }, id, kind, source ?? null);

/**
 * inbound-rtp of the receiver of the slot that carries participant `id`'s `kind` (from
 * `source`: default its microphone or camera, 'screen' for its shared screen) now:
 * {mid, framesDecoded, packetsReceived, frameWidth, frameHeight} or null when no slot
 * carries it. RTCRtpReceiver.getStats() gives that receiver's stream only (Chromium and
 * Firefox alike).
 */
export const slotStats = (page, id, kind = 'video', source = undefined) =>
  page.evaluate(async (pid, k, src) => {
    const c = window.cau.client;
    const s = c.slotOf(pid, k, src ?? undefined);
    const tr = s && c.transceiverOf(s.mid);
    if (!tr) return null;
    let out = { mid: s.mid, framesDecoded: 0, packetsReceived: 0, frameWidth: null, frameHeight: null };
    (await tr.receiver.getStats()).forEach((r) => {
      if (r.type === 'inbound-rtp') {
        out = {
          mid: s.mid, framesDecoded: r.framesDecoded ?? 0, packetsReceived: r.packetsReceived ?? 0,
          frameWidth: r.frameWidth ?? null, frameHeight: r.frameHeight ?? null,
        };
      }
    });
    return out;
  }, id, kind, source ?? null);

/** getStats of the slot carrying participant `id`'s shared screen (see slotStats), or null. */
export const screenStats = (page, id) => slotStats(page, id, 'video', 'screen');

/**
 * The audio codec in use, from getStats: on the slot that carries participant `id`
 * (`{mid, mimeType, packetsReceived, totalSamplesReceived, concealedSamples}`, or null when
 * no slot carries it), or with `id` null, the page's own microphone (`{mimeType,
 * packetsSent}`). `mimeType` is the codec of the payload type in use: audio/red when
 * redundant audio is negotiated and sent, audio/opus otherwise.
 */
export const audioCodec = (page, id) =>
  page.evaluate(async (pid) => {
    const c = window.cau.client;
    let stats;
    let mid = null;
    if (pid) {
      const s = c.slotOf(pid, 'audio');
      const tr = s && c.transceiverOf(s.mid);
      if (!tr) return null;
      mid = s.mid;
      stats = await tr.receiver.getStats();
    } else {
      const sender = c.pc.getSenders().find((x) => x.track?.kind === 'audio');
      if (!sender) return null;
      stats = await sender.getStats();
    }
    const byId = new Map();
    stats.forEach((r) => byId.set(r.id, r));
    let out = null;
    stats.forEach((r) => {
      if (r.type !== 'inbound-rtp' && r.type !== 'outbound-rtp') return;
      out = {
        mid,
        mimeType: byId.get(r.codecId)?.mimeType?.toLowerCase() ?? null,
        packetsReceived: r.packetsReceived ?? 0,
        packetsSent: r.packetsSent ?? 0,
        totalSamplesReceived: r.totalSamplesReceived ?? 0,
        concealedSamples: r.concealedSamples ?? 0,
      };
    });
    return out;
  }, id);

/** Frames decoded from participant `id`'s video on this page (null: no slot carries it). */
export async function framesOf(page, id) {
  return (await slotStats(page, id, 'video'))?.framesDecoded ?? null;
}

/**
 * Waits until `page` decodes `id`'s video and the count keeps growing (two readings, the
 * second at least `more` frames on); returns the last count.
 */
export async function expectDecoding(page, id, who, { more = 10, timeout = 30_000 } = {}) {
  const first = await waitFor(async () => {
    const f = await framesOf(page, id);
    return f != null && f > 0 ? f : null;
  }, { timeout, message: `${who}: frames decoded from ${id}'s slot` });
  return waitFor(async () => {
    const f = await framesOf(page, id);
    return f != null && f >= first + more ? f : null;
  }, { timeout: 15_000, message: `${who}: frames from ${id} keep growing` });
}

/** The audio slots carrying someone now: [{mid, participantId, packetsReceived}]. */
export const audioSlots = (page) =>
  page.evaluate(async () => {
    const c = window.cau.client;
    const out = [];
    for (const s of c.slots.values()) {
      if (s.kind !== 'audio' || !s.participantId) continue;
      const tr = c.transceiverOf(s.mid);
      let packets = 0;
      if (tr) (await tr.receiver.getStats()).forEach((r) => { if (r.type === 'inbound-rtp') packets = r.packetsReceived ?? 0; });
      out.push({ mid: s.mid, participantId: s.participantId, packetsReceived: packets });
    }
    return out;
  });

/**
 * Waits until `page` knows `peers` other participants, decodes each one's video through the
 * slot carrying it (growing), and receives audio on the audio slots that carry someone (at
 * least one; the hub forwards the floor, the chair and the loudest few, not everyone).
 */
export async function expectReceivingAll(page, peers, who) {
  const others = await waitFor(async () => {
    const list = await page.evaluate(() => [...window.cau.client.participants.keys()]);
    return list.length >= peers ? list : null;
  }, { timeout: 30_000, message: `${who} knows ${peers} others` });
  for (const id of others) await expectDecoding(page, id, `${who} ← ${id}`);
  const first = await waitFor(async () => {
    const a = await audioSlots(page);
    return a.length && a.every((x) => x.packetsReceived > 25) ? a : null;
  }, { timeout: 30_000, message: `${who} receives audio on the slots that carry someone` });
  await waitFor(async () => {
    const now = await audioSlots(page);
    return first.every((f) => (now.find((n) => n.mid === f.mid)?.packetsReceived ?? 0) > f.packetsReceived);
  }, { timeout: 15_000, message: `${who}: audio keeps arriving` });
  return others;
}

/** The remote tiles on the stage: [{id, size, floor, hand, dominant, audioMuted, videoMuted, text}]. */
export const tiles = (page) =>
  page.$$eval('.tile[data-participant-id]', (ts) => ts.map((t) => ({
    id: t.dataset.participantId,
    size: t.dataset.size,
    floor: t.dataset.floor === 'true',
    hand: t.dataset.hand === 'true',
    dominant: t.dataset.dominant === 'true',
    audioMuted: t.dataset.audioMuted === 'true',
    videoMuted: t.dataset.videoMuted === 'true',
    width: t.offsetWidth,
    height: t.offsetHeight,
    text: t.textContent,
  })));

/** Forces the camera to `width`×`height` (before any script of the page runs). */
export async function cameraSize(page, width, height) {
  await page.evaluateOnNewDocument((w, h) => {
    const md = navigator.mediaDevices;
    if (!md?.getUserMedia) return;
    const orig = md.getUserMedia.bind(md);
    md.getUserMedia = (c = {}) => {
      if (c.video) c = { ...c, video: { ...(typeof c.video === 'object' ? c.video : {}), width: { ideal: w }, height: { ideal: h } } };
      return orig(c);
    };
  }, width, height);
}

/**
 * Makes getDisplayMedia capture `width`×`height` at `frameRate` whatever the page asks
 * (before any script of the page runs). Headless Chromium with the suite's flags answers
 * getDisplayMedia without a prompt with a fake screen of the size asked.
 */
export async function screenSize(page, width, height, frameRate = 5) {
  await page.evaluateOnNewDocument((w, h, f) => {
    const md = navigator.mediaDevices;
    if (!md?.getDisplayMedia) return;
    const orig = md.getDisplayMedia.bind(md);
    md.getDisplayMedia = (c = {}) => orig({ ...c, video: { width: w, height: h, frameRate: f } });
  }, width, height, frameRate);
}

/** The shared-screen tiles on the stage: [{id, self, size, pinned, width, height, text}]. */
export const screenTiles = (page) =>
  page.$$eval('.tile.tile-screen', (ts) => ts.map((t) => ({
    id: t.dataset.screenOf ?? null,
    self: t.dataset.selfScreen === 'true',
    size: t.dataset.size,
    pinned: t.dataset.pinned === 'true',
    hasVideo: t.classList.contains('has-video'),
    width: t.offsetWidth,
    height: t.offsetHeight,
    text: t.querySelector('.tile-name')?.textContent ?? '',
  })));

/** Uncaught exceptions and console errors of a page. */
export const pageErrors = (page) => page.consoleLines.filter((l) => l.startsWith('pageerror') || l.startsWith('error:'));

/**
 * Clicks `selector` as a person would. Several pages of one Chromium are tabs: a background
 * tab renders nothing, and puppeteer's click waits for a rendered frame, so the page comes to
 * the front first.
 */
export async function click(page, selector) {
  await page.bringToFront();
  await page.click(selector);
}

/**
 * The path the page's media takes, from getStats: the selected candidate pair (the
 * transport's selectedCandidatePairId in Chromium; `selected` in Firefox; else the nominated
 * succeeded one), its local and remote candidates, and the types of every local candidate.
 */
export const mediaPath = (page) => page.evaluate(async () => {
  const pc = window.cau.client.pc;
  const byId = new Map();
  (await pc.getStats()).forEach((r) => byId.set(r.id, r));
  const all = [...byId.values()];
  let pair = null;
  for (const t of all) if (t.type === 'transport' && t.selectedCandidatePairId) pair = byId.get(t.selectedCandidatePairId) ?? pair;
  pair ??= all.find((r) => r.type === 'candidate-pair' && r.selected === true);
  pair ??= all.find((r) => r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded');
  const cand = (c) => c && {
    candidateType: c.candidateType,
    address: c.address ?? c.ipAddress ?? null,
    port: c.port ?? c.portNumber ?? null,
    protocol: c.protocol ?? null,
    relayProtocol: c.relayProtocol ?? null,
  };
  return {
    connectionState: pc.connectionState,
    pair: pair && { state: pair.state, nominated: pair.nominated ?? null, bytesSent: pair.bytesSent ?? null, bytesReceived: pair.bytesReceived ?? null },
    local: cand(pair && byId.get(pair.localCandidateId)),
    remote: cand(pair && byId.get(pair.remoteCandidateId)),
    localTypes: all.filter((r) => r.type === 'local-candidate').map((r) => r.candidateType),
    // Every pair, for the log: local candidate's type, protocol and port, nominated, bytes each way.
    pairs: all.filter((r) => r.type === 'candidate-pair').map((r) => {
      const l = byId.get(r.localCandidateId);
      return `${l?.candidateType}/${l?.protocol}:${l?.port ?? l?.portNumber}${r.nominated ? '*' : ''} ${r.state} ↑${r.bytesSent ?? '?'} ↓${r.bytesReceived ?? '?'}`;
    }),
  };
});

/** The meeting page of join `link` on the hub at `hubUrl`, joining at once as `name`. */
export function autojoinUrl(hubUrl, link, name) {
  const url = new URL(`meeting.html${new URL(link.url).search}`, hubUrl);
  url.searchParams.set('name', name);
  url.searchParams.set('autojoin', '1');
  return url.href;
}
