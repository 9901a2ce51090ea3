// Sharing a screen, end to end with the real hub: the chair (Chromium) shares its screen —
// headless Chromium with the suite's flags answers getDisplayMedia without a prompt, here a
// fake 1280×720 screen at 5 fps — from the control bar's button. Two officials, one in
// Chromium and one in Firefox, decode the shared track through the receive slot whose `slots`
// entry says `source: "screen"` (framesDecoded growing, frameHeight 720 or 360: a layer of
// the screen, not the 320×240 camera), and their stage switches to the presentation layout
// (the screen tile is the large one, the speaker beside it). An official without the
// floor is refused (`forbidden`, undone on its page); given the floor while the chair shares,
// it gets `share_busy`; once the chair allows a second share it shares too, and the chair
// stops that share from the participant list. When the chair stops its own share the
// viewers' stage goes back to its layout. Screenshots (Vietnamese) go to artifacts/screen-*.
//
// Runs inside scripts/netns-run: the hub and the browsers share CAU_TEST_ADDR (198.18.0.1).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { closeBrowser, launchChromium, launchFirefox, newPage, screenshot, waitFor } from './lib/browsers.mjs';
import { startHubWithAccount } from './lib/setup.mjs';
import { api, planLiveMeeting } from './lib/api.mjs';
import {
  inMeeting, selfId, slotOf, expectDecoding, tiles, cameraSize, screenSize, screenStats, screenTiles, click, pageErrors, recent,
} from './lib/meeting-page.mjs';

const SCHEDULER = { username: 'lich-hop', name: 'Cán bộ lập lịch', roles: ['scheduler'], password: 'Mat-khau-thu-nghiem-2025' };
const WINDOW = { width: 1280, height: 720 };

let setup;
let hub;
let bearer;
let chromium;
let firefox;

before(async () => {
  setup = await startHubWithAccount('screen', SCHEDULER);
  ({ hub, bearer } = setup);
  [chromium, firefox] = await Promise.all([
    launchChromium({ secureOrigins: [hub.url], window: WINDOW, logName: 'chromium-screen' }),
    launchFirefox({ secureOrigins: [hub.url], window: WINDOW, logName: 'firefox-screen' }),
  ]);
});

after(async () => {
  await Promise.all([closeBrowser(chromium), closeBrowser(firefox)]);
  await setup?.stop();
});

const attr = (page, sel, name) => page.$eval(sel, (e, n) => e.getAttribute(n), name);
const layout = (page) => attr(page, '#stage', 'data-layout');
const meetingState = (page) => page.evaluate(() => window.cau.client.meetingState);

/** Opens `link` in `browser` (Vietnamese, a 320×240 camera, a 1280×720 screen), joined. */
async function join(browser, link, name) {
  const page = await newPage(browser);
  await cameraSize(page, 320, 240);
  await screenSize(page, 1280, 720, 5);
  const q = new URL(link.url).searchParams;
  q.set('name', name);
  q.set('autojoin', '1');
  q.set('lang', 'vi');
  await page.goto(new URL(`meeting.html?${q}`, hub.url).href);
  await inMeeting(page, name);
  return page;
}

/**
 * Waits until `page` decodes participant `id`'s screen through the slot that carries it
 * (source "screen", reason "screen") and the frames keep coming; returns the two readings.
 */
async function expectScreen(page, id, who) {
  const slot = await waitFor(async () => {
    const s = await slotOf(page, id, 'video', 'screen');
    return s?.reason === 'screen' ? s : null;
  }, { timeout: 30_000, message: `${who}: a video slot carries the screen (${recent(page)})` });
  const first = await waitFor(async () => {
    const s = await screenStats(page, id);
    return s?.framesDecoded > 0 && s.frameHeight ? s : null;
  }, { timeout: 30_000, message: `${who}: frames of the screen decoded` });
  // 5 fps: ten more frames is about two seconds.
  const later = await waitFor(async () => {
    const s = await screenStats(page, id);
    return s && s.framesDecoded >= first.framesDecoded + 10 ? s : null;
  }, { timeout: 30_000, message: `${who}: the screen's frames keep coming` });
  return { slot, first, later };
}

/** On `page`, shares a fresh capture with the client directly (around a disabled button); the error code it got, or null. */
const shareAround = (page) => page.evaluate(async () => {
  const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
  const track = stream.getVideoTracks()[0];
  const client = window.cau.client;
  const refused = new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), 8000);
    client.addEventListener('screen-share', (e) => {
      clearTimeout(timer);
      resolve(e.detail.sharing ? null : e.detail.code);
    }, { once: true });
  });
  const errored = new Promise((resolve) => {
    const timer = setTimeout(resolve, 8000);
    client.addEventListener('error', () => { clearTimeout(timer); resolve(); }, { once: true });
  });
  await client.shareScreen(track);
  const code = await refused;
  await errored;
  const sender = client.pc.getTransceivers()[2].sender;
  for (let i = 0; i < 40 && sender.track; i++) await new Promise((r) => setTimeout(r, 50)); // replaceTrack(null) settles
  return { code, sender: sender.track?.id ?? null, capture: track.readyState, lastError: window.cau.lastError };
});

test('the chair shares its screen; Chromium and Firefox decode it in the presentation layout; refusals, a second share, stops', { timeout: 420_000 }, async () => {
  const { meeting, linkOf } = await planLiveMeeting(hub.origin, bearer, {
    title: 'Hội nghị trực tuyến — trình chiếu báo cáo',
    agenda: '1. Sở Kế hoạch và Đầu tư trình bày báo cáo.',
    scope: { root: 'province:19', tiers: ['province'], add: ['commune:5431', 'commune:5434'], remove: [] },
    acknowledgeConflicts: true,
  });

  try {
    const chair = await join(chromium, linkOf('province:19', 'chair'), 'Nguyễn Văn Chủ');
    const an = await join(chromium, linkOf('commune:5431'), 'Lê Văn An');
    const dung = await join(firefox, linkOf('commune:5434'), 'Hoàng Văn Dũng');
    const pages = { chair, an, dung };
    const ids = {};
    for (const [k, p] of Object.entries(pages)) ids[k] = await selfId(p);
    for (const k of ['an', 'dung']) await expectDecoding(pages[k], ids.chair, `${k} ← chair's camera`);
    assert.notEqual(await layout(an), 'presentation');

    // The offer had three send m-lines: audio, camera, screen (no track yet).
    const sendLines = await chair.evaluate(() => window.cau.client.pc.localDescription.sdp.split(/\r\nm=/).slice(1)
      .filter((m) => /a=sendonly/.test(m)).map((m) => m.split(' ')[0]));
    assert.deepEqual(sendLines, ['audio', 'video', 'video']);

    // The chair shares from the control bar.
    assert.equal(await attr(chair, '#share-screen', 'aria-label'), 'Chia sẻ màn hình');
    await click(chair, '#share-screen');
    await waitFor(async () => (await meetingState(chair)).screens.includes(ids.chair), { message: 'the hub lists the chair’s share' });
    await waitFor(async () => (await attr(chair, '#share-screen', 'aria-pressed')) === 'true', { message: 'the button says sharing' });
    const sent = await chair.evaluate(() => {
      const sender = window.cau.client.pc.getTransceivers()[2].sender;
      const s = sender.track.getSettings();
      return {
        width: s.width, height: s.height, hint: sender.track.contentHint,
        encodings: sender.getParameters().encodings.map((e) => `${e.rid}:${e.active}:${e.maxFramerate}`),
      };
    });
    console.log(`chair sends its screen: ${JSON.stringify(sent)}`);
    assert.deepEqual({ width: sent.width, height: sent.height, hint: sent.hint }, { width: 1280, height: 720, hint: 'detail' });

    // Both officials decode the screen: a layer of the 1280×720 screen (720 or 360 lines).
    for (const k of ['an', 'dung']) {
      const { first, later } = await expectScreen(pages[k], ids.chair, k);
      const slot = await slotOf(pages[k], ids.chair, 'video', 'screen');
      console.log(`${k} ← chair's screen: mid ${slot.mid}, layer ${slot.layer}, framesDecoded ${first.framesDecoded} → ${later.framesDecoded}, ` +
        `${later.frameWidth}×${later.frameHeight}`);
      assert.ok([720, 360].includes(later.frameHeight), `${k}: the screen's height ${later.frameHeight}`);
      // …and still the chair's camera through another slot.
      const cam = await slotOf(pages[k], ids.chair, 'video');
      assert.ok(cam && cam.mid !== slot.mid, `${k}: the camera in a slot of its own`);
    }

    // The presentation layout: the screen tile is the large one, the speaker beside it.
    for (const k of ['an', 'dung']) {
      const page = pages[k];
      await waitFor(async () => (await layout(page)) === 'presentation', { message: `${k}: the presentation layout` });
      const scr = await waitFor(async () => {
        const [t] = await screenTiles(page);
        return t?.id === ids.chair && t.size === 'large' && t.hasVideo ? t : null;
      }, { message: `${k}: the chair’s screen tile is large and playing` });
      assert.equal(scr.text, 'Màn hình của Nguyễn Văn Chủ (Tỉnh Thái Nguyên)');
      for (const t of await tiles(page)) {
        assert.ok(t.width * t.height < (scr.width * scr.height) / 3, `${k}: ${t.id}'s tile is much smaller than the screen`);
      }
      // Beside the screen: the floor holder (nobody), else the dominant speaker, else a sharer's camera.
      await waitFor(async () => {
        const side = (await tiles(page)).filter((t) => t.size === 'side');
        const dominant = await page.evaluate(() => window.cau.state.dominant);
        const want = dominant && dominant !== (await selfId(page)) ? dominant : ids.chair;
        return side.length === 1 && side[0].id === want;
      }, { message: `${k}: the speaker beside the screen` });
    }
    // The presenter's own screen is a small preview.
    await waitFor(async () => (await screenTiles(chair)).some((t) => t.self && t.size === 'small'), { message: 'the chair’s own preview, small' });
    await screenshot(an, 'screen-viewer-vi');
    await screenshot(dung, 'screen-viewer-firefox');
    await screenshot(chair, 'screen-presenter');

    // An official without the floor is refused (its button is disabled; around it, the hub says forbidden).
    assert.equal(await an.$eval('#share-screen', (b) => b.disabled), true);
    const forbidden = await shareAround(an);
    assert.deepEqual(forbidden, { code: 'forbidden', sender: null, capture: 'ended', lastError: 'forbidden' });
    await waitFor(() => an.$$eval('.toast.error', (ts) => ts.some((t) => /Chưa chia sẻ được màn hình/.test(t.textContent))), { message: 'An is told why' });

    // Given the floor while the chair shares: share_busy.
    await chair.evaluate((id) => window.cau.client.giveFloor(id), ids.an);
    await waitFor(async () => (await meetingState(an)).floor === ids.an, { message: 'An has the floor' });
    await waitFor(async () => (await attr(an, '#share-screen', 'data-refusal')) === 'busy', { message: 'An’s button says busy' });
    const busy = await shareAround(an);
    assert.deepEqual(busy, { code: 'share_busy', sender: null, capture: 'ended', lastError: 'share_busy' });

    // The chair allows a second share; An shares from its button: both screens are shown.
    await click(chair, '#toggle-people');
    await click(chair, '#allow-second-share');
    await waitFor(async () => (await meetingState(an)).secondShare === true, { message: 'a second share is allowed' });
    await waitFor(async () => !(await an.$eval('#share-screen', (b) => b.disabled)), { message: 'An may share now' });
    await click(an, '#share-screen');
    await waitFor(async () => (await meetingState(chair)).screens.join() === [ids.chair, ids.an].join(), { message: 'two shares, in order' });
    const second = await expectScreen(dung, ids.an, 'dung ← An’s screen');
    console.log(`dung ← An's screen: framesDecoded ${second.first.framesDecoded} → ${second.later.framesDecoded}, ${second.later.frameWidth}×${second.later.frameHeight}`);
    await waitFor(async () => (await screenTiles(dung)).filter((t) => t.size === 'large').length === 2, { message: 'Dũng shows both screens large' });
    await screenshot(dung, 'screen-two-firefox');

    // The chair stops An's share from the participant list.
    const stop = `#people-list li[data-participant-id="${ids.an}"] button[data-action="stop-share"]`;
    await chair.bringToFront(); // a background tab renders no frame for waitForSelector
    await chair.waitForSelector(`${stop}:not([hidden])`);
    await click(chair, stop);
    await waitFor(async () => (await attr(an, '#share-screen', 'aria-pressed')) === 'false', { message: 'An’s page stopped sharing' });
    assert.equal(await an.evaluate(() => window.cau.client.pc.getTransceivers()[2].sender.track), null);
    // The chair's page hears of it by the same broadcast, a moment later or sooner.
    await waitFor(async () => (await meetingState(chair)).screens.join() === ids.chair, { message: 'the chair’s page lists its own share only' });
    await waitFor(async () => (await screenTiles(dung)).length === 1, { message: 'Dũng: one screen left' });

    // The chair stops its own share: the viewers' stage goes back (An has the floor: speaker).
    await click(chair, '#share-screen');
    await waitFor(async () => (await meetingState(an)).screens.length === 0, { message: 'nobody shares' });
    for (const k of ['an', 'dung']) {
      await waitFor(async () => (await layout(pages[k])) === 'speaker' && (await screenTiles(pages[k])).length === 0,
        { message: `${k}: back to the speaker layout` });
      assert.equal(await slotOf(pages[k], ids.chair, 'video', 'screen'), null, `${k}: no slot carries a screen`);
    }
    await expectDecoding(dung, ids.chair, 'dung ← chair’s camera after the share');
    await screenshot(dung, 'screen-after-firefox');
    assert.equal(await chair.evaluate(() => window.cau.client.pc.getTransceivers()[2].sender.track), null);

    for (const [k, page] of Object.entries(pages)) assert.deepEqual(pageErrors(page), [], `no errors on ${k}'s page`);
    await Promise.all(Object.values(pages).map((p) => p.close()));
  } finally {
    await api(hub.origin, bearer, 'POST', `/api/meetings/${meeting.id}/end`).catch(() => {});
  }
});
