// cau-load's simulated endpoints and real browsers in one meeting: a scheduler plans it and
// hands two join links to `cau-load --links FILE --clip DIR` (a VP8/Opus clip made with
// ffmpeg by `cau-load make-clip`); a Chromium and a Firefox official join with two more
// links. Both browsers must decode the replayed video and receive its audio (getStats), and
// cau-load must report its two endpoints connected, receiving each other whole.
//
// Runs inside scripts/netns-run: the hub, the browsers and cau-load share CAU_TEST_ADDR.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {
  ARTIFACTS_DIR,
  REPO_ROOT,
  TEST_ADDR,
  closeBrowser,
  collectInboundStats,
  launchChromium,
  launchFirefox,
  newPage,
  screenshot,
  waitFor,
  withTimeout,
} from './lib/browsers.mjs';
import { startHubWithAccount } from './lib/setup.mjs';
import { createMeeting, links } from './lib/api.mjs';

const SCHEDULER = { username: 'lich-hop', name: 'Cán bộ lập lịch', roles: ['scheduler'], password: 'Mat-khau-thu-nghiem-2025' };
/** The load tool, release build beside `cau`; CAU_LOAD_BIN overrides. */
const LOAD_BIN = path.resolve(process.env.CAU_LOAD_BIN ?? path.join(REPO_ROOT, 'target', 'release', 'cau-load'));

let setup;
let hub;
let bearer;
let chromium;
let firefox;

before(async () => {
  assert.ok(fs.existsSync(LOAD_BIN), `${LOAD_BIN} not found: cargo build --release --bin cau-load`);
  setup = await startHubWithAccount('replay', SCHEDULER);
  ({ hub, bearer } = setup);
  [chromium, firefox] = await Promise.all([
    launchChromium({ secureOrigins: [hub.url], logName: 'chromium-replay' }),
    launchFirefox({ secureOrigins: [hub.url], logName: 'firefox-replay' }),
  ]);
});

after(async () => {
  await Promise.all([closeBrowser(chromium), closeBrowser(firefox)]);
  await setup?.stop();
});

const view = (page) => page.evaluate(() => document.body.dataset.view);

/** Remote tiles with the names their participants joined with. */
const remoteNames = (page) =>
  page.$$eval('.tile[data-participant-id]', (tiles) =>
    tiles.filter((t) => t.dataset.self !== 'true').map((t) => t.textContent),
  );

test('browsers decode what cau-load replays, and cau-load receives whole', { timeout: 240_000 }, async () => {
  const start = Date.now();
  const { meeting } = await createMeeting(hub.origin, bearer, {
    title: 'Thử tải: điểm cầu mô phỏng và trình duyệt',
    agenda: '',
    start,
    end: start + 2 * 3600_000,
    weekly_until: null,
    host_unit: 'province:19',
    chair_unit: 'province:19',
    chair_person: 'Ông Nguyễn Văn Chủ',
    chair_user: null,
    scope: { root: 'province:19', tiers: ['province'], add: [], remove: [] },
    recorded: false,
  });
  const all = (await links(hub.origin, bearer, meeting.id)).filter((l) => l.role === 'official');
  assert.ok(all.length >= 4, 'four official links');
  const pageUrl = (link, name) => {
    const q = new URL(link.url).searchParams;
    q.set('name', name);
    q.set('autojoin', '1');
    return new URL(`meeting.html?${q}`, hub.url).href;
  };

  // The clip, made by the tool with ffmpeg.
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cau-replay-'));
  const clipDir = path.join(work, 'clip');
  const made = spawnSync(LOAD_BIN, ['make-clip', clipDir, '--seconds', '6', '--width', '640', '--height', '360'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(made.status, 0, `make-clip failed: ${made.stderr}`);

  // cau-load takes two links and replays the clip for 25 s once both joined.
  const linksFile = path.join(work, 'links.txt');
  fs.writeFileSync(linksFile, all.slice(0, 2).map((l) => l.url).join('\n') + '\n');
  const report = path.join(work, 'report.json');
  const logFile = path.join(ARTIFACTS_DIR, 'cau-load-replay.log');
  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const log = fs.openSync(logFile, 'w');
  const load = spawn(
    LOAD_BIN,
    [
      'province', '--url', hub.origin, '--links', linksFile, '--endpoints', '2',
      '--ip', TEST_ADDR, '--clip', clipDir, '--ramp', '1', '--settle', '2', '--duration', '25',
      '--json', report,
    ],
    { stdio: ['ignore', log, log], env: { ...process.env, RUST_LOG: 'warn' } },
  );
  const finished = new Promise((resolve) => load.once('exit', (code) => resolve(code)));

  try {
    // Two officials in browsers join while the simulated endpoints replay.
    const pages = [];
    for (const [browser, link, name] of [
      [chromium, all[2], 'Nguyễn Văn An'],
      [firefox, all[3], 'Trần Thị Bình'],
    ]) {
      const page = await newPage(browser);
      await page.goto(pageUrl(link, name));
      await waitFor(async () => (await view(page)) === 'meeting', {
        timeout: 25_000,
        message: `${name} in the meeting (${page.consoleLines.slice(-5).join(' | ')})`,
      });
      pages.push([name, page]);
    }
    for (const [name, page] of pages) {
      await waitFor(async () => (await remoteNames(page)).filter((t) => t.includes('sim ')).length === 2, {
        timeout: 30_000,
        message: `${name} sees the two simulated endpoints`,
      });
      // Decoded, not just received: frames of the clip's size, growing, and audio.
      const decoding = async () => {
        const s = await collectInboundStats(page);
        const video = Object.values(s.video).filter((v) => v.framesDecoded > 30 && v.frameWidth === 640);
        const audio = Object.values(s.audio).filter((a) => a.packetsReceived > 50);
        return video.length >= 2 && audio.length >= 2 ? s : null;
      };
      const first = await waitFor(decoding, { timeout: 30_000, message: `${name} decodes both replayed clips` });
      await waitFor(
        async () => {
          const now = await collectInboundStats(page);
          return Object.entries(first.video)
            .filter(([, v]) => v.frameWidth === 640)
            .every(([k, v]) => (now.video[k]?.framesDecoded ?? 0) > v.framesDecoded + 15);
        },
        { timeout: 15_000, message: `${name}: the replayed video keeps decoding` },
      );
      const s = await collectInboundStats(page);
      process.stdout.write(
        `# ${name}: ${Object.values(s.video)
          .map((v) => `${v.frameWidth}x${v.frameHeight} ${v.framesDecoded} frames, ${v.framesDropped} dropped`)
          .join('; ')}\n`,
      );
      await screenshot(page, `replay-${name.split(' ').pop().toLowerCase()}`);
    }
    // The browsers leave before cau-load ends, which then finds the hub as it was.
    for (const [, page] of pages) await page.close();

    const code = await withTimeout(finished, 120_000, 'cau-load');
    const r = JSON.parse(fs.readFileSync(report, 'utf8'));
    const table = fs.readFileSync(logFile, 'utf8');
    assert.equal(code, 0, `cau-load exit status\n${table}`);
    assert.equal(r.endpoints_connected, 2, table);
    assert.equal(r.errors.count, 0, table);
    // The two simulated endpoints receive each other's audio and video, whole.
    assert.equal(r.media.streams, 4, table);
    assert.equal(r.media.streams_missing, 0, table);
    assert.equal(r.media.damaged, 0, table);
    assert.equal(r.media.packets_received, r.media.packets_expected, table);
    assert.equal(r.leftovers.endpoints, 0, table);
  } finally {
    if (load.exitCode === null) load.kill('SIGKILL');
    fs.closeSync(log);
    fs.rmSync(work, { recursive: true, force: true });
  }
});
