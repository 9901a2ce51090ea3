// The first meeting, end to end, in real browsers through the real pages and the real hub:
// two Chromium clients, then Chromium with Firefox, see and hear each other (getStats proves
// decoding), and a client joining later is seen by those already there (renegotiation).
//
// Runs inside scripts/netns-run: the hub and the browsers share CAU_TEST_ADDR (198.18.0.1).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  closeBrowser,
  collectInboundStats,
  launchChromium,
  launchFirefox,
  newPage,
  screenshot,
  waitFor,
} from './lib/browsers.mjs';
import { startHub } from './lib/hub.mjs';

let hub;
let chromium;
let firefox;

before(async () => {
  hub = await startHub();
  // The hub must exist first: its exact origin is what the browsers treat as secure.
  [chromium, firefox] = await Promise.all([
    launchChromium({ secureOrigins: [hub.url], logName: 'chromium-meeting' }),
    launchFirefox({ secureOrigins: [hub.url], logName: 'firefox-meeting' }),
  ]);
});

after(async () => {
  await Promise.all([closeBrowser(chromium), closeBrowser(firefox)]);
  await hub?.stop();
});

const view = (page) => page.evaluate(() => document.body.dataset.view);

/** Open the meeting page for a room as unit/name, pass the pre-join screen with a click. */
async function joinByLink(browser, { room, unit, name }) {
  const page = await newPage(browser);
  const q = new URLSearchParams({ room, unit, name });
  await page.goto(`${hub.url}meeting.html?${q}`);
  await waitFor(async () => (await view(page)) === 'prejoin', { message: `${name}: pre-join screen` });
  // Join is enabled once the camera and microphone have been tried, as a person sees it.
  await page.waitForSelector('#join:not([disabled])', { timeout: 15_000 });
  await page.click('#join');
  await waitFor(async () => (await view(page)) === 'meeting', {
    timeout: 20_000,
    message: `${name}: in the meeting (console: ${page.consoleLines.slice(-5).join(' | ')})`,
  });
  return page;
}

/** The start page: search the unit without diacritics, type a name, pick the room, continue. */
async function joinFromStartPage(browser, { search, unit, name, room }) {
  const page = await newPage(browser);
  await page.goto(hub.url);
  await page.waitForSelector('#unit-search');
  await page.type('#unit-search', search);
  const option = `[data-code="${unit}"]`;
  await page.waitForSelector(option, { visible: true });
  await page.click(option);
  await page.type('#display-name', name);
  await page.select('#room-select', room);
  await Promise.all([page.waitForNavigation(), page.click('#continue')]);
  assert.match(page.url(), /meeting\.html\?/);
  await waitFor(async () => (await view(page)) === 'prejoin', { message: `${name}: pre-join screen` });
  // Join is enabled once the camera and microphone have been tried, as a person sees it.
  await page.waitForSelector('#join:not([disabled])', { timeout: 15_000 });
  await page.click('#join');
  await waitFor(async () => (await view(page)) === 'meeting', { timeout: 20_000, message: `${name}: in the meeting` });
  return page;
}

/**
 * Wait until `page` decodes video and receives audio from `peers` others, and both keep
 * growing; returns the last stats.
 */
async function expectReceiving(page, peers, who) {
  const counts = async () => {
    const s = await collectInboundStats(page);
    const video = Object.values(s.video).filter((v) => v.framesDecoded > 15);
    const audio = Object.values(s.audio).filter((a) => a.packetsReceived > 25);
    return { s, video, audio };
  };
  const first = await waitFor(
    async () => {
      const c = await counts();
      return c.video.length >= peers && c.audio.length >= peers ? c : null;
    },
    { timeout: 30_000, message: `${who} decodes video and receives audio from ${peers} others` },
  );
  // Growing, not just once: every stream moves on.
  await waitFor(
    async () => {
      const now = await collectInboundStats(page);
      const grown = (kind, field) =>
        Object.entries(first.s[kind])
          .filter(([, v]) => v[field] > 0)
          .every(([k, v]) => (now[kind][k]?.[field] ?? 0) > v[field]);
      return grown('video', 'framesDecoded') && grown('audio', 'packetsReceived');
    },
    { timeout: 15_000, message: `${who}: frames and audio packets keep growing` },
  );
  return first.s;
}

const remoteTiles = (page) =>
  page.$$eval('.tile[data-participant-id]', (tiles) =>
    tiles.filter((t) => t.dataset.self !== 'true').map((t) => ({ id: t.dataset.participantId, text: t.textContent })),
  );

test('two Chromium clients see and hear each other; a third joining later is seen by both', async () => {
  const an = await joinFromStartPage(chromium, {
    search: 'van phong uy ban',
    unit: '19-S01',
    name: 'Nguyễn Văn An',
    room: '19',
  });
  const binh = await joinByLink(chromium, { room: '19', unit: '164', name: 'Trần Thị Bình' });

  await expectReceiving(an, 1, 'An');
  await expectReceiving(binh, 1, 'Bình');
  const anSees = await remoteTiles(an);
  assert.equal(anSees.length, 1);
  assert.match(anSees[0].text, /Trần Thị Bình/);
  assert.match(anSees[0].text, /Thành phố Thái Nguyên/, 'the tile names the unit');
  await screenshot(an, 'meeting-chromium-2');

  // A third client (Firefox) joins later: both see and hear it after the hub renegotiates.
  const cuong = await joinByLink(firefox, { room: '19', unit: '5431', name: 'Lê Văn Cường' });
  await expectReceiving(an, 2, 'An after Cường joined');
  await expectReceiving(binh, 2, 'Bình after Cường joined');
  await expectReceiving(cuong, 2, 'Cường');
  assert.equal((await remoteTiles(an)).length, 2);
  await screenshot(an, 'meeting-chromium-3');
  await screenshot(cuong, 'meeting-firefox-3');

  // Cường leaves with the button: the others' tiles for him go away.
  await cuong.click('#leave');
  await waitFor(async () => (await view(cuong)) === 'left', { message: 'Cường sees the left view' });
  await waitFor(async () => (await remoteTiles(an)).length === 1, { message: "An no longer shows Cường's tile" });
  await waitFor(async () => (await remoteTiles(binh)).length === 1, { message: "Bình no longer shows Cường's tile" });
  await screenshot(cuong, 'left-firefox');
  await Promise.all([an.close(), binh.close(), cuong.close()]);
});

test('Chromium and Firefox see and hear each other', async () => {
  const chi = await joinByLink(chromium, { room: '164', unit: '164', name: 'Phạm Minh Chi' });
  const dung = await joinByLink(firefox, { room: '164', unit: '5434', name: 'Hoàng Văn Dũng' });
  const chiStats = await expectReceiving(chi, 1, 'Chi (Chromium)');
  const dungStats = await expectReceiving(dung, 1, 'Dũng (Firefox)');
  const video = (s) => Object.values(s.video)[0];
  assert.ok(video(chiStats).frameWidth > 0, 'Chromium knows the size of what it decodes');
  assert.ok(video(dungStats).framesDecoded > 0);
  assert.match((await remoteTiles(dung))[0].text, /Phạm Minh Chi/);
  // Firefox's fake microphone plays a continuous tone: the hub's voice activity (from the
  // RFC 6464 audio level) marks Dũng as speaking on Chi's page.
  await waitFor(
    () => chi.$eval('.tile[data-participant-id]', (t) => t.dataset.speaking === 'true'),
    { timeout: 10_000, message: "Chi sees Dũng's speaking indicator" },
  );
  await screenshot(chi, 'meeting-chromium-firefox');
  await screenshot(dung, 'meeting-firefox-chromium');

  // Chi mutes the microphone and turns the camera off: Dũng's tile says so, and no more
  // frames are decoded; the camera back on, frames flow again.
  const chiTile = (attr) => dung.$eval('.tile[data-participant-id]', (t, a) => t.dataset[a], attr);
  const framesAtDung = async () => Object.values((await collectInboundStats(dung)).video)[0]?.framesDecoded ?? 0;
  await chi.click('#toggle-mic');
  await waitFor(async () => (await chiTile('audioMuted')) === 'true', { message: "Dũng sees Chi's microphone muted" });
  await chi.click('#toggle-camera');
  await waitFor(async () => (await chiTile('videoMuted')) === 'true', { message: "Dũng sees Chi's camera off" });
  // Frames stop: two samples a second apart decode at most a frame or two in flight.
  const stopped = await waitFor(
    async () => {
      const a = await framesAtDung();
      await new Promise((r) => setTimeout(r, 1000));
      return (await framesAtDung()) - a <= 2 ? a : null;
    },
    { timeout: 10_000, message: "Chi's video stops at Dũng" },
  );
  await screenshot(dung, 'meeting-firefox-camera-off');
  await chi.click('#toggle-camera');
  await waitFor(async () => (await chiTile('videoMuted')) === 'false', { message: "Dũng sees Chi's camera on" });
  await waitFor(async () => (await framesAtDung()) > stopped + 30, { message: "Chi's video resumes at Dũng" });
  await Promise.all([chi.close(), dung.close()]);
});
