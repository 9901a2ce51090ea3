// The floor in a province-wide meeting, end to end with the real hub: five endpoints (the
// chair and three officials in Chromium, one official in Firefox; cameras at 320×240) in
// the speaker layout. Two officials raise their hands; the chair sees them queued in order
// and gives the floor to the first; every other client then decodes that official's video
// (framesDecoded growing on the receive slot whose `slots` entry names it, reason "floor"),
// and its tile is the large, spotlighted one. Audio goes as redundant audio (RED) between the
// hub and the Chromium clients and as plain Opus to Firefox, and all of them play it. The
// chair takes the floor back, forbids
// self-unmute and mutes one official, who is told so and cannot unmute — not from the page,
// and not by sending `mute` itself (the hub refuses with `forbidden`). Screenshots go to
// artifacts/.
//
// Runs inside scripts/netns-run: the hub and the browsers share CAU_TEST_ADDR (198.18.0.1).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { closeBrowser, launchChromium, launchFirefox, newPage, screenshot, waitFor } from './lib/browsers.mjs';
import { startHubWithAccount } from './lib/setup.mjs';
import { api, planLiveMeeting } from './lib/api.mjs';
import {
  inMeeting, selfId, slotOf, expectDecoding, tiles, cameraSize, click, pageErrors, recent, audioCodec,
} from './lib/meeting-page.mjs';

const SCHEDULER = { username: 'lich-hop', name: 'Cán bộ lập lịch', roles: ['scheduler'], password: 'Mat-khau-thu-nghiem-2025' };
const WINDOW = { width: 1280, height: 720 };

let setup;
let hub;
let bearer;
let chromium;
let firefox;

before(async () => {
  setup = await startHubWithAccount('floor', SCHEDULER);
  ({ hub, bearer } = setup);
  [chromium, firefox] = await Promise.all([
    launchChromium({ secureOrigins: [hub.url], window: WINDOW, logName: 'chromium-floor' }),
    launchFirefox({ secureOrigins: [hub.url], window: WINDOW, logName: 'firefox-floor' }),
  ]);
});

after(async () => {
  await Promise.all([closeBrowser(chromium), closeBrowser(firefox)]);
  await setup?.stop();
});

const attr = (page, sel, name) => page.$eval(sel, (e, n) => e.getAttribute(n), name);
const shown = (page, sel) => page.$eval(sel, (e) => !e.hidden && !e.closest('[hidden]'));
/** The hub's Prometheus counters, by name. */
async function metrics() {
  const text = await (await fetch(new URL('/metrics', hub.url))).text();
  return Object.fromEntries(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => {
    const [name, value] = l.split(' ');
    return [name, Number(value)];
  }));
}
const meetingState = (page) => page.evaluate(() => window.cau.client.meetingState);

/** Opens `link` in `browser` with a 320×240 camera and the speaker layout, joined. */
async function join(browser, link, name) {
  const page = await newPage(browser);
  await cameraSize(page, 320, 240);
  // Only in the hub's page: since the hub's responses carry the secure headers (most likely
  // Cross-Origin-Opener-Policy, which gives the page a fresh browsing context), Firefox also
  // runs this in an about:blank document first, where storage throws.
  await page.evaluateOnNewDocument(() => {
    if (location.protocol.startsWith('http')) localStorage.setItem('cau.layout', 'speaker');
  });
  const q = new URL(link.url).searchParams;
  q.set('name', name);
  q.set('autojoin', '1');
  await page.goto(new URL(`meeting.html?${q}`, hub.url).href);
  await inMeeting(page, name);
  return page;
}

test('hands, the floor for everyone, and a chair’s mute that holds', { timeout: 420_000 }, async () => {
  const title = 'Hội nghị trực tuyến toàn tỉnh — thử quyền phát biểu';
  const { meeting, linkOf } = await planLiveMeeting(hub.origin, bearer, {
    title,
    agenda: '1. Các địa phương báo cáo.',
    scope: { root: 'province:19', tiers: ['province'], add: ['district:164', 'commune:5431', 'commune:5434'], remove: [] },
    acknowledgeConflicts: true,
  });

  try {
    // Five endpoints: the chair first, then the officials.
    const chair = await join(chromium, linkOf('province:19', 'chair'), 'Nguyễn Văn Chủ');
    const an = await join(chromium, linkOf('province:19-S01'), 'Nguyễn Văn An');
    const binh = await join(chromium, linkOf('district:164'), 'Trần Thị Bình');
    const cuong = await join(chromium, linkOf('commune:5431'), 'Lê Văn Cường');
    const dung = await join(firefox, linkOf('commune:5434'), 'Hoàng Văn Dũng');
    const pages = { chair, an, binh, cuong, dung };
    const ids = {};
    for (const [k, p] of Object.entries(pages)) ids[k] = await selfId(p);
    assert.equal(await attr(chair, '#role-pill', 'hidden'), null, 'the chair is the chair');

    // Everyone in the speaker layout sees the chair large, and decodes the chair.
    for (const k of ['an', 'binh', 'cuong', 'dung']) {
      const page = pages[k];
      await waitFor(async () => (await tiles(page)).length === 4, { timeout: 30_000, message: `${k} sees four others (${recent(page)})` });
      assert.equal(await attr(page, '#stage', 'data-layout'), 'speaker');
      await waitFor(async () => (await tiles(page)).find((t) => t.id === ids.chair)?.size === 'large', { message: `${k} shows the chair large` });
      await expectDecoding(page, ids.chair, `${k} ← chair`);
    }
    await screenshot(cuong, 'floor-speaker-before');

    // An, then Bình, raise their hands: the chair's queue has them in that order.
    await click(an, '#raise-hand');
    await waitFor(async () => (await meetingState(chair)).hands.length === 1, { message: 'the chair knows of one hand' });
    await click(binh, '#raise-hand');
    await waitFor(async () => (await meetingState(chair)).hands.length === 2, { message: 'the chair knows of two hands' });
    await click(chair, '#toggle-people');
    await waitFor(async () => {
      const queue = await chair.$$eval('#hands-queue li[data-participant-id]', (lis) => lis.map((li) => li.dataset.participantId));
      return queue.length === 2 && queue[0] === ids.an && queue[1] === ids.binh;
    }, { message: 'the queue: An, then Bình' });
    assert.equal(await chair.$eval('#people-badge', (e) => e.textContent), '2');
    assert.equal(await attr(an, '#raise-hand', 'aria-pressed'), 'true');
    await screenshot(chair, 'floor-hands-queue');

    // The chair gives An the floor.
    await click(chair, `#hands-queue li[data-participant-id="${ids.an}"] button[data-action="floor"]`);
    await waitFor(async () => (await meetingState(an)).floor === ids.an, { message: 'An has the floor' });
    await waitFor(() => shown(an, '#floor-notice'), { message: 'An is told so' });
    assert.equal(await attr(an, '#raise-hand', 'aria-pressed'), 'false', 'An’s hand went down');
    assert.deepEqual((await meetingState(chair)).hands, [ids.binh], 'Bình still waits');

    // Every other client decodes An through the slot the hub says carries An, for the floor;
    // An's tile is the spotlighted large one, the largest on the stage.
    for (const k of ['chair', 'binh', 'cuong', 'dung']) {
      const page = pages[k];
      await waitFor(async () => (await slotOf(page, ids.an, 'video'))?.reason === 'floor', { message: `${k}: a video slot carries An for the floor` });
      await expectDecoding(page, ids.an, `${k} ← An (floor)`, { more: 20 });
      await waitFor(async () => {
        const t = await tiles(page);
        const anTile = t.find((x) => x.id === ids.an);
        return anTile?.floor && anTile.size === 'large' && t.every((x) => x === anTile || x.width * x.height < anTile.width * anTile.height);
      }, { message: `${k}: An's tile is the largest, with the floor` });
    }
    const audio = await slotOf(cuong, ids.an, 'audio');
    assert.ok(audio, 'an audio slot carries An for everyone');
    // Redundant audio where both sides support it. Chromium offers RED and the hub puts it
    // first in its answers and offers, so An (Chromium) sends RED and Chromium subscribers
    // get RED; Firefox does not offer it and gets plain Opus. getStats names the primary
    // codec either way, so RED is read from the SDP and the hub's counters, and every
    // subscriber must play An's audio with little concealed.
    const redIn = (page) => page.evaluate(() => /a=rtpmap:\d+ red\/48000\/2/.test(window.cau.client.pc.localDescription.sdp));
    assert.equal(await redIn(an), true, 'Chromium negotiates RED');
    const red = await waitFor(async () => {
      const m = await metrics();
      return m.cau_sfu_red_packets_received_total > 50 && m.cau_sfu_red_packets_sent_total > 50 ? m : null;
    }, { message: 'the hub receives RED from Chromium and sends RED to Chromium' });
    console.log(`RED: ${red.cau_sfu_red_packets_received_total} received, ${red.cau_sfu_red_packets_sent_total} sent, ${red.cau_sfu_audio_packets_recovered_total} recovered`);
    for (const k of ['chair', 'cuong', 'dung']) {
      const first = await waitFor(async () => {
        const a = await audioCodec(pages[k], ids.an);
        return a?.totalSamplesReceived > 0 ? a : null;
      }, { message: `${k} receives An's audio` });
      const later = await waitFor(async () => {
        const a = await audioCodec(pages[k], ids.an);
        return a && a.totalSamplesReceived >= first.totalSamplesReceived + 96_000 ? a : null;
      }, { message: `${k} plays two more seconds of An's audio` });
      const concealed = (later.concealedSamples - first.concealedSamples) / (later.totalSamplesReceived - first.totalSamplesReceived);
      console.log(`${k} ← An: ${later.mimeType}, RED negotiated ${await redIn(pages[k])}, ${(concealed * 100).toFixed(1)} % concealed`);
      assert.ok(concealed < 0.2, `${k}: ${(concealed * 100).toFixed(1)} % of An's audio concealed`);
    }
    for (const [k, page] of Object.entries(pages)) await screenshot(page, `floor-given-${k}`);

    // The chair takes the floor back.
    await click(chair, '#take-floor');
    for (const k of ['an', 'binh', 'cuong', 'dung']) {
      await waitFor(async () => (await meetingState(pages[k])).floor === null && (await tiles(pages[k])).every((t) => !t.floor),
        { message: `${k}: nobody has the floor` });
    }
    assert.equal(await shown(an, '#floor-notice'), false);
    await screenshot(binh, 'floor-taken-back');

    // The chair forbids self-unmute, then mutes Dũng (Firefox): Dũng is told, and stays muted.
    await click(chair, '#allow-unmute');
    await waitFor(async () => (await meetingState(chair)).selfUnmute === false, { message: 'self-unmute is off' });
    assert.equal(await attr(dung, '#toggle-mic', 'aria-pressed'), 'false', 'Dũng’s microphone is on');
    await click(chair, `#people-list li[data-participant-id="${ids.dung}"] button[data-action="mute-audio"]`);
    await waitFor(() => shown(dung, '#chair-mute-notice'), { message: 'Dũng sees the chair’s mute' });
    assert.equal(await attr(dung, '#chair-mute-notice', 'data-may-unmute'), 'false');
    assert.equal(await attr(dung, '#toggle-mic', 'aria-pressed'), 'true');
    assert.equal(await attr(dung, '#toggle-mic', 'data-chair-muted'), 'true');
    for (const k of ['chair', 'an', 'cuong']) {
      await waitFor(async () => (await tiles(pages[k])).find((t) => t.id === ids.dung)?.audioMuted, { message: `${k} sees Dũng muted` });
    }
    // From the page: the button refuses kindly.
    await dung.click('#toggle-mic');
    await waitFor(() => dung.$$eval('.toast.error', (ts) => ts.length > 0), { message: 'Dũng is told why' });
    assert.equal(await attr(dung, '#toggle-mic', 'aria-pressed'), 'true', 'still muted');
    assert.equal(await dung.evaluate(() => window.cau.client.muted.audio), true);
    await screenshot(dung, 'floor-muted-by-chair');
    // Around the page: the hub itself refuses an unmute, and nobody sees Dũng unmuted.
    await dung.evaluate(() => window.cau.client._send({ type: 'mute', kind: 'audio', muted: false }));
    await waitFor(async () => (await dung.evaluate(() => window.cau.lastError)) === 'forbidden', { message: 'the hub answers forbidden' });
    assert.equal(await dung.evaluate(() => window.cau.client.state), 'joined', 'the session goes on');
    await new Promise((r) => setTimeout(r, 1000)); // a mute_changed would have arrived by now
    assert.equal((await tiles(an)).find((t) => t.id === ids.dung)?.audioMuted, true, 'An still sees Dũng muted');
    assert.ok((await meetingState(chair)).chairMuted.some((m) => m.participantId === ids.dung && m.kind === 'audio'));

    for (const [k, page] of Object.entries(pages)) assert.deepEqual(pageErrors(page), [], `no errors on ${k}'s page`);
    await Promise.all(Object.values(pages).map((p) => p.close()));
  } finally {
    await api(hub.origin, bearer, 'POST', `/api/meetings/${meeting.id}/end`).catch(() => {});
  }
});
