// Sharing a screen on the meeting page, in real Chromium against the scripted stand-in for the
// hub (lib/fake-hub.mjs: share_screen, stop_share, allow_second_share, screens first in the
// slots with their `source`), so that the page's side can be checked without `cau`: the
// chair's "Share screen" button (its fake 1280×720 screen), the presentation layout on the
// viewers (the screen large and uncropped, the speaker beside it, `receive` large_height the
// screen's), the presenter's own small labelled preview, a viewer pinning the screen full
// screen and leaving with Esc, an official without the floor kept from sharing (the button
// disabled, the hub's `forbidden` undone), the chair's stop of a share from the people list,
// and the layout going back when the share ends. What the real hub does is screen.test.mjs's.
//
// Runs inside scripts/netns-run (or anywhere: Chromium only, the fake hub binds CAU_TEST_ADDR).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { TEST_ADDR, closeBrowser, launchChromium, newPage, screenshot, waitFor } from './lib/browsers.mjs';
import { startFakeHub } from './lib/fake-hub.mjs';
import {
  inMeeting, selfId, tiles, cameraSize, screenSize, screenStats, screenTiles, pageErrors, click,
} from './lib/meeting-page.mjs';

const U = (id, name, tier) => ({ id, code: id.split(':')[1], name, tier });
const TOKENS = {
  chair: { unit: U('province:19', 'Tỉnh Thái Nguyên', 'province'), role: 'chair' },
  an: { unit: U('commune:5431', 'Phường Quán Triều', 'commune'), role: 'official' },
  binh: { unit: U('commune:5434', 'Phường Quang Vinh', 'commune'), role: 'official' },
};
const NAMES = { chair: 'Nguyễn Văn Chủ', an: 'Lê Văn An', binh: 'Trần Thị Bình' };

let chromium;
let hub;
const pages = {};
const ids = {};

before(async () => {
  hub = await startFakeHub({ host: TEST_ADDR, tokens: TOKENS });
  chromium = await launchChromium({ window: { width: 1100, height: 720 }, logName: 'chromium-screen-ui', secureOrigins: [hub.url] });
  await hub.attachMedia(chromium);
});

after(async () => {
  await hub?.close();
  await closeBrowser(chromium);
});

async function open(tok) {
  const page = await newPage(chromium);
  await cameraSize(page, 320, 240);
  await screenSize(page, 1280, 720, 5);
  const q = new URLSearchParams({ meeting: '7', token: tok, name: NAMES[tok], autojoin: '1', lang: 'vi' });
  await page.goto(`${hub.url}meeting.html?${q}`);
  await inMeeting(page, NAMES[tok]);
  pages[tok] = page;
  ids[tok] = await selfId(page);
  return page;
}

const attr = (page, sel, name) => page.$eval(sel, (e, n) => e.getAttribute(n), name);
const layout = (page) => attr(page, '#stage', 'data-layout');

test('the chair shares a screen: the presentation layout, pinning it, refusals, stopping', { timeout: 180_000 }, async () => {
  const chair = await open('chair');
  const an = await open('an');
  const binh = await open('binh');
  assert.equal(await layout(an), 'grid');

  // The button: the chair may share; an official without the floor may not (and is told why).
  assert.equal(await chair.$eval('#share-screen', (b) => b.hidden || b.disabled), false, 'the chair’s button is enabled');
  assert.equal(await attr(chair, '#share-screen', 'aria-label'), 'Chia sẻ màn hình');
  assert.equal(await an.$eval('#share-screen', (b) => b.disabled), true, 'An (no floor) cannot share');
  assert.match(await attr(an, '#share-screen', 'title'), /chủ trì hoặc người đang được mời phát biểu/);

  await click(chair, '#share-screen');
  await waitFor(() => hub.session.screens.includes(ids.chair), { message: 'the hub lists the chair’s share' });
  await waitFor(async () => (await attr(chair, '#share-screen', 'aria-pressed')) === 'true', { message: 'the button says sharing' });
  assert.equal(await attr(chair, '#share-screen', 'aria-label'), 'Dừng chia sẻ');
  const sent = await chair.evaluate(() => {
    const tr = window.cau.client.pc.getTransceivers()[2];
    const s = tr.sender.track.getSettings();
    return { width: s.width, height: s.height, hint: tr.sender.track.contentHint, encodings: tr.sender.getParameters().encodings.map((e) => `${e.rid}:${e.maxFramerate}`) };
  });
  assert.deepEqual(sent, { width: 1280, height: 720, hint: 'detail', encodings: ['h:5', 'f:5'] });
  assert.equal(hub.received(NAMES.chair, 'offer').length, 1, 'sharing needs no renegotiation');

  // The viewers: the presentation layout, the screen decoded, large, uncropped, labelled.
  for (const who of ['an', 'binh']) {
    const page = pages[who];
    await waitFor(async () => (await layout(page)) === 'presentation', { message: `${who}: the presentation layout` });
    const first = await waitFor(async () => {
      const s = await screenStats(page, ids.chair);
      return s?.framesDecoded > 0 ? s : null;
    }, { timeout: 30_000, message: `${who} decodes the chair’s screen` });
    await waitFor(async () => (await screenStats(page, ids.chair))?.framesDecoded >= first.framesDecoded + 5,
      { timeout: 20_000, message: `${who}: the screen’s frames keep coming (5 fps)` });
    const [scr] = await screenTiles(page);
    assert.equal(scr.id, ids.chair);
    assert.equal(scr.size, 'large');
    assert.equal(scr.text, 'Màn hình của Nguyễn Văn Chủ (Tỉnh Thái Nguyên)');
    for (const t of await tiles(page)) assert.ok(t.width * t.height < scr.width * scr.height / 3, `${who}: the screen is much the largest`);
    const fit = await page.$eval(`.tile[data-screen-of="${ids.chair}"] video`, (v) => getComputedStyle(v).objectFit);
    assert.equal(fit, 'contain', 'never cropped');
  }
  // The speaker beside the screen is the chair's camera (nobody has the floor or speaks).
  assert.equal((await tiles(an)).find((t) => t.id === ids.chair)?.size, 'side');
  // `receive` tells the hub the screen tile's height.
  const screenH = (await screenTiles(an))[0].height;
  await waitFor(() => {
    const last = hub.received(NAMES.an, 'receive').filter((m) => m.large_height != null).at(-1);
    return last && Math.abs(last.large_height - screenH) <= screenH * 0.1;
  }, { message: `An’s large_height is the screen’s (${screenH})` });
  // The presenter sees its own screen small and labelled, not large.
  await waitFor(async () => (await layout(chair)) === 'presentation', { message: 'the chair’s stage too' });
  const own = (await screenTiles(chair)).find((t) => t.self);
  assert.ok(own, 'the chair’s own preview');
  assert.equal(own.size, 'small');
  assert.equal(own.text, 'Màn hình của bạn');
  await screenshot(an, 'ui-screen-presentation');
  await screenshot(chair, 'ui-screen-presenter');

  // Bình pins the screen full screen, then leaves with Esc.
  await click(binh, `.tile[data-screen-of="${ids.chair}"] .screen-pin`);
  await waitFor(async () => (await screenTiles(binh))[0]?.pinned, { message: 'pinned' });
  const box = await binh.$eval(`.tile[data-screen-of="${ids.chair}"]`, (t) => {
    const r = t.getBoundingClientRect();
    return { w: r.width, h: r.height, W: window.innerWidth, H: window.innerHeight, exit: !t.querySelector('.screen-exit').hidden };
  });
  assert.ok(box.w >= box.W - 1 && box.h >= box.H - 1, `it fills the window (${JSON.stringify(box)})`);
  assert.equal(box.exit, true, 'with its exit button');
  await screenshot(binh, 'ui-screen-pinned');
  await binh.keyboard.press('Escape');
  await waitFor(async () => !(await screenTiles(binh))[0]?.pinned, { message: 'Esc leaves the full screen' });

  // An, without the floor, around the disabled button: the hub says forbidden, the page undoes it.
  const refused = await an.evaluate(async () => {
    const s = await navigator.mediaDevices.getDisplayMedia({ video: true });
    const track = s.getVideoTracks()[0];
    await window.cau.client.shareScreen(track);
    await new Promise((r) => setTimeout(r, 1500));
    return { sender: window.cau.client.pc.getTransceivers()[2].sender.track, ended: track.readyState, error: window.cau.lastError };
  });
  assert.deepEqual(refused, { sender: null, ended: 'ended', error: 'forbidden' });
  await waitFor(() => an.$$eval('.toast.error', (ts) => ts.some((t) => /Chưa chia sẻ được màn hình/.test(t.textContent))), { message: 'An is told why' });

  // An gets the floor; while the chair shares, An's button is disabled (busy); the chair allows
  // a second share, An shares: two screens large side by side.
  await chair.evaluate((id) => window.cau.client.giveFloor(id), ids.an);
  await waitFor(async () => (await attr(an, '#share-screen', 'data-refusal')) === 'busy', { message: 'An: busy' });
  await click(chair, '#toggle-people');
  await click(chair, '#allow-second-share');
  await waitFor(() => hub.session.second_share === true, { message: 'a second share allowed' });
  await waitFor(async () => !(await an.$eval('#share-screen', (b) => b.disabled)), { message: 'An may share now' });
  await click(an, '#share-screen');
  await waitFor(() => hub.session.screens.length === 2, { message: 'two shares' });
  await waitFor(async () => (await screenTiles(binh)).filter((t) => t.size === 'large').length === 2, { message: 'Bình shows both screens large' });
  await screenshot(binh, 'ui-screen-two');

  // The chair stops An's share from the people list (its tab in front: a background tab
  // does not render, and waitForSelector waits for a rendered frame).
  await chair.bringToFront();
  await chair.waitForSelector(`#people-list li[data-participant-id="${ids.an}"] button[data-action="stop-share"]:not([hidden])`);
  await click(chair, `#people-list li[data-participant-id="${ids.an}"] button[data-action="stop-share"]`);
  await waitFor(async () => (await attr(an, '#share-screen', 'aria-pressed')) === 'false', { message: 'An’s page stops sharing' });
  assert.equal(await an.evaluate(() => window.cau.client.pc.getTransceivers()[2].sender.track), null);
  await waitFor(async () => (await screenTiles(binh)).filter((t) => !t.self).length === 1, { message: 'one screen left' });

  // The chair stops its own share: everyone's stage goes back to its layout (the floor: speaker).
  await click(chair, '#share-screen');
  for (const who of ['an', 'binh']) {
    await waitFor(async () => (await layout(pages[who])) !== 'presentation' && (await screenTiles(pages[who])).length === 0,
      { message: `${who}: back from the presentation layout` });
  }
  assert.equal(await layout(binh), 'speaker', 'An still has the floor');
  assert.equal(await layout(chair), 'speaker');
  for (const [who, page] of Object.entries(pages)) assert.deepEqual(pageErrors(page), [], `no errors on ${who}'s page`);
});
