// How good a connection is, from WebRTC statistics: a level ('good', 'fair', 'poor' or
// 'unknown') and the figures behind it. Pure functions over plain objects taken from
// getStats(): no DOM, no peer connection, so `node --test` checks them. The meeting page
// samples getStats every few seconds (meeting/quality.js) and calls these with two samples.
//
// Received media (a tile): from `inbound-rtp`, the loss and jitter of the participant's
// streams over the interval and, for video that should be flowing, the frames decoded per
// second. Your own link: from `remote-inbound-rtp` (what the hub reports back about what you
// send: loss, jitter, round-trip time), the selected `candidate-pair`'s round-trip time, and
// `outbound-rtp` (bitrate sent, and whether the browser limits quality for bandwidth or CPU).

export const LEVELS = ['unknown', 'good', 'fair', 'poor'];

/** The limits between good / fair and fair / poor. */
export const LIMITS = Object.freeze({
  loss: [0.02, 0.08], // fraction of packets lost
  jitterMs: [30, 80],
  rttMs: [200, 500],
  fps: [12, 5], // frames decoded per second: at least 12 is good, under 5 is poor
});

const rank = (level) => LEVELS.indexOf(level);
/** The worse of two levels ('unknown' counts as nothing). */
export function worse(a, b) {
  return rank(a) >= rank(b) ? a : b;
}

function byLimits(value, [good, fair], higherIsBetter = false) {
  if (value == null || !Number.isFinite(value)) return 'unknown';
  if (higherIsBetter) return value >= good ? 'good' : value >= fair ? 'fair' : 'poor';
  return value < good ? 'good' : value < fair ? 'fair' : 'poor';
}

/**
 * Received media of one participant over an interval.
 * @param {{audio?: object, video?: object}} prev the earlier sample: inbound-rtp fields
 *   {packetsReceived, packetsLost, jitter (s), framesDecoded, bytesReceived} per kind
 * @param {{audio?: object, video?: object}} cur the later sample
 * @param {number} dtMs the time between them
 * @param {{videoExpected?: boolean}} [opts] video should be flowing (camera on, slot not paused)
 * @returns {{level, loss: number|null, jitterMs: number|null, fps: number|null, kbps: number|null}}
 */
export function inboundQuality(prev, cur, dtMs, { videoExpected = false } = {}) {
  const out = { level: 'unknown', loss: null, jitterMs: null, fps: null, kbps: null };
  if (!prev || !cur || !(dtMs > 0)) return out;
  let received = 0;
  let lost = 0;
  let bytes = 0;
  let jitter = null;
  for (const kind of ['audio', 'video']) {
    const a = prev[kind];
    const b = cur[kind];
    if (!a || !b) continue;
    const dr = (b.packetsReceived ?? 0) - (a.packetsReceived ?? 0);
    const dl = Math.max(0, (b.packetsLost ?? 0) - (a.packetsLost ?? 0));
    if (dr < 0) continue; // a new stream: counters restarted
    received += dr;
    lost += dl;
    bytes += Math.max(0, (b.bytesReceived ?? 0) - (a.bytesReceived ?? 0));
    if (dr > 0 && Number.isFinite(b.jitter)) jitter = Math.max(jitter ?? 0, b.jitter * 1000);
  }
  if (received + lost > 0) out.loss = lost / (received + lost);
  out.jitterMs = jitter;
  out.kbps = (bytes * 8) / dtMs;
  let level = worse(byLimits(out.loss, LIMITS.loss), byLimits(out.jitterMs, LIMITS.jitterMs));
  if (prev.video && cur.video) {
    const df = (cur.video.framesDecoded ?? 0) - (prev.video.framesDecoded ?? 0);
    if (df >= 0) out.fps = (df * 1000) / dtMs;
    if (videoExpected) level = worse(level, byLimits(out.fps, LIMITS.fps, true));
  }
  if (received + lost === 0) level = videoExpected ? 'poor' : 'unknown';
  out.level = level;
  return out;
}

/**
 * Your own link.
 * @param {object|null} prev the earlier sample (for the bitrate), or null
 * @param {{bytesSent?: number, rttMs?: number|null, loss?: number|null, jitterMs?: number|null,
 *   limitation?: string|null}} cur rttMs from the candidate pair (or remote-inbound-rtp),
 *   loss: the largest `fractionLost` the hub reported, jitterMs from remote-inbound-rtp,
 *   limitation: outbound-rtp's qualityLimitationReason
 * @param {number} dtMs
 * @returns {{level, rttMs, loss, jitterMs, kbps, limitation}}
 */
export function outboundQuality(prev, cur, dtMs) {
  const out = {
    level: 'unknown', rttMs: cur?.rttMs ?? null, loss: cur?.loss ?? null, jitterMs: cur?.jitterMs ?? null,
    kbps: null, limitation: cur?.limitation && cur.limitation !== 'none' ? cur.limitation : null,
  };
  if (!cur) return out;
  if (prev && dtMs > 0 && Number.isFinite(cur.bytesSent) && Number.isFinite(prev.bytesSent)) {
    out.kbps = (Math.max(0, cur.bytesSent - prev.bytesSent) * 8) / dtMs;
  }
  let level = worse(byLimits(out.rttMs, LIMITS.rttMs), byLimits(out.loss, LIMITS.loss));
  level = worse(level, byLimits(out.jitterMs, LIMITS.jitterMs));
  if (out.limitation === 'bandwidth' || out.limitation === 'cpu') level = worse(level, 'fair');
  out.level = level;
  return out;
}

/**
 * One getStats() report reduced to what the two functions above need:
 * {inbound: Map mid → {kind, packetsReceived, packetsLost, jitter, framesDecoded, bytesReceived},
 *  outbound: {bytesSent, rttMs, loss, jitterMs, limitation}}.
 * `midOfTrack` maps a receiver track id to its transceiver's mid, for browsers whose
 * inbound-rtp has no `mid`.
 */
export function reduceStats(report, midOfTrack = new Map()) {
  const inbound = new Map();
  const outbound = { bytesSent: 0, rttMs: null, loss: null, jitterMs: null, limitation: null };
  let pairRtt = null;
  let selectedPair = null;
  const pairs = [];
  report.forEach((s) => {
    switch (s.type) {
      case 'inbound-rtp': {
        const mid = s.mid ?? midOfTrack.get(s.trackIdentifier) ?? null;
        if (mid == null) break;
        inbound.set(String(mid), {
          kind: s.kind ?? s.mediaType,
          packetsReceived: s.packetsReceived ?? 0,
          packetsLost: s.packetsLost ?? 0,
          jitter: s.jitter ?? null,
          framesDecoded: s.framesDecoded ?? 0,
          bytesReceived: s.bytesReceived ?? 0,
        });
        break;
      }
      case 'outbound-rtp':
        outbound.bytesSent += s.bytesSent ?? 0;
        if (s.qualityLimitationReason && s.qualityLimitationReason !== 'none') outbound.limitation = s.qualityLimitationReason;
        break;
      case 'remote-inbound-rtp':
        if (Number.isFinite(s.fractionLost)) outbound.loss = Math.max(outbound.loss ?? 0, s.fractionLost);
        if (Number.isFinite(s.jitter)) outbound.jitterMs = Math.max(outbound.jitterMs ?? 0, s.jitter * 1000);
        if (Number.isFinite(s.roundTripTime)) outbound.rttMs = Math.max(outbound.rttMs ?? 0, s.roundTripTime * 1000);
        break;
      case 'transport':
        if (s.selectedCandidatePairId) selectedPair = s.selectedCandidatePairId;
        break;
      case 'candidate-pair':
        pairs.push(s);
        break;
      default:
    }
  });
  const pair = pairs.find((p) => p.id === selectedPair) ??
    pairs.find((p) => p.selected || (p.nominated && p.state === 'succeeded'));
  if (pair && Number.isFinite(pair.currentRoundTripTime)) pairRtt = pair.currentRoundTripTime * 1000;
  if (pairRtt != null) outbound.rttMs = pairRtt;
  return { inbound, outbound };
}
