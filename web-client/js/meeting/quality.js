// The network-quality indicator of every tile and of your own: every few seconds one
// getStats() of the peer connection, reduced (netquality.js) to the received streams of each
// receive slot and to what the hub reports back about what you send; two samples give the
// loss, jitter, frame rate and bitrate behind the good / fair / poor bars.

import { inboundQuality, outboundQuality, reduceStats } from '../netquality.js';
import { S, on } from './state.js';
import { SELF, setQuality } from './stage.js';

const PERIOD_MS = 3000;

let timer = null;
let last = null; // {at, pc, inbound: Map mid → stats, outbound, owners: Map mid → participant id}

async function sample() {
  const client = S.client;
  const pc = client.pc;
  if (S.view !== 'meeting' || !pc || client.state !== 'joined' || document.hidden) return;
  const midOfTrack = new Map();
  for (const tr of pc.getTransceivers()) {
    if (tr.mid != null && tr.receiver?.track) midOfTrack.set(tr.receiver.track.id, tr.mid);
  }
  let report;
  try {
    report = await pc.getStats();
  } catch {
    return;
  }
  if (client !== S.client) return;
  const at = performance.now();
  const cur = reduceStats(report, midOfTrack);
  const owners = new Map();
  for (const s of client.slots.values()) if (s.participantId) owners.set(s.mid, s.participantId);
  const prev = last && last.pc === pc ? last : null;
  const dt = prev ? at - prev.at : 0;

  setQuality(SELF, outboundQuality(prev?.outbound ?? null, cur.outbound, dt));

  for (const r of S.remotes.values()) {
    const mids = { audio: r.audioMid, video: r.videoMid };
    const a = {};
    const b = {};
    for (const kind of ['audio', 'video']) {
      const mid = mids[kind];
      if (mid == null || !cur.inbound.has(mid)) continue;
      b[kind] = cur.inbound.get(mid);
      // The same slot carried someone else before: no interval to compare.
      if (prev && prev.owners.get(mid) === r.p.id && prev.inbound.has(mid)) a[kind] = prev.inbound.get(mid);
    }
    if (!b.audio && !b.video) {
      if (r.quality) setQuality(r.p.id, null);
      continue;
    }
    const slot = r.videoMid != null ? client.slots.get(r.videoMid) : null;
    const videoExpected = !!slot && slot.layer != null && !r.p.video_muted;
    setQuality(r.p.id, inboundQuality(a.audio || a.video ? a : null, b, dt, { videoExpected }));
  }
  last = { at, pc, inbound: cur.inbound, outbound: cur.outbound, owners };
}

export function initQuality() {
  on('view', (view) => {
    clearInterval(timer);
    timer = null;
    if (view === 'meeting') timer = setInterval(() => { sample(); }, PERIOD_MS);
  });
}
