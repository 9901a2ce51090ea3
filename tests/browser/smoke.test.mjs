// Smoke test of the browser test machinery, without the hub: real Chromium
// and Firefox ESR, fake camera and microphone, WebRTC inside the private
// network namespace. If this fails, no hub browser test can pass.
//
//   scripts/netns-run node --test tests/browser/smoke.test.mjs
//
// 1. Chromium: two RTCPeerConnections in one page, media flows (framesDecoded grows).
// 2. Firefox: the same.
// 3. Chromium page ↔ Firefox page, signalled through the test server's relay,
//    media flows both ways over 198.18.0.1.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import {
  closeBrowser,
  collectInboundStats,
  launchChromium,
  launchFirefox,
  newPage,
  screenshot,
  total,
  waitFor,
} from './lib/browsers.mjs';
import { startRelayServer } from './lib/relay-server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const ADDR = process.env.CAU_TEST_ADDR;

/** Seconds each step took, printed at the end (launch cost matters for planning). */
const timings = [];
async function timed(label, fn) {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    timings.push(`${label}: ${Math.round(performance.now() - t0)} ms`);
  }
}

/** Page state and console, for assertion messages. */
async function describePage(page) {
  const state = await page.evaluate(() => window.smoke).catch((e) => `unreadable: ${e.message}`);
  return `state=${JSON.stringify(state)} console=${JSON.stringify(page.consoleLines.slice(-20))}`;
}

/**
 * Media is flowing into `page`'s peer connection: video frames are decoded and
 * keep being decoded, and audio packets arrive.
 */
async function assertMediaFlows(page, label) {
  const first = await waitFor(
    async () => {
      const s = await collectInboundStats(page);
      return total(s, 'video', 'framesDecoded') > 0 && total(s, 'audio', 'packetsReceived') > 0 && s;
    },
    { timeout: 20_000, message: `${label}: first decoded video frame and audio packets` },
  ).catch(async (e) => {
    e.message += `\n${await describePage(page)}`;
    throw e;
  });
  const f0 = total(first, 'video', 'framesDecoded');
  const a0 = total(first, 'audio', 'packetsReceived');
  const later = await waitFor(
    async () => {
      const s = await collectInboundStats(page);
      return total(s, 'video', 'framesDecoded') >= f0 + 15 && total(s, 'audio', 'packetsReceived') >= a0 + 25 && s;
    },
    { timeout: 15_000, message: `${label}: framesDecoded keeps growing past ${f0}` },
  );
  const video = Object.values(later.video);
  assert.ok(video.length >= 1, `${label}: an inbound video stream`);
  assert.ok(Object.keys(later.audio).length >= 1, `${label}: an inbound audio stream`);
  assert.ok(total(later, 'video', 'bytesReceived') > 0, `${label}: video bytes received`);
  assert.ok(total(later, 'audio', 'totalSamplesReceived') > 0, `${label}: audio decoded (totalSamplesReceived)`);
  return later;
}

/**
 * The candidate pair ICE selected joins addresses of the namespace: 198.18.0.1,
 * or 127.0.0.1 for Chromium (--allow-loopback-in-peer-connection offers it too,
 * and a loopback-to-198.18.0.1 pair is a legitimate choice). Firefox never
 * offers 127.0.0.1, so a Firefox page's local side must be CAU_TEST_ADDR.
 */
async function assertNamespacePair(page, { local = [ADDR, '127.0.0.1'], remote = [ADDR, '127.0.0.1'] } = {}) {
  const pair = await waitFor(() => page.evaluate(() => window.selectedPair(window.cau.client.pc)), {
    timeout: 10_000,
    message: 'a selected candidate pair',
  });
  const ip = (c) => (c ?? '').replace(/:\d+\/.*$/, '');
  assert.ok(local.includes(ip(pair.local)), `local candidate in ${local}: ${JSON.stringify(pair)}`);
  assert.ok(remote.includes(ip(pair.remote)), `remote candidate in ${remote}: ${JSON.stringify(pair)}`);
  return pair;
}

describe('browser smoke (no hub)', { concurrency: 1 }, () => {
  let server;

  before(async () => {
    assert.ok(
      ADDR,
      'CAU_TEST_ADDR is not set: run inside the private network namespace, e.g.\n' +
        '  scripts/netns-run node --test tests/browser/smoke.test.mjs',
    );
    server = await startRelayServer({ host: ADDR, root: path.join(here, 'fixtures') });
  });

  after(async () => {
    await server?.close();
    process.stdout.write(`# smoke timings:\n${timings.map((t) => `#   ${t}`).join('\n')}\n`);
  });

  for (const [name, launch] of [
    ['chromium', launchChromium],
    ['firefox', launchFirefox],
  ]) {
    test(`${name}: two peer connections in one page exchange audio and video`, { timeout: 90_000 }, async () => {
      let browser;
      try {
        browser = await timed(`${name} launch`, () => launch({ secureOrigins: [server.url], logName: `smoke-${name}` }));
        const page = await newPage(browser);
        await timed(`${name} load page`, () => page.goto(`${server.url}loopback.html`, { waitUntil: 'load' }));
        const stats = await timed(`${name} loopback media flowing`, () => assertMediaFlows(page, `${name} loopback`));
        const pair = await assertNamespacePair(page, name === 'firefox' ? { local: [ADDR], remote: [ADDR] } : {});
        process.stdout.write(`# ${name} loopback pair: ${JSON.stringify(pair)}\n`);
        await screenshot(page, `smoke-${name}-loopback`);
        assert.deepEqual(await page.evaluate(() => window.smoke.errors), []);
        process.stdout.write(`# ${name} loopback video: ${JSON.stringify(Object.values(stats.video)[0])}\n`);
      } finally {
        await timed(`${name} close`, () => closeBrowser(browser));
      }
    });
  }

  test('chromium page ↔ firefox page: media flows both ways through the namespace', { timeout: 120_000 }, async () => {
    let chromium;
    let firefox;
    try {
      [chromium, firefox] = await timed('both launches (parallel)', () =>
        Promise.all([
          launchChromium({ secureOrigins: [server.url], logName: 'smoke-cross-chromium' }),
          launchFirefox({ secureOrigins: [server.url], logName: 'smoke-cross-firefox' }),
        ]),
      );
      const room = `r${Date.now()}`;
      const [pa, pb] = await Promise.all([newPage(chromium), newPage(firefox)]);
      // The answerer listens first, then the offerer starts.
      await pb.goto(`${server.url}peer.html?room=${room}&me=b&peer=a&role=answer`, { waitUntil: 'load' });
      await pa.goto(`${server.url}peer.html?room=${room}&me=a&peer=b&role=offer`, { waitUntil: 'load' });
      await timed('cross-browser media flowing', () =>
        Promise.all([assertMediaFlows(pa, 'chromium ← firefox'), assertMediaFlows(pb, 'firefox ← chromium')]),
      );
      const pairA = await assertNamespacePair(pa);
      const pairB = await assertNamespacePair(pb, { local: [ADDR] });
      process.stdout.write(`# chromium ↔ firefox pair, chromium side: ${JSON.stringify(pairA)}\n`);
      process.stdout.write(`# chromium ↔ firefox pair, firefox side: ${JSON.stringify(pairB)}\n`);
      await screenshot(pa, 'smoke-cross-chromium');
      await screenshot(pb, 'smoke-cross-firefox');
      assert.deepEqual(await pa.evaluate(() => window.smoke.errors), []);
      assert.deepEqual(await pb.evaluate(() => window.smoke.errors), []);
    } finally {
      await timed('both closes', () => Promise.all([closeBrowser(chromium), closeBrowser(firefox)]));
    }
  });
});
