// The meeting page's protocol-3 features in real Chromium, against a scripted stand-in for
// the hub (lib/fake-hub.mjs: the websocket protocol, and media forwarded by a browser page),
// so that the page can be checked without `cau`: receive slots mapped to participants and
// decoded, grid and speaker layouts, the tile heights sent in `receive`, raising a hand and
// the chair's queue, giving and taking the floor, chat (as text, never HTML), the chair's
// mute that cannot be undone until allowed, the settings menu (receive mode, weak link with
// the encodings it leaves active, layout), `layers`, reconnection after the websocket
// breaks, removal, and the page at 390 px; the session's recording (`meeting_state.recording`):
// the header's indicator for everyone, the warning chairs alone get when it stops, also on
// joining a session whose recording already stopped. What the real hub does is floor.test.mjs's
// job.
//
// Runs inside scripts/netns-run (the Chromium test runs anywhere: the fake hub binds
// CAU_TEST_ADDR; the Firefox one needs the namespace).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { TEST_ADDR, closeBrowser, launchChromium, launchFirefox, newPage, screenshot, waitFor } from './lib/browsers.mjs';
import { startFakeHub } from './lib/fake-hub.mjs';
import { inMeeting, selfId, expectDecoding, tiles, cameraSize, pageErrors, view, click } from './lib/meeting-page.mjs';

const U = (id, name, tier) => ({ id, code: id.split(':')[1], name, tier });
const TOKENS = {
  chair: { unit: U('province:19', 'Tỉnh Thái Nguyên', 'province'), role: 'chair' },
  an: { unit: U('commune:5431', 'Phường Quán Triều', 'commune'), role: 'official' },
  binh: { unit: U('commune:5434', 'Phường Quang Vinh', 'commune'), role: 'official' },
  dung: { unit: U('commune:5437', 'Xã Phúc Hà', 'commune'), role: 'official' },
};
const NAMES = { chair: 'Nguyễn Văn Chủ', an: 'Lê Văn An', binh: 'Trần Thị Bình', dung: 'Hoàng Văn Dũng' };

let chromium;
let hub;
const pages = {};
const ids = {};

before(async () => {
  // A recorded meeting: the pre-join screen says so (the last test).
  hub = await startFakeHub({ host: TEST_ADDR, tokens: TOKENS, meeting: { recorded: true } });
  // The fake hub's media page and the clients share one Chromium.
  chromium = await launchChromium({ window: { width: 1100, height: 720 }, logName: 'chromium-meeting-ui', secureOrigins: [hub.url] });
  await hub.attachMedia(chromium);
});

after(async () => {
  await hub?.close();
  await closeBrowser(chromium);
});

async function open(tok, extra = {}, browser = chromium) {
  const page = await newPage(browser);
  await cameraSize(page, 320, 240);
  const q = new URLSearchParams({ meeting: '7', token: tok, name: NAMES[tok], autojoin: '1', ...extra });
  await page.goto(`${hub.url}meeting.html?${q}`);
  await inMeeting(page, NAMES[tok]);
  pages[tok] = page;
  ids[tok] = await selfId(page);
  return page;
}

const attr = (page, sel, name) => page.$eval(sel, (e, n) => e.getAttribute(n), name);
const hidden = (page, sel) => page.$eval(sel, (e) => e.hidden || e.closest('[hidden]') != null);

test('slots, layouts, hands, floor, chat, the chair’s mute, settings, layers, reconnection, removal', { timeout: 240_000 }, async () => {
  const chair = await open('chair');
  const an = await open('an');
  const binh = await open('binh');

  // Every client decodes the others' video through the slots that carry them.
  for (const [who, page] of Object.entries(pages)) {
    for (const [other, id] of Object.entries(ids)) {
      if (other !== who) await expectDecoding(page, id, `${who} ← ${other}`);
    }
  }
  // Three participants: the grid, everyone the same size; the real heights went to the hub.
  assert.equal(await attr(an, '#stage', 'data-layout'), 'grid');
  const grid = await tiles(an);
  assert.equal(grid.length, 2);
  assert.ok(grid.every((t) => t.size === 'grid'), JSON.stringify(grid));
  await waitFor(() => hub.received(NAMES.an, 'receive').some((m) => m.large_height > 0 && m.small_height > 0),
    { message: 'An tells the hub its tile heights' });
  assert.deepEqual(hub.received(NAMES.an, 'offer').length, 1, 'one offer');
  await screenshot(an, 'ui-grid');

  // An raises a hand: the button says so, the chair's queue lists An with "give the floor".
  await click(an, '#raise-hand');
  await waitFor(async () => (await attr(an, '#raise-hand', 'aria-pressed')) === 'true', { message: 'An’s hand is up' });
  assert.equal(await hidden(chair, '#raise-hand'), true, 'chairs raise no hands');
  await waitFor(async () => (await chair.$eval('#people-badge', (e) => e.textContent)) === '1', { message: 'the chair sees one hand' });
  await click(chair, '#toggle-people');
  await chair.waitForSelector(`#hands-queue li[data-participant-id="${ids.an}"]`);
  await screenshot(chair, 'ui-hands-queue');
  await click(chair, `#hands-queue li[data-participant-id="${ids.an}"] button[data-action="floor"]`);

  // The floor: the speaker layout everywhere, An's tile large and spotlighted; An's notice.
  for (const who of ['chair', 'binh']) {
    await waitFor(async () => {
      const t = (await tiles(pages[who])).find((x) => x.id === ids.an);
      return t?.floor && t.size === 'large' && (await attr(pages[who], '#stage', 'data-layout')) === 'speaker';
    }, { message: `${who} shows An large with the floor` });
  }
  const bt = await tiles(binh);
  const anTile = bt.find((x) => x.id === ids.an);
  const chairTile = bt.find((x) => x.id === ids.chair);
  assert.ok(anTile.width > chairTile.width, `the floor holder is the largest (${anTile.width} > ${chairTile.width})`);
  assert.equal(await hidden(an, '#floor-notice'), false, 'An is told it has the floor');
  assert.equal(await attr(an, '#raise-hand', 'aria-pressed'), 'false', 'the hand went down with the floor');
  await expectDecoding(binh, ids.an, 'Bình ← An (floor)');
  await screenshot(binh, 'ui-speaker-floor');
  await screenshot(an, 'ui-floor-notice');

  // The chair takes the floor back.
  await click(chair, '#take-floor');
  await waitFor(async () => (await tiles(binh)).every((x) => !x.floor) && (await attr(binh, '#stage', 'data-layout')) === 'grid',
    { message: 'nobody has the floor; the grid again' });
  assert.equal(await hidden(an, '#floor-notice'), true);

  // Chat: to everyone, as text; the unread count on a closed panel.
  await click(binh, '#toggle-chat');
  await binh.type('#chat-input', '<img src=x onerror="window.pwned=1"> Xin chào');
  await binh.keyboard.press('Enter');
  await waitFor(async () => (await chair.$eval('#chat-badge', (e) => e.textContent)) === '1', { message: 'the chair has one unread message' });
  await click(chair, '#toggle-chat');
  const msg = await chair.$eval('#chat-log .chat-msg', (li) => ({ from: li.dataset.from, text: li.querySelector('.chat-text').textContent, imgs: li.querySelectorAll('img').length }));
  assert.deepEqual(msg, { from: ids.binh, text: '<img src=x onerror="window.pwned=1"> Xin chào', imgs: 0 });
  assert.equal(await chair.evaluate(() => window.pwned), undefined);
  assert.equal(await chair.$eval('#chat-badge', (e) => e.textContent), '', 'opening the panel reads the messages');
  // To the chair only: An does not get it.
  await binh.select('#chat-to', 'chair');
  await binh.type('#chat-input', 'Riêng chủ trì');
  await click(binh, '#chat-send');
  await waitFor(async () => (await chair.$$('#chat-log .chat-msg[data-to="chair"]')).length === 1, { message: 'the chair gets the private message' });
  await waitFor(async () => (await an.$eval('#chat-badge', (e) => e.textContent)) === '1', { message: 'An got the first message only' });
  await screenshot(chair, 'ui-chat');

  // The roll call (loaded for chairs only) shows what the hub reports.
  hub.sendTo(NAMES.chair, {
    type: 'roll_call', connected: 2, invited: 3,
    units: [
      { unit_id: 'province:19', name: 'Tỉnh Thái Nguyên', tier: 'province', parent: null, status: 'connected', participants: 1, since: Date.now(), rtt_ms: 3, loss: 0, jitter_ms: 1, bitrate_kbps: 600 },
      { unit_id: 'commune:5431', name: 'Phường Quán Triều', tier: 'commune', parent: null, status: 'connected', participants: 1, since: Date.now(), rtt_ms: 40, loss: 0.01, jitter_ms: 5, bitrate_kbps: 300 },
      { unit_id: 'commune:9999', name: 'Xã Vắng Mặt', tier: 'commune', parent: null, status: 'not_yet', participants: 0, since: null, rtt_ms: null, loss: null, jitter_ms: null, bitrate_kbps: null },
    ],
  });
  await click(chair, '#toggle-roll-call');
  await waitFor(async () => (await chair.$$('#roll-call tr[data-unit-id]')).length === 3, { message: 'the roll call lists three units' });
  assert.equal(await chair.$eval('#roll-call-badge', (e) => e.textContent), '2/3');
  assert.equal(await hidden(chair, '#chat-panel'), true, 'one side panel at a time');

  // The chair forbids self-unmute and mutes Bình: Bình is told, and cannot unmute.
  await click(chair, '#toggle-people');
  await click(chair, '#allow-unmute');
  await waitFor(() => hub.session.self_unmute === false, { message: 'self-unmute off' });
  await click(chair, `#people-list li[data-participant-id="${ids.binh}"] button[data-action="mute-audio"]`);
  await waitFor(async () => !(await hidden(binh, '#chair-mute-notice')), { message: 'Bình sees the chair’s mute' });
  assert.equal(await attr(binh, '#chair-mute-notice', 'data-may-unmute'), 'false');
  assert.equal(await attr(binh, '#toggle-mic', 'aria-pressed'), 'true');
  assert.equal(await attr(binh, '#toggle-mic', 'data-chair-muted'), 'true');
  const mutesBefore = hub.received(NAMES.binh, 'mute').length;
  await click(binh, '#toggle-mic');
  await waitFor(() => binh.$$eval('.toast.error', (ts) => ts.some((t) => /chưa cho phép/.test(t.textContent))), { message: 'a kind refusal' });
  assert.equal(await attr(binh, '#toggle-mic', 'aria-pressed'), 'true', 'still muted');
  assert.equal(hub.received(NAMES.binh, 'mute').length, mutesBefore, 'no unmute sent');
  await waitFor(async () => (await tiles(an)).find((x) => x.id === ids.binh)?.audioMuted, { message: 'An sees Bình muted' });
  await screenshot(binh, 'ui-chair-muted');
  // Allowed again: Bình unmutes.
  await click(chair, '#allow-unmute');
  await waitFor(async () => (await attr(binh, '#chair-mute-notice', 'data-may-unmute')) === 'true', { message: 'Bình may unmute now' });
  await click(binh, '#toggle-mic');
  await waitFor(async () => (await attr(binh, '#toggle-mic', 'aria-pressed')) === 'false', { message: 'Bình unmuted' });
  assert.equal(hub.received(NAMES.binh, 'mute').at(-1).muted, false);

  // Settings: audio only, weak link, layout; remembered.
  await click(an, '#toggle-settings');
  await click(an, 'input[name="receive-mode"][value="audio_only"]');
  await waitFor(() => hub.received(NAMES.an, 'receive').some((m) => m.mode === 'audio_only'), { message: 'receive mode audio_only' });
  await click(an, '#weak-link');
  const encodings = () => an.evaluate(() => window.cau.client.pc.getSenders().find((s) => s.track?.kind === 'video')
    .getParameters().encodings.map((e) => `${e.rid}:${e.active}`).join(' '));
  await waitFor(async () => (await encodings()) === 'q:true h:false f:false', { message: 'weak link: q only' });
  await screenshot(an, 'ui-settings');
  await click(an, 'input[name="layout"][value="speaker"]');
  assert.equal(await attr(an, '#stage', 'data-layout'), 'speaker');
  assert.deepEqual(await an.evaluate(() => [localStorage['cau.receiveMode'], localStorage['cau.weakLink'], localStorage['cau.layout']]), ['audio_only', '1', 'speaker']);
  await an.keyboard.press('Escape');
  assert.equal(await hidden(an, '#settings-menu'), true, 'Escape closes the menu');
    // Layers from the hub (weak link off first).
  await click(an, '#toggle-settings');
  await click(an, '#weak-link');
  await click(an, 'input[name="receive-mode"][value="auto"]');
  await click(an, 'input[name="layout"][value="auto"]');
  await an.keyboard.press('Escape');
  hub.sendTo(NAMES.an, { type: 'layers', rids: ['h'] });
  await waitFor(async () => (await encodings()) === 'q:false h:true f:false', { message: 'layers [h]' });
  hub.sendTo(NAMES.an, { type: 'layers', rids: ['q', 'h', 'f'] });
  await waitFor(async () => (await encodings()) === 'q:true h:true f:true', { message: 'layers [q h f]' });

  // The dominant speaker is marked.
  await hub.setDominant(NAMES.binh);
  await waitFor(async () => (await tiles(an)).find((x) => x.id === ids.binh)?.dominant, { message: 'An sees Bình as the dominant speaker' });

  // The websocket breaks: An's page says so and joins again by itself, as a new participant.
  const oldAn = ids.an;
  hub.dropSocket(NAMES.an);
  await waitFor(async () => !(await hidden(an, '#conn-banner')), { timeout: 10_000, message: 'the banner says the connection is lost' });
  await screenshot(an, 'ui-reconnecting');
  await waitFor(async () => (await hidden(an, '#conn-banner')) && (await selfId(an)) !== oldAn, { timeout: 30_000, message: 'An rejoined' });
  ids.an = await selfId(an);
  assert.equal(await an.evaluate(() => window.cau.state.stream.getTracks().filter((t) => t.readyState === 'live').length), 2, 'the same camera and microphone');
  await expectDecoding(chair, ids.an, 'chair ← An (rejoined)');
  await expectDecoding(an, ids.chair, 'An (rejoined) ← chair');

  // The chair removes Bình (after confirming): Bình sees why, and is not rejoining.
  await click(chair, `#people-list li[data-participant-id="${ids.binh}"] button[data-action="remove"]`);
  await chair.waitForSelector('#remove-dialog[open]');
  await screenshot(chair, 'ui-remove-dialog');
  await click(chair, '#remove-confirm');
  await waitFor(async () => (await view(binh)) === 'left', { message: 'Bình sees the left view' });
  assert.equal(await attr(binh, '#view-left', 'data-reason'), 'removed');
  assert.equal(await hidden(binh, '#rejoin'), true);
  await screenshot(binh, 'ui-removed');

  // 390 px wide: the controls fit, the stage still shows the others.
  await an.bringToFront();
  await an.setViewport({ width: 390, height: 780 });
  await waitFor(async () => {
    const t = await tiles(an);
    return t.length >= 1 && an.evaluate(() => [...document.querySelectorAll('.tile')].every((x) => x.getBoundingClientRect().right <= 390));
  }, { message: 'the tiles laid out within 390 px' });
  const fit = await an.evaluate(() => {
    const bar = document.querySelector('.control-bar');
    const visible = [...bar.querySelectorAll('.ctrl')].filter((b) => !b.hidden);
    return { bar: bar.scrollWidth <= bar.clientWidth, within: visible.every((b) => b.getBoundingClientRect().right <= window.innerWidth), doc: document.documentElement.scrollWidth <= 390 };
  });
  assert.deepEqual(fit, { bar: true, within: true, doc: true });
  await screenshot(an, 'ui-390');
  await click(an, '#toggle-people');
  await screenshot(an, 'ui-390-people');

  for (const [who, page] of Object.entries(pages)) assert.deepEqual(pageErrors(page), [], `no errors on ${who}'s page`);
});

test('a Firefox official publishes simulcast, follows layers and weak link, takes the floor and chats',
  { timeout: 120_000, skip: process.env.CAU_NETNS !== '1' && 'Firefox gathers no candidates outside scripts/netns-run' }, async () => {
    const firefox = await launchFirefox({ secureOrigins: [hub.url], logName: 'firefox-meeting-ui' });
    try {
      const chair = pages.chair;
      const dung = await open('dung', {}, firefox);
      const encodings = () => dung.evaluate(() => window.cau.client.pc.getSenders().find((s) => s.track?.kind === 'video')
        .getParameters().encodings.map((e) => `${e.rid}:${e.active}`).join(' '));
      assert.equal(await encodings(), 'q:true h:true f:true', 'three simulcast encodings');
      await expectDecoding(dung, ids.chair, 'Dũng (Firefox) ← chair');
      await expectDecoding(chair, ids.dung, 'chair ← Dũng (Firefox)');
      hub.sendTo(NAMES.dung, { type: 'layers', rids: ['h'] });
      await waitFor(async () => (await encodings()) === 'q:false h:true f:false', { message: 'Firefox follows layers [h]' });
      await dung.click('#toggle-settings');
      await dung.click('#weak-link');
      await waitFor(async () => (await encodings()) === 'q:true h:false f:false', { message: 'Firefox weak link: q only' });
      await dung.click('#weak-link');
      await dung.keyboard.press('Escape');
      // All layers again: the fake hub's media page decodes one stream only, often q.
      hub.sendTo(NAMES.dung, { type: 'layers', rids: ['q', 'h', 'f'] });
      await waitFor(async () => (await encodings()) === 'q:true h:true f:true', { message: 'Firefox follows layers [q h f]' });

      await dung.click('#raise-hand');
      if ((await attr(chair, '#toggle-people', 'aria-expanded')) !== 'true') await click(chair, '#toggle-people');
      await chair.waitForSelector(`#hands-queue li[data-participant-id="${ids.dung}"]`);
      await click(chair, `#hands-queue li[data-participant-id="${ids.dung}"] button[data-action="floor"]`);
      await waitFor(() => dung.$eval('#floor-notice', (e) => !e.hidden), { message: 'Dũng is told he has the floor' });
      await waitFor(async () => (await tiles(chair)).find((t) => t.id === ids.dung)?.size === 'large', { message: 'the chair shows Dũng large' });
      await expectDecoding(chair, ids.dung, 'chair ← Dũng with the floor');

      await dung.click('#toggle-chat');
      await dung.type('#chat-input', 'Xin chào từ Firefox');
      await dung.keyboard.press('Enter');
      await waitFor(() => chair.$$eval('#chat-log .chat-msg', (ms, id) => ms.some((m) => m.dataset.from === id), ids.dung), { message: 'the chair gets Dũng’s message' });
      await screenshot(dung, 'ui-firefox-floor');
      assert.deepEqual(pageErrors(dung), []);
      await dung.close();
    } finally {
      await closeBrowser(firefox);
    }
  });

test('the recording: an indicator for everyone; when it stops, a warning for the chair only (also on joining)', { timeout: 90_000 }, async () => {
  const chair = pages.chair ?? await open('chair');
  const an = pages.an ?? await open('an'); // 390 px wide after the first test: the phone's header
  const text = (page, sel) => page.$eval(sel, (e) => e.textContent.trim());
  const indicator = (page) => page.$eval('#recording-indicator', (e) => ({
    shown: !e.hidden, state: e.dataset.state ?? null, text: e.textContent.trim(),
  }));
  const indicatorIs = (page, state) => waitFor(async () => {
    const i = await indicator(page);
    return state == null ? !i.shown : i.shown && i.state === state;
  }, { message: `the indicator ${state ?? 'hidden'}` });

  // Not recorded: no indicator, no warning.
  for (const page of [chair, an]) {
    assert.deepEqual(await indicator(page), { shown: false, state: null, text: '' });
    assert.equal(await hidden(page, '#recording-warning'), true);
  }

  // Recording: a red dot and "Đang ghi hình" in everyone's header, inside the window.
  hub.setRecording({ state: 'recording', reason: null });
  for (const page of [chair, an]) {
    await indicatorIs(page, 'recording');
    assert.equal((await indicator(page)).text, 'Đang ghi hình');
    assert.equal(await hidden(page, '#recording-warning'), true, 'nothing to warn of while recording');
    const box = await page.$eval('#recording-indicator', (e) => {
      const r = e.getBoundingClientRect();
      return { inHeader: e.closest('.meeting-header') != null, w: r.width, right: r.right, vw: window.innerWidth };
    });
    assert.ok(box.inHeader && box.w > 0 && box.right <= box.vw, JSON.stringify(box));
  }
  assert.equal(await an.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), true, 'the 390 px header still fits');
  await screenshot(chair, 'ui-recording');
  await screenshot(an, 'ui-recording-390');

  // Stopped, the disk nearly full: grey "Đã dừng ghi hình" for everyone; the chair is warned, An is not.
  hub.setRecording({ state: 'stopped', reason: 'disk_low' });
  for (const page of [chair, an]) {
    await indicatorIs(page, 'stopped');
    assert.equal((await indicator(page)).text, 'Đã dừng ghi hình');
  }
  await waitFor(async () => !(await hidden(chair, '#recording-warning')), { message: 'the chair is warned' });
  assert.equal(await attr(chair, '#recording-warning', 'data-reason'), 'disk_low');
  assert.equal(await text(chair, '#recording-warning-text'),
    'Ghi hình đã dừng: ổ đĩa máy chủ sắp đầy. Phần đã ghi được giữ nguyên; hãy báo bộ phận kỹ thuật.');
  assert.equal(await hidden(an, '#recording-warning'), true, 'an official sees only the indicator change');
  await screenshot(chair, 'ui-recording-disk-low');
  // In English too.
  await click(chair, '#lang-switch-meeting');
  await waitFor(async () => (await indicator(chair)).text === 'Recording stopped', { message: 'the indicator in English' });
  assert.match(await text(chair, '#recording-warning-text'), /^Recording has stopped: the server's disk is almost full\./);
  await click(chair, '#lang-switch-meeting');
  await waitFor(async () => (await indicator(chair)).text === 'Đã dừng ghi hình', { message: 'back in Vietnamese' });

  // Closed by hand, it stays closed through later states...
  await click(chair, '#recording-warning-close');
  assert.equal(await hidden(chair, '#recording-warning'), true);
  hub.setRecording({ state: 'stopped', reason: 'disk_low' }); // the same stop, said again
  await hub.setDominant(NAMES.an); // and another message after it, so the state was surely handled
  await waitFor(async () => (await chair.evaluate(() => window.cau.client.dominantSpeaker)) === ids.an, { message: 'the chair got the later messages' });
  assert.equal(await hidden(chair, '#recording-warning'), true, 'a closed warning stays closed');
  // ...but a chair joining a session whose recording already stopped is told at once.
  await chair.reload();
  await inMeeting(chair, NAMES.chair);
  ids.chair = await selfId(chair);
  await waitFor(async () => !(await hidden(chair, '#recording-warning')), { message: 'the chair joining is warned' });
  assert.equal(await attr(chair, '#recording-warning', 'data-reason'), 'disk_low');
  assert.equal((await indicator(chair)).state, 'stopped');

  // The recorder failed: the chair is warned with that reason; An still only sees the indicator.
  await click(chair, '#recording-warning-close');
  hub.setRecording({ state: 'stopped', reason: 'failed' });
  await waitFor(async () => (await attr(chair, '#recording-warning', 'data-reason')) === 'failed' && !(await hidden(chair, '#recording-warning')),
    { message: 'the chair is warned of the failure' });
  assert.equal(await text(chair, '#recording-warning-text'),
    'Ghi hình đã dừng do lỗi của bộ ghi. Phần đã ghi được giữ nguyên; hãy báo bộ phận kỹ thuật.');
  assert.equal(await hidden(an, '#recording-warning'), true);
  assert.equal((await indicator(an)).state, 'stopped');
  await screenshot(chair, 'ui-recording-failed');

  // Not recorded any more: both gone.
  hub.setRecording(null);
  for (const page of [chair, an]) {
    await indicatorIs(page, null);
    assert.equal(await hidden(page, '#recording-warning'), true);
  }
  for (const [who, page] of Object.entries({ chair, an })) assert.deepEqual(pageErrors(page), [], `no errors on ${who}'s page`);
});

test('a recorded meeting says so before joining', { timeout: 60_000 }, async () => {
  const page = await newPage(chromium);
  await cameraSize(page, 320, 240);
  const q = new URLSearchParams({ meeting: '7', token: 'dung', lang: 'vi' });
  await page.goto(`${hub.url}meeting.html?${q}`);
  await waitFor(async () => (await view(page)) === 'prejoin', { message: 'the pre-join screen' });
  await waitFor(() => page.$eval('#greeting-title', (e) => e.textContent !== ''), { message: 'the greeting' });
  assert.equal(await hidden(page, '#greeting-recorded'), false, 'the note is shown');
  assert.equal(await page.$eval('#greeting-recorded', (e) => e.textContent.trim()), 'Cuộc họp này được ghi hình để lưu trữ.');
  await screenshot(page, 'ui-prejoin-recorded');
  await page.close();
});
