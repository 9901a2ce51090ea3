// The meeting, end to end, in real browsers through the real pages and the real hub: a
// scheduler plans a meeting over the API and takes its join links; two Chromium clients,
// then Chromium with Firefox, open those links, see and hear each other (getStats on the
// receive slot that carries each participant proves decoding), and a client joining later is
// seen by those already there (through the fixed receive slots, without renegotiation).
//
// Runs inside scripts/netns-run: the hub and the browsers share CAU_TEST_ADDR (198.18.0.1).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  closeBrowser,
  launchChromium,
  launchFirefox,
  newPage,
  screenshot,
  waitFor,
} from './lib/browsers.mjs';
import { startHubWithAccount } from './lib/setup.mjs';
import { api, createMeeting, links } from './lib/api.mjs';
import { expectReceivingAll, framesOf, selfId, slotStats } from './lib/meeting-page.mjs';

const SCHEDULER = { username: 'lich-hop', name: 'Cán bộ lập lịch', roles: ['scheduler'], password: 'Mat-khau-thu-nghiem-2025' };

let setup;
let hub;
let bearer;
let chromium;
let firefox;

before(async () => {
  setup = await startHubWithAccount('meeting', SCHEDULER);
  ({ hub, bearer } = setup);
  // The hub must exist first: its exact origin is what the browsers treat as secure.
  [chromium, firefox] = await Promise.all([
    launchChromium({ secureOrigins: [hub.url], logName: 'chromium-meeting' }),
    launchFirefox({ secureOrigins: [hub.url], logName: 'firefox-meeting' }),
  ]);
});

after(async () => {
  await Promise.all([closeBrowser(chromium), closeBrowser(firefox)]);
  await setup?.stop();
});

const view = (page) => page.evaluate(() => document.body.dataset.view);

/**
 * Plans a meeting starting now (two hours) and returns {meeting, link(unitId, role)}, where
 * link() is the meeting page's address for that unit's join link, on the hub under test.
 */
async function planMeeting({ title, host, scope }) {
  const start = Date.now();
  const { meeting } = await createMeeting(hub.origin, bearer, {
    title,
    agenda: '1. Kiểm tra kết nối các điểm cầu.',
    start,
    end: start + 2 * 3600_000,
    weekly_until: null,
    host_unit: host,
    chair_unit: host,
    chair_person: 'Ông Nguyễn Văn Chủ',
    chair_user: null,
    scope,
    recorded: false,
    acknowledge_conflicts: true, // the meetings of this file share units on purpose
  });
  const all = await links(hub.origin, bearer, meeting.id);
  const link = (unitId, role = 'official') => {
    const found = all.find((l) => l.unit?.id === unitId && l.role === role);
    assert.ok(found, `a ${role} link for ${unitId} (links: ${all.map((l) => `${l.unit?.id}/${l.role}`).join(', ')})`);
    // The link as issued, on the address the browsers reach the hub by.
    const issued = new URL(found.url);
    assert.equal(issued.pathname.replace(/^.*\//, ''), 'meeting.html', `link url ${found.url}`);
    return new URL(`meeting.html${issued.search}`, hub.url).href;
  };
  return { meeting, link };
}

/** Ends a meeting through the API (a later test may reuse its units and room). */
async function endMeeting(meeting) {
  await api(hub.origin, bearer, 'POST', `/api/meetings/${meeting.id}/end`).catch(() => {});
}

/** Waits for the pre-join screen, checks the greeting, clicks Join, waits for the meeting. */
async function passPrejoin(page, { name, unitName, title, typeName = false }) {
  await waitFor(async () => (await view(page)) === 'prejoin', {
    message: `${name}: pre-join screen (console: ${page.consoleLines.slice(-5).join(' | ')})`,
  });
  assert.equal(await page.$eval('#greeting-title', (e) => e.textContent), title, 'the greeting names the meeting');
  assert.equal(await page.$eval('#greeting-unit', (e) => e.textContent), unitName, 'the greeting names the unit of the link');
  assert.equal(await page.$eval('#greeting-role', (e) => e.dataset.role), 'official');
  assert.equal(await page.$eval('#greeting-recorded', (e) => e.hidden), true, 'not recorded: nothing says it is');
  if (typeName) await page.type('#display-name', name);
  // Join is enabled once the camera and microphone have been tried, as a person sees it.
  await page.waitForSelector('#join:not([disabled])', { timeout: 15_000 });
  await page.click('#join');
  await waitFor(async () => (await view(page)) === 'meeting', {
    timeout: 20_000,
    message: `${name}: in the meeting (console: ${page.consoleLines.slice(-5).join(' | ')})`,
  });
}

/** Opens the meeting page from a join link, with the name given in the address. */
async function joinByLink(browser, url, { name, unitName, title, autojoin = false }) {
  const page = await newPage(browser);
  const target = new URL(url);
  target.searchParams.set('name', name);
  if (autojoin) {
    target.searchParams.set('autojoin', '1');
    await page.goto(target.href);
    await waitFor(async () => (await view(page)) === 'meeting', {
      timeout: 25_000,
      message: `${name}: in the meeting by autojoin (console: ${page.consoleLines.slice(-5).join(' | ')})`,
    });
    return page;
  }
  await page.goto(target.href);
  await passPrejoin(page, { name, unitName, title });
  return page;
}

/** The start page: paste the join link, open it, type the name, join. */
async function joinFromStartPage(browser, url, { name, unitName, title }) {
  const page = await newPage(browser);
  await page.goto(hub.url);
  await page.waitForSelector('#join-link');
  await page.type('#join-link', url);
  await Promise.all([page.waitForNavigation(), page.click('#join-link-go')]);
  assert.match(page.url(), /meeting\.html\?meeting=\d+&token=/);
  await passPrejoin(page, { name, unitName, title, typeName: true });
  return page;
}

/**
 * Wait until `page` decodes video from `peers` others (each through the receive slot that
 * carries it, protocol.md) and receives audio on the audio slots, all growing.
 */
const expectReceiving = (page, peers, who) => expectReceivingAll(page, peers, who);

const remoteTiles = (page) =>
  page.$$eval('.tile[data-participant-id]', (tiles) =>
    tiles.filter((t) => t.dataset.self !== 'true').map((t) => ({ id: t.dataset.participantId, text: t.textContent })),
  );

/** Uncaught exceptions and console errors of a page. */
const pageErrors = (page) => page.consoleLines.filter((l) => l.startsWith('pageerror') || l.startsWith('error:'));

test('two Chromium clients see and hear each other; a third joining later is seen by both', async () => {
  const title = 'Giao ban trực tuyến tháng 12';
  const { meeting, link } = await planMeeting({
    title,
    host: 'province:19',
    scope: { root: 'province:19', tiers: ['province'], add: ['district:164', 'commune:5431'], remove: [] },
  });
  try {
    const an = await joinFromStartPage(chromium, link('province:19-S01'), {
      name: 'Nguyễn Văn An',
      unitName: 'Văn phòng Ủy ban nhân dân tỉnh',
      title,
    });
    const binh = await joinByLink(chromium, link('district:164'), {
      name: 'Trần Thị Bình',
      unitName: 'Thành phố Thái Nguyên',
      title,
    });

    await expectReceiving(an, 1, 'An');
    await expectReceiving(binh, 1, 'Bình');
    const anSees = await remoteTiles(an);
    assert.equal(anSees.length, 1);
    assert.match(anSees[0].text, /Trần Thị Bình/);
    assert.match(anSees[0].text, /Thành phố Thái Nguyên/, 'the tile names the unit of the link');
    assert.equal(await an.$eval('#meeting-room', (e) => e.textContent), title, 'the header names the meeting');
    // Officials have no chair controls.
    assert.equal(await an.$eval('#toggle-roll-call', (e) => e.hidden), true);
    assert.equal(await an.$eval('#end-meeting', (e) => e.hidden), true);
    await screenshot(an, 'meeting-chromium-2');

    // A third client (Firefox) joins later: both see and hear it after the hub renegotiates.
    const cuong = await joinByLink(firefox, link('commune:5431'), {
      name: 'Lê Văn Cường',
      unitName: 'Phường Quán Triều',
      title,
      autojoin: true,
    });
    await expectReceiving(an, 2, 'An after Cường joined');
    await expectReceiving(binh, 2, 'Bình after Cường joined');
    await expectReceiving(cuong, 2, 'Cường');
    assert.equal((await remoteTiles(an)).length, 2);
    await screenshot(an, 'meeting-chromium-3');
    await screenshot(cuong, 'meeting-firefox-3');

    // Cường leaves with the button: the others' tiles for him go away.
    await cuong.click('#leave');
    await waitFor(async () => (await view(cuong)) === 'left', { message: 'Cường sees the left view' });
    assert.equal(await cuong.$eval('#view-left', (e) => e.dataset.reason), 'left');
    await waitFor(async () => (await remoteTiles(an)).length === 1, { message: "An no longer shows Cường's tile" });
    await waitFor(async () => (await remoteTiles(binh)).length === 1, { message: "Bình no longer shows Cường's tile" });
    await screenshot(cuong, 'left-firefox');
    assert.deepEqual(pageErrors(an), [], 'no errors on An’s page');
    await Promise.all([an.close(), binh.close(), cuong.close()]);
  } finally {
    await endMeeting(meeting);
  }
});

test('Chromium and Firefox see and hear each other', async () => {
  const title = 'Họp thành phố Thái Nguyên';
  const { meeting, link } = await planMeeting({
    title,
    host: 'district:164',
    scope: { root: 'district:164', tiers: ['commune'], add: [], remove: [] },
  });
  try {
    const chi = await joinByLink(chromium, link('district:164'), { name: 'Phạm Minh Chi', unitName: 'Thành phố Thái Nguyên', title });
    const dung = await joinByLink(firefox, link('commune:5434'), { name: 'Hoàng Văn Dũng', unitName: 'Phường Quang Vinh', title });
    await expectReceiving(chi, 1, 'Chi (Chromium)');
    await expectReceiving(dung, 1, 'Dũng (Firefox)');
    const [chiId, dungId] = [await selfId(chi), await selfId(dung)];
    assert.ok((await slotStats(chi, dungId)).frameWidth > 0, 'Chromium knows the size of what it decodes');
    assert.ok((await framesOf(dung, chiId)) > 0);
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
    // Frames from Chi, on the slot that carries Chi (0 once no slot does).
    const framesAtDung = async () => (await framesOf(dung, chiId)) ?? 0;
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
  } finally {
    await endMeeting(meeting);
  }
});
