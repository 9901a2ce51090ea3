// A subscriber whose downlink is capped drops to a lower simulcast layer and keeps decoding,
// with the real hub and real Chromium. The chair publishes VP8 simulcast from a 1280×720
// camera (so q, h and f all exist: 320×180, 640×360, 1280×720); an official joins through
// lib/capped-relay.mjs, a UDP relay in this process that shapes what the hub sends that
// browser (token bucket, FIFO, tail drop). Uncapped (20 Mbit/s) the official's slot carrying
// the chair — a large tile — rises to `f` (or `h`) and decodes ≥ 360 lines steadily.
// Capped at 350 kbit/s — room for `q` (≤ 150 kbit/s) and the audio, not for `h`
// (≤ 500 kbit/s) — the hub's TWCC estimate towards the official falls, the slot switches down
// to `q` (`slots` names the layer), the decoded frame height drops to 180 lines, and frames go
// on being decoded: ≥ 10 frames/s over 8 s, no stall of 2 s, none at all in the last 2 s.
// Lifted, the slot climbs back to h or f.
//
// Evidence in artifacts/: capped-before.png, capped-after.png, capped-lifted.png; a reading
// every 0.5 s with every `slots` the official got and every `layers` the chair got
// (capped-trace.json); the official Chromium's WebRTC warnings (chromium-capped-official.log:
// "No decodable frame in …", "rtp_vp8_ref_finder … dropping frame" explain a stalled slot).
//
// Runs inside scripts/netns-run: the hub, the relay and the browsers share CAU_TEST_ADDR.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { ARTIFACTS_DIR, closeBrowser, launchChromium, newPage, screenshot, waitFor } from './lib/browsers.mjs';
import { startHubWithAccount } from './lib/setup.mjs';
import { api, planLiveMeeting } from './lib/api.mjs';
import { startCappedRelay, useRelay } from './lib/capped-relay.mjs';
import { cameraSize, inMeeting, pageErrors, recent, selfId } from './lib/meeting-page.mjs';

const SCHEDULER = { username: 'lich-hop', name: 'Cán bộ lập lịch', roles: ['scheduler'], password: 'Mat-khau-thu-nghiem-2025' };
const WINDOW = { width: 1280, height: 720 };
const OPEN = 20_000_000; // bit/s: no cap to speak of
const CAP = 350_000; // bit/s: room for q and the audio, not for h
const QUEUE = 24 * 1024; // bytes: about 0.55 s at the cap, 10 ms at 20 Mbit/s
const RANK = { single: 0, q: 1, h: 2, f: 3 };

let setup;
let hub;
let bearer;
let relay;
let chairBrowser;
let officialBrowser;

/**
 * Waits until the namespace's IPv6 link-local addresses have left duplicate address
 * detection ("tentative", about 2 s after scripts/netns-run brings the veth pair up): that
 * change is a network change to Chromium, which fails the page loads in flight with
 * net::ERR_NETWORK_CHANGED.
 */
async function networkSettled() {
  const tentative = () => {
    try {
      return execFileSync('ip', ['-6', 'addr', 'show', 'tentative'], { encoding: 'utf8' }).trim();
    } catch {
      return ''; // no `ip`: nothing to wait for
    }
  };
  await waitFor(() => !tentative(), { timeout: 10_000, interval: 100, message: 'IPv6 duplicate address detection done' });
}

before(async () => {
  await networkSettled();
  // UDP only: the pages must reach the hub through the relay, not around it over ICE-TCP.
  setup = await startHubWithAccount('capped', SCHEDULER, { extraArgs: ['--tcp-port', 'off'] });
  ({ hub, bearer } = setup);
  relay = await startCappedRelay({ rate: OPEN, queueBytes: QUEUE });
  // Two browsers, so that each page is its own front tab (a background tab renders nothing,
  // and the official's tile size is what it asks the hub for). The official's Chromium logs
  // WebRTC's warnings to its stderr (artifacts/chromium-capped-official.log).
  [chairBrowser, officialBrowser] = await Promise.all([
    launchChromium({ secureOrigins: [hub.url], window: WINDOW, logName: 'chromium-capped-chair' }),
    launchChromium({
      secureOrigins: [hub.url],
      window: WINDOW,
      logName: 'chromium-capped-official',
      extraArgs: ['--enable-logging=stderr', '--v=0'],
    }),
  ]);
});

after(async () => {
  await Promise.all([closeBrowser(chairBrowser), closeBrowser(officialBrowser)]);
  await relay?.close();
  await setup?.stop();
});

/** Opens `link` with a `w`×`h` camera, through `via` (a relay) if given, joined. */
async function join(browser, link, name, [w, h], via = null) {
  const page = await newPage(browser);
  await cameraSize(page, w, h);
  if (via) await useRelay(page, via);
  const q = new URL(link.url).searchParams;
  q.set('name', name);
  q.set('autojoin', '1');
  await page.goto(new URL(`meeting.html?${q}`, hub.url).href);
  await inMeeting(page, name);
  return page;
}

/**
 * The video slot carrying `id` on `page` and its receiver's inbound-rtp:
 * {mid, layer, framesDecoded, framesReceived, frameWidth, frameHeight, ...} or null.
 */
const videoOf = (page, id) =>
  page.evaluate(async (pid) => {
    const c = window.cau.client;
    const s = c.slotOf(pid, 'video');
    const tr = s && c.transceiverOf(s.mid);
    if (!tr) return null;
    const out = { mid: s.mid, layer: s.layer, framesDecoded: 0, framesReceived: 0, frameWidth: null, frameHeight: null };
    (await tr.receiver.getStats()).forEach((r) => {
      if (r.type !== 'inbound-rtp') return;
      Object.assign(out, {
        framesDecoded: r.framesDecoded ?? 0,
        framesReceived: r.framesReceived ?? 0,
        frameWidth: r.frameWidth ?? null,
        frameHeight: r.frameHeight ?? null,
        framesPerSecond: r.framesPerSecond ?? null,
        bytesReceived: r.bytesReceived ?? 0,
        packetsLost: r.packetsLost ?? 0,
        nackCount: r.nackCount ?? 0,
        pliCount: r.pliCount ?? 0,
        keyFramesDecoded: r.keyFramesDecoded ?? 0,
        freezeCount: r.freezeCount ?? 0,
      });
    });
    return out;
  }, id);

/** The publisher's simulcast encodings as it sends them: [{rid, active, frameWidth, frameHeight, …}]. */
const sentLayers = (page) =>
  page.evaluate(async () => {
    const pc = window.cau.client.pc;
    const params = pc.getSenders().find((s) => s.track?.kind === 'video')?.getParameters();
    const active = Object.fromEntries((params?.encodings ?? []).map((e) => [e.rid, e.active]));
    const out = [];
    (await pc.getStats()).forEach((r) => {
      if (r.type === 'outbound-rtp' && r.kind === 'video') {
        out.push({
          rid: r.rid ?? null,
          active: active[r.rid] ?? null,
          frameWidth: r.frameWidth ?? null,
          frameHeight: r.frameHeight ?? null,
          framesEncoded: r.framesEncoded ?? 0,
          qualityLimitationReason: r.qualityLimitationReason ?? null,
        });
      }
    });
    return out.sort((a, b) => String(a.rid).localeCompare(String(b.rid)));
  });

/** The remote address of the page's selected ICE candidate pair: {address, port} or null. */
const selectedRemote = (page) =>
  page.evaluate(async () => {
    const report = await window.cau.client.pc.getStats();
    let pairId = null;
    report.forEach((r) => {
      if (r.type === 'transport' && r.selectedCandidatePairId) pairId = r.selectedCandidatePairId;
    });
    const pair = pairId && report.get(pairId);
    const remote = pair && report.get(pair.remoteCandidateId);
    return remote ? { address: remote.address ?? remote.ip, port: remote.port } : null;
  });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('a capped subscriber drops to a lower layer and keeps decoding', { timeout: 150_000 }, async (t) => {
  const { meeting, linkOf } = await planLiveMeeting(hub.origin, bearer, {
    title: 'Giao ban trực tuyến — đường truyền yếu',
    agenda: '1. Kiểm tra đường truyền các điểm cầu.',
    scope: { root: 'province:19', tiers: ['province'], add: ['commune:5431'], remove: [] },
    acknowledgeConflicts: true,
  });

  // Every reading, for the record (artifacts/capped-trace.json) and for failure messages.
  const t0 = Date.now();
  const secs = (at = Date.now()) => Math.round(at - t0) / 1000;
  const trace = [];
  const read = async (page, id, phase) => {
    const v = await videoOf(page, id);
    const r = relay.stats();
    trace.push({
      t: secs(),
      phase,
      capKbps: r.rate / 1000,
      hubBytes: r.down.bytes, // hub → relay so far (what the hub sent: media, RTX, padding)
      relayBytes: r.shaped.sentBytes, // relay → official so far (what got through the cap)
      kinds: r.down.kinds, // hub → relay so far, by kind of packet
      dropped: r.shaped.dropped,
      backlogMs: Math.round(r.shaped.backlog.ms),
      layer: v?.layer ?? null,
      frameHeight: v?.frameHeight ?? null,
      framesReceived: v?.framesReceived ?? null,
      framesDecoded: v?.framesDecoded ?? null,
      fps: v?.framesPerSecond ?? null,
      lost: v?.packetsLost ?? null,
      nacks: v?.nackCount ?? null,
      plis: v?.pliCount ?? null,
      freezes: v?.freezeCount ?? null,
    });
    return v;
  };
  const tail = (n = 8) => trace.slice(-n).map((r) => `${r.t}s ${r.phase} ${r.layer}/${r.frameHeight}p frames=${r.framesDecoded} q=${r.backlogMs}ms drop=${r.dropped}`).join('; ');
  /** kbit/s the hub sent (`hubBytes`) or the relay delivered (`relayBytes`) between two readings. */
  const kbps = (a, b, field = 'relayBytes') => Math.round(((b[field] - a[field]) * 8) / ((b.t - a.t) * 1000));
  /** kbit/s of each kind of packet the hub sent between two readings: "rtp 96: 700, rtp 97: 250, …". */
  const mix = (a, b) => Object.entries(b.kinds)
    .map(([k, v]) => [k, Math.round(((v - (a.kinds[k] ?? 0)) * 8) / ((b.t - a.t) * 1000))])
    .filter(([, v]) => v > 0)
    .sort((x, y) => y[1] - x[1])
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
  /** Readings of `phase` where the slot decoded nothing for ≥ 1 s: "9.0–11.9 s at f". */
  const stalls = (phase) => {
    const rows = trace.filter((r) => r.phase === phase && r.framesDecoded != null);
    const out = [];
    for (let i = 0, j; i < rows.length; i = j) {
      for (j = i + 1; j < rows.length && rows[j].framesDecoded === rows[i].framesDecoded; j++);
      if (rows[j - 1].t - rows[i].t >= 1) out.push(`${rows[i].t}–${rows[j - 1].t} s at ${rows[i].layer}`);
    }
    return out.join(', ') || 'none';
  };

  let chair;
  let official;
  let slotLog = [];
  let layerLog = [];
  const mixes = {};
  try {
    chair = await join(chairBrowser, linkOf('province:19', 'chair'), 'Nguyễn Văn Chủ', [1280, 720]);
    official = await join(officialBrowser, linkOf('commune:5431'), 'Lê Văn Cường', [320, 240], relay);
    const chairId = await selfId(chair);
    // Every `slots` the official gets (its video slots that carry someone) and every `layers`
    // the chair gets, as they come: the 0.5 s readings can miss a short pause.
    await official.evaluate(() => {
      window.__slotLog = [];
      window.cau.client.addEventListener('slots', (e) => window.__slotLog.push([Date.now(),
        e.detail.slots.filter((s) => s.kind === 'video' && s.participantId).map((s) => s.layer).join(',')]));
    });
    await chair.evaluate(() => {
      window.__layerLog = [];
      window.cau.client.addEventListener('layers', (e) => window.__layerLog.push([Date.now(), e.detail.rids.join(',')]));
    });
    const events = async () => {
      slotLog = (await official.evaluate(() => window.__slotLog).catch(() => null)) ?? slotLog;
      layerLog = (await chair.evaluate(() => window.__layerLog).catch(() => null)) ?? layerLog;
      const show = (log, from, to) => log.filter(([at]) => at >= from && at <= to).map(([at, v]) => `${v || '∅'}@${secs(at)}s`).join(' → ');
      return { slots: (from, to = Infinity) => show(slotLog, from, to), layers: (from, to = Infinity) => show(layerLog, from, to) };
    };

    // The official reaches the hub's media port only through the relay. Two descriptions
    // from the hub: the answer to the official's offer, then the receive slots' offer.
    const rewrites = await waitFor(async () => {
      const r = await official.evaluate(() => window.__cauRelayRewrites);
      return r.length >= 2 ? r : null;
    }, { message: `the official applies the hub's answer and offer (${recent(official)})` });
    assert.ok(rewrites.every((r) => r.lines >= 1), `the hub's candidates rewritten (${JSON.stringify(rewrites)})`);
    assert.equal(rewrites[0].from.port, relay.target.port);
    const remote = await waitFor(() => selectedRemote(official), { message: 'the official’s selected candidate pair' });
    assert.deepEqual(remote, { address: relay.host, port: relay.port }, 'the official’s media goes through the relay');

    // Uncapped: the chair's slot (a large tile) carries f — or h, if the chair's Chromium
    // sends no full layer after 20 s — decoded at ≥ 360 lines, steadily: frames decoded at
    // every reading for 3 s at one layer and size.
    const openAt = Date.now();
    const best = await waitFor(async () => {
      await read(official, chairId, 'open');
      const w = trace.slice(-7);
      const v = w.at(-1);
      const steady = w.length === 7 && w.every((r, i) => r.phase === 'open' && r.layer === v.layer && r.frameHeight === v.frameHeight
        && (i === 0 || r.framesDecoded > w[i - 1].framesDecoded));
      const good = v.layer === 'f' ? v.frameHeight >= 540 : v.layer === 'h' && v.frameHeight >= 360 && Date.now() - openAt > 20_000;
      return steady && good ? v : null;
    }, { timeout: 40_000, interval: 500, message: `the official decodes the chair at f (or h) steadily (${recent(official)}; ${tail()})` });
    const openRows = trace.slice(-7);
    const sent = await sentLayers(chair);
    let ev = await events();
    t.diagnostic(`chair sends: ${sent.map((x) => `${x.rid} ${x.frameWidth}×${x.frameHeight} ${x.active ? 'active' : 'paused'} (${x.qualityLimitationReason})`).join(', ')}`);
    t.diagnostic(`uncapped: layer ${best.layer}, ${best.frameHeight} lines, ${((best.framesDecoded - openRows[0].framesDecoded) / (best.t - openRows[0].t)).toFixed(1)} frames/s; hub → official ${kbps(openRows[0], best, 'hubBytes')} kbit/s (${mix(openRows[0], best)}); slots ${ev.slots(0)}; chair asked for ${ev.layers(0)}; decode stalls ≥ 1 s: ${stalls('open')}`);
    assert.ok(sent.some((x) => x.rid === 'f' && x.frameHeight >= 540), `the chair's camera gives a full layer (${JSON.stringify(sent)})`);
    mixes.open = mix(openRows[0], best);
    await screenshot(official, 'capped-before');

    // Capped: the slot switches down to q and 180 lines are decoded.
    relay.setRate(CAP);
    const cappedAt = Date.now();
    let firstDrop = null;
    const low = await waitFor(async () => {
      const v = await read(official, chairId, 'capped');
      if (!firstDrop && v?.layer && RANK[v.layer] < RANK[best.layer]) firstDrop = { layer: v.layer, s: (Date.now() - cappedAt) / 1000 };
      return v?.layer === 'q' && v.frameHeight <= 180 ? v : null;
    }, { timeout: 30_000, interval: 500, message: `the slot switches down to q under a ${CAP / 1000} kbit/s cap (${tail()})` });
    const lowSecs = (Date.now() - cappedAt) / 1000;

    // ... and keeps decoding, below the uncapped layer (q, or h should the estimate allow it;
    // a flap back up shows in `slots`), read every 0.5 s for 8 s: ≥ 10 frames/s in all, no
    // stall of 2 s or more, and every reading of the last 2 s decodes more. The relay's queue
    // still holds the old layer's last 0.5 s when q starts, and a packet it tail-drops then
    // can hold the picture while it is repaired (a retransmission, or a keyframe asked for
    // again): a short stall at the switch is the link's doing, one that lasts is the hub's.
    const from = trace.at(-1);
    let at = low;
    let advanced = from; // the last reading that decoded more
    let longest = 0; // s
    for (let i = 0; i < 16; i++) {
      await sleep(500);
      const v = await read(official, chairId, 'capped');
      assert.ok(v?.layer, `the slot is not paused under the cap (${tail()})`);
      assert.ok(RANK[v.layer] < RANK[best.layer] && v.frameHeight < best.frameHeight, `the picture stays below ${best.layer} under the cap (${tail()})`);
      const row = trace.at(-1);
      if (v.framesDecoded > at.framesDecoded) advanced = row;
      const stalled = row.t - advanced.t;
      longest = Math.max(longest, stalled);
      assert.ok(stalled < 2, `no decode stall of 2 s or more under the cap (${tail()})`);
      if (i >= 12) assert.ok(v.framesDecoded > at.framesDecoded, `frames are decoded at every reading of the last 2 s under the cap (${tail()})`);
      at = v;
    }
    const to = trace.at(-1);
    const fps = (to.framesDecoded - from.framesDecoded) / (to.t - from.t);
    ev = await events();
    const pauses = slotLog.filter(([when, l]) => when >= cappedAt && l === 'null').length;
    t.diagnostic(`capped at ${CAP / 1000} kbit/s: below ${best.layer} after ${firstDrop?.s} s (${firstDrop?.layer}), q decoded (${low.frameWidth}×${low.frameHeight}) after ${lowSecs} s; slots ${ev.slots(cappedAt)}${pauses ? ` (${pauses}× paused on the way)` : ''}; chair asked for ${ev.layers(cappedAt)}`);
    t.diagnostic(`under the cap: ${fps.toFixed(1)} frames/s at ${at.frameWidth}×${at.frameHeight}; hub sent ${kbps(from, to, 'hubBytes')} kbit/s (${mix(from, to)}), relay delivered ${kbps(from, to)}; ${to.dropped} packets tail-dropped since the cap; ${to.lost} lost, ${to.freezes} freezes in all; decode stalls ≥ 1 s: ${stalls('capped')}, the longest in the 8 s checked ${longest.toFixed(1)} s`);
    mixes.capped = mix(from, to);
    assert.ok(fps >= 10, `at least 10 frames/s decoded under the cap (${fps.toFixed(1)}; ${tail()})`);
    // The harness, not the hub, made the link thin: the relay delivered no more than the cap.
    assert.ok(kbps(from, to) <= (CAP / 1000) * 1.1, `the relay holds ${CAP / 1000} kbit/s (${kbps(from, to)})`);
    await screenshot(official, 'capped-after');

    // The cap lifted: the slot climbs back to h or f, decoded at ≥ 360 lines.
    relay.setRate(OPEN);
    const liftedAt = Date.now();
    const back = await waitFor(async () => {
      const v = await read(official, chairId, 'lifted');
      return v && RANK[v.layer] >= RANK.h && v.frameHeight >= 360 ? v : null;
    }, { timeout: 30_000, interval: 500, message: `the slot climbs back once the cap is lifted (${tail()})` });
    const backSecs = (Date.now() - liftedAt) / 1000;
    for (let i = 0; i < 6; i++) {
      await sleep(500);
      await read(official, chairId, 'lifted');
    }
    ev = await events();
    const liftRows = trace.filter((r) => r.phase === 'lifted');
    mixes.lifted = mix(liftRows[0], liftRows.at(-1));
    t.diagnostic(`lifted: layer ${back.layer}, ${back.frameWidth}×${back.frameHeight} after ${backSecs} s; slots ${ev.slots(liftedAt)}; chair asked for ${ev.layers(liftedAt)}; ${liftRows.at(-1).framesDecoded - back.framesDecoded} frames decoded in the 3 s after; decode stalls ≥ 1 s: ${stalls('lifted')}`);
    await screenshot(official, 'capped-lifted');

    for (const [k, page] of Object.entries({ chair, official })) assert.deepEqual(pageErrors(page), [], `no errors on ${k}'s page`);
  } finally {
    slotLog = (await official?.evaluate(() => window.__slotLog).catch(() => null)) ?? slotLog;
    layerLog = (await chair?.evaluate(() => window.__layerLog).catch(() => null)) ?? layerLog;
    fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
    fs.writeFileSync(path.join(ARTIFACTS_DIR, 'capped-trace.json'), JSON.stringify({
      t0,
      relay: relay.stats(),
      mixes,
      slots: slotLog.map(([at, l]) => [secs(at), l]),
      layers: layerLog.map(([at, l]) => [secs(at), l]),
      trace: trace.map(({ kinds, ...r }) => r),
    }, null, 1));
    await Promise.all([chair?.close(), official?.close()].map((p) => p?.catch(() => {})));
    await api(hub.origin, bearer, 'POST', `/api/meetings/${meeting.id}/end`).catch(() => {});
  }
});
