// The archivists' page, end to end with the real hub: a scheduler plans a recorded meeting;
// the chair (Chromium, fake camera and its tone) and an official (Firefox) meet for a few
// seconds and leave; the recording turns `ready`. An archivist signs in on archive.html,
// finds the meeting by typing its title without diacritics, opens the session (the address
// says so, and the back button returns to the list), plays the chair's file in the page's
// <video> — frames of a real size, time moving, a seek two seconds in that lands and plays on
// (range requests) —, jumps to a turn of speech when the hub saw one, downloads the file and
// the whole session through the page's links (the .tar holds SHA256SUMS and the manifest),
// verifies the session (every file intact), and reads plays, downloads and the verification
// in the access log. A scheduler without the archivist role is told the page is for
// archivists (and the API refuses it). Retention: the recording took its meeting's class
// ("general", 10 years), an archivist classifies it again (20 years), its date is then moved
// into the past in the database (sqlite3), the "expired only" search finds it, and it is
// destroyed through the dialog (the session's number typed back, a reason) — after which the
// page shows who destroyed it, when and why, plays nothing, and its files answer 410.
// Screenshots in Vietnamese: artifacts/archive-*.png.
//
// Runs inside scripts/netns-run: the hub and the browsers share CAU_TEST_ADDR (198.18.0.1).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { closeBrowser, launchChromium, launchFirefox, newPage, screenshot, waitFor } from './lib/browsers.mjs';
import { startHubWithAccount } from './lib/setup.mjs';
import { api, planLiveMeeting } from './lib/api.mjs';
import { inMeeting, selfId, expectDecoding, cameraSize, click, pageErrors, view } from './lib/meeting-page.mjs';

const SCHEDULER = { username: 'lich-hop', name: 'Cán bộ lập lịch', roles: ['scheduler'], password: 'Mat-khau-thu-nghiem-2025' };
const ARCHIVIST = { username: 'luu-tru', name: 'Trần Thị Lưu Trữ', roles: ['archivist'], password: 'Mat-khau-luu-tru-2025' };
const TITLE = 'Giao ban trực tuyến phòng chống thiên tai tháng 12';
const QUERY = 'phong chong thien tai'; // the title without its diacritics
const OFFICIAL_UNIT = 'commune:5434';

let setup;
let hub;
let chromium;
let firefox;
let archivistBearer;
let recorded = null; // {summary, detail} of the session the first test recorded

before(async () => {
  setup = await startHubWithAccount('archive', SCHEDULER, {}, [ARCHIVIST]);
  hub = setup.hub;
  archivistBearer = setup.bearers[ARCHIVIST.username];
  [chromium, firefox] = await Promise.all([
    launchChromium({ secureOrigins: [hub.url], logName: 'chromium-archive' }),
    // A page made a secure context by the allowlist has its http:// media upgraded to https://
    // by Firefox (mixed content), where the test's hub does not answer: keep the video on http.
    launchFirefox({ secureOrigins: [hub.url], prefs: { 'security.mixed_content.upgrade_display_content': false }, logName: 'firefox-archive' }),
  ]);
});

after(async () => {
  await Promise.all([closeBrowser(chromium), closeBrowser(firefox)]);
  await setup?.stop();
});

async function join(browser, link, name) {
  const page = await newPage(browser);
  await cameraSize(page, 320, 240);
  const q = new URL(link.url).searchParams;
  q.set('name', name);
  q.set('autojoin', '1');
  q.set('lang', 'vi');
  await page.goto(new URL(`meeting.html?${q}`, hub.url).href);
  await inMeeting(page, name);
  return page;
}

/** Signs in on the login page the archive sent this page to, and waits to be back. */
async function signIn(page, account) {
  await page.waitForSelector('#username', { visible: true });
  await page.type('#username', account.username);
  await page.type('#password', account.password);
  await Promise.all([page.waitForNavigation(), page.click('#login-submit')]);
}

const bodyView = (page) => page.evaluate(() => document.body.dataset.view);
const player = (page) => page.$eval('#player', (v) => ({
  state: v.dataset.state,
  file: v.dataset.file,
  width: v.videoWidth,
  height: v.videoHeight,
  time: v.currentTime,
  paused: v.paused,
  origin: window.cau.archive.player.origin,
  duration: v.duration,
  error: v.dataset.error ?? null,
}));
const logRows = (page) => page.$$eval('#access-log tbody tr', (trs) => trs.map((tr) => ({ action: tr.dataset.action, file: tr.dataset.file })));

test('an archivist finds the recorded meeting, plays, seeks, downloads and verifies it', { timeout: 300_000 }, async (t) => {
  const { meeting, linkOf } = await planLiveMeeting(hub.origin, setup.bearer, {
    title: TITLE,
    agenda: '1. Các xã báo cáo công tác phòng chống thiên tai.',
    scope: { root: 'district:164', tiers: ['commune'], add: [], remove: [] },
    recorded: true,
  });
  assert.equal(meeting.recorded, true);

  // The meeting: the chair (its fake microphone plays a tone) and an official, a few seconds.
  const chair = await join(chromium, linkOf('province:19', 'chair'), 'Nguyễn Văn Chủ');
  const official = await join(firefox, linkOf(OFFICIAL_UNIT), 'Hoàng Văn Dũng');
  const chairId = await selfId(chair);
  // Both see that the session is recorded (meeting_state.recording from the real hub).
  for (const page of [chair, official]) {
    await page.waitForSelector('#recording-indicator[data-state="recording"]', { visible: true, timeout: 10_000 });
  }
  // About five seconds of the chair's video reach the official (30 fps): media flowed, so the
  // recorder had it too.
  await expectDecoding(official, chairId, 'the official decoding the chair', { more: 150, timeout: 40_000 });
  await click(official, '#leave');
  await waitFor(async () => (await view(official)) === 'left', { message: 'the official left' });
  await click(chair, '#leave');
  await waitFor(async () => (await view(chair)) === 'left', { message: 'the chair left' });
  await Promise.all([chair.close(), official.close()]);

  // The session ends with its last participant; the recording is finalised.
  const ready = await waitFor(async () => {
    const { recordings } = await api(hub.origin, archivistBearer, 'GET', `/api/recordings?q=${encodeURIComponent(QUERY)}`);
    const r = recordings.find((x) => x.meeting_id === meeting.id);
    return r?.state === 'ready' ? r : null;
  }, { timeout: 30_000, interval: 500, message: 'the recording is ready' });
  // Then its archive view, made in the background from the files.
  const detail = await waitFor(async () => {
    const d = await api(hub.origin, archivistBearer, 'GET', `/api/recordings/${ready.session_id}`);
    assert.notEqual(d.composite?.state, 'failed', `the archive view: ${JSON.stringify(d.composite)}`);
    return d.composite?.state === 'ready' ? d : null;
  }, { timeout: 60_000, interval: 500, message: 'the archive view is made' });
  assert.equal(detail.composite.tiled[0].split('-')[0], detail.participants.find((p) => p.unit_id === 'province:19')?.participant_id, 'the chair tiled first');
  const chairPid = detail.participants.find((p) => p.unit_id === 'province:19')?.participant_id;
  assert.ok(chairPid, `the chair among ${JSON.stringify(detail.participants)}`);
  const chairFile = detail.files.find((f) => f.participant_id === chairPid && f.content === 'participant');
  assert.ok(chairFile, `the chair's file among ${JSON.stringify(detail.files.map((f) => f.name))}`);
  recorded = { summary: ready, detail, chairFile };

  // The archivist: the page asks for a login first, then comes back.
  const page = await newPage(chromium);
  await page.setViewport({ width: 1280, height: 900 });
  await page.goto(new URL('archive.html?lang=vi', hub.url).href);
  await signIn(page, ARCHIVIST);
  assert.match(page.url(), /\/archive\.html/);
  await waitFor(async () => (await bodyView(page)) === 'search', { message: 'the archive’s search' });

  // The title without diacritics finds it.
  await page.type('#f-q', QUERY);
  await click(page, '#search-submit');
  const row = `#results tbody tr[data-session-id="${ready.session_id}"]`;
  await page.waitForSelector(row, { visible: true });
  assert.equal(await page.$$eval('#results tbody tr', (trs) => trs.length), 1, 'only this meeting matches');
  const cells = await page.$eval(row, (tr) => [...tr.cells].map((c) => c.textContent));
  assert.match(cells[1], /phòng chống thiên tai/);
  assert.equal(cells[2], 'Tỉnh Thái Nguyên');
  assert.equal(cells[3], '2', 'two units present');
  assert.equal(cells[6], 'Sẵn sàng');
  assert.match(cells[0], /^\d{2}\/\d{2}\/\d{4}\d{2}:\d{2}–\d{2}:\d{2}$/, `a day and Viet Nam times: ${cells[0]}`);
  await screenshot(page, 'archive-search');

  // The session, on the same page.
  await click(page, `${row} .row-link`);
  await waitFor(() => page.$eval('#session-view', (s) => s.dataset.loaded === 'true'), { message: 'the session is shown' });
  assert.match(page.url(), new RegExp(`[?&]session=${ready.session_id}\\b`));
  assert.match(page.url(), /q=phong\+chong\+thien\+tai/, 'the search stays in the address');
  assert.equal(await page.$eval('#session-title', (e) => e.textContent), TITLE);
  assert.match(await page.$eval('#session-facts', (e) => e.textContent), /Tỉnh Thái Nguyên/);
  assert.match(await page.$eval('#session-facts [data-fact="when"] dd', (e) => e.textContent), /\(giờ Việt Nam\)$/);
  // The archive view first, then every file.
  assert.equal(await page.$$eval('#files li[data-file]', (lis) => lis.length), detail.files.length + 1);
  assert.equal(await page.$eval('#files li[data-file]', (li) => li.dataset.file), 'composite.mp4');
  assert.match(await page.$eval('#files li[data-file="composite.mp4"]', (li) => li.textContent), /Bản tổng hợp của phiên/);
  assert.equal(await page.$eval('#session-problems', (e) => e.hidden), true, 'no problems');
  const shaTitle = await page.$eval(`#files li[data-file="${chairFile.name}"] .hash`, (c) => [c.textContent, c.title]);
  assert.equal(shaTitle[1], chairFile.sha256, 'the full SHA-256 in the title');
  assert.ok(shaTitle[0].length < 20 && shaTitle[0].includes('…'), `shortened: ${shaTitle[0]}`);
  assert.equal(await page.$eval('#player', (v) => [v.preload, v.controls, v.hidden].join()), 'metadata,true,true', 'nothing loads before a file is chosen');

  // The chair's file plays: frames of a real size, time moving.
  await click(page, `#files li[data-file="${chairFile.name}"] .file-play`);
  await waitFor(async () => (await player(page)).state === 'ready', { message: `the player loads (${JSON.stringify(await player(page).catch(() => null))})` });
  const p0 = await player(page);
  assert.equal(p0.file, chairFile.name);
  assert.ok(p0.width > 0 && p0.height > 0, `videoWidth ${p0.width}×${p0.height}`);
  await waitFor(async () => (await player(page)).time > p0.time + 0.5, { message: 'currentTime advances' });

  // Seeking two seconds into the file: it lands (`seeked`) and plays on — range requests.
  const seek = await page.evaluate(() => new Promise((resolve) => {
    const v = document.getElementById('player');
    const target = window.cau.archive.player.origin + 2;
    const timer = setTimeout(() => resolve({ seeked: false, target }), 10_000);
    v.addEventListener('seeked', () => {
      clearTimeout(timer);
      resolve({ seeked: true, target, at: v.currentTime });
    }, { once: true });
    v.currentTime = target;
  }));
  assert.ok(seek.seeked, `seeked fired (target ${seek.target})`);
  assert.ok(Math.abs(seek.at - seek.target) < 0.5, `landed at ${seek.at}, asked ${seek.target}`);
  await waitFor(async () => {
    const p = await player(page);
    return !p.paused && p.time > seek.at + 0.5 ? p : null;
  }, { message: 'playback continues after the seek' });
  await screenshot(page, 'archive-session');

  // The archive view plays: 1280×720, time moving.
  await click(page, '#files li[data-file="composite.mp4"] .file-play');
  await waitFor(async () => {
    const p = await player(page);
    return p.state === 'ready' && p.file === 'composite.mp4' ? p : null;
  }, { message: 'the archive view loads' });
  const c0 = await player(page);
  assert.deepEqual([c0.width, c0.height], [1280, 720], 'the tiled canvas');
  await waitFor(async () => (await player(page)).time > c0.time + 0.5, { message: 'the archive view plays' });
  await screenshot(page, 'archive-composite');

  // A turn of speech on the timeline plays that speaker's file from the turn (when the hub saw
  // one: the tone makes the chair the likely speaker, but that is not promised).
  const turns = await page.$$eval('#timeline .tl-turn', (bs) => bs.map((b) => ({
    pid: b.closest('.tl-row').dataset.participantId, from: Number(b.dataset.fromMs),
  })));
  if (turns.length) {
    const turn = turns[0];
    await click(page, `#timeline .tl-row[data-participant-id="${turn.pid}"] .tl-turn`);
    const expected = detail.files.find((f) => f.participant_id === turn.pid && f.content === 'participant');
    const after = await waitFor(async () => {
      const p = await player(page);
      return p.state === 'ready' && p.file === expected?.name ? p : null;
    }, { message: `the turn of ${turn.pid} plays its file` });
    const want = after.origin + Math.max(0, turn.from - expected.offset_ms) / 1000;
    assert.ok(after.time >= want - 0.3 && after.time < want + 3, `at ${after.time}, the turn starts at ${want}`);
  }
  t.diagnostic(`turns of speech on the timeline: ${turns.length}`);

  // Downloads through the page's own links: a file, and the whole session with its checksums.
  const downloads = await page.evaluate(async (name) => {
    const li = document.querySelector(`#files li[data-file="${CSS.escape(name)}"]`);
    const one = await fetch(li.querySelector('.file-download').href);
    const tar = await fetch(document.getElementById('download-tar').href);
    const tarText = new TextDecoder('latin1').decode(await tar.arrayBuffer());
    const manifest = await fetch(document.getElementById('download-manifest').href);
    return {
      file: { status: one.status, disposition: one.headers.get('Content-Disposition'), bytes: (await one.arrayBuffer()).byteLength },
      tar: { status: tar.status, sums: /SHA256SUMS/.test(tarText), manifest: /manifest\.json/.test(tarText), line: tarText.match(new RegExp(`([0-9a-f]{64})  ${name}`))?.[1] ?? null },
      manifest: { status: manifest.status, json: (await manifest.json()).session_id },
    };
  }, chairFile.name);
  assert.equal(downloads.file.status, 200);
  assert.match(downloads.file.disposition ?? '', /attachment/);
  assert.equal(downloads.file.bytes, chairFile.bytes);
  assert.equal(downloads.tar.status, 200);
  assert.ok(downloads.tar.sums && downloads.tar.manifest, 'the tar holds SHA256SUMS and manifest.json');
  assert.equal(downloads.tar.line, chairFile.sha256, 'SHA256SUMS names the file with its checksum');
  assert.equal(downloads.manifest.status, 200);
  assert.equal(downloads.manifest.json, ready.session_id);

  // Verification: every file recomputed and intact.
  await click(page, '#verify');
  await waitFor(() => page.$eval('#verify-result', (e) => e.dataset.ok === 'true' || e.dataset.ok === 'false' || e.dataset.ok === 'error'), { timeout: 30_000, message: 'the verification answers' });
  const verdicts = await page.$$eval('#verify-result li[data-file]', (lis) => lis.map((li) => [li.dataset.file, li.dataset.result]));
  assert.equal(await page.$eval('#verify-result', (e) => e.dataset.ok), 'true', `verdicts: ${JSON.stringify(verdicts)}`);
  assert.equal(verdicts.length, detail.files.length);
  assert.ok(verdicts.every(([, r]) => r === 'ok'));
  assert.match(await page.$eval('#verify-result .verify-summary', (e) => e.textContent), /^Toàn vẹn: mã SHA-256 tính lại của cả \d+ tệp khớp/);

  // The access log: the play, the downloads and the verification, newest first.
  const logged = await waitFor(async () => {
    await click(page, '#access-refresh');
    await new Promise((r) => setTimeout(r, 300));
    const rows = await logRows(page);
    const has = (action, file) => rows.some((r) => r.action === action && (file === undefined || r.file === file));
    return has('play', chairFile.name) && has('verify') && has('download', chairFile.name) && has('download', 'archive.tar') ? rows : null;
  }, { message: 'the access log lists the play, the downloads and the verification' });
  assert.equal(logged[0].action, 'verify', 'newest first');
  assert.ok(logged.length <= 50);
  await page.$eval('#verify-result', (e) => e.scrollIntoView({ block: 'start' }));
  await screenshot(page, 'archive-verify');
  await page.$eval('#access-title', (e) => e.scrollIntoView({ block: 'start' }));
  await screenshot(page, 'archive-access-log');

  // Narrow (390 px): the session still lays out, then back to the list with the button.
  await page.setViewport({ width: 390, height: 844 });
  await page.evaluate(() => window.scrollTo(0, 0));
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 1, `no sideways scrolling at 390 px (${overflow} px too wide)`);
  await screenshot(page, 'archive-session-390');
  await page.$eval('#timeline-title', (e) => e.scrollIntoView({ block: 'start' }));
  await screenshot(page, 'archive-timeline-390');
  await page.goBack();
  await waitFor(async () => (await bodyView(page)) === 'search', { message: 'back to the search' });
  await page.waitForSelector(row, { visible: true });
  assert.equal(await page.$eval('#f-q', (e) => e.value), QUERY, 'the search is kept');
  assert.equal(await page.$eval('#session-view', (e) => e.hidden), true);
  await screenshot(page, 'archive-search-390');
  assert.deepEqual(pageErrors(page).filter((l) => !/Failed to load resource/.test(l)), [], 'no errors on the page');
  await page.close();

  // Firefox plays the same file (its player's time starts at 0 at the first frame, where
  // Chromium's runs on the file's own timestamps: the page places a turn right in both).
  const fx = await newPage(firefox);
  await fx.goto(new URL(`archive.html?lang=vi&session=${ready.session_id}`, hub.url).href);
  await signIn(fx, ARCHIVIST);
  await waitFor(() => fx.$eval('#session-view', (s) => s.dataset.loaded === 'true'), { message: 'Firefox: the session is shown' });
  const fxTurn = turns.find((x) => detail.files.some((f) => f.participant_id === x.pid && f.content === 'participant'));
  if (fxTurn) {
    await fx.click(`#timeline .tl-row[data-participant-id="${fxTurn.pid}"] .tl-turn`);
  } else {
    await fx.click(`#files li[data-file="${chairFile.name}"] .file-play`);
  }
  const fxFile = fxTurn ? detail.files.find((f) => f.participant_id === fxTurn.pid && f.content === 'participant') : chairFile;
  let fxLast = null;
  const fx0 = await waitFor(async () => {
    const p = await player(fx);
    fxLast = p;
    return p.state === 'ready' && p.width > 0 ? p : null;
  }, { message: 'Firefox: the player shows frames' }).catch((e) => {
    throw new Error(`${e.message}; player ${JSON.stringify(fxLast)}; console ${fx.consoleLines.slice(-8).join(' | ')}`);
  });
  assert.equal(fx0.file, fxFile.name);
  if (fxTurn) {
    const want = fx0.origin + Math.max(0, fxTurn.from - fxFile.offset_ms) / 1000;
    assert.ok(fx0.time >= want - 0.3 && fx0.time < want + 3, `Firefox at ${fx0.time} (origin ${fx0.origin}), the turn starts at ${want}`);
  }
  await waitFor(async () => {
    fxLast = await player(fx);
    return fxLast.time > fx0.time + 0.5;
  }, { message: 'Firefox: currentTime advances' }).catch((e) => {
    throw new Error(`${e.message}; player at first ${JSON.stringify(fx0)}, now ${JSON.stringify(fxLast)}; console ${fx.consoleLines.slice(-8).join(' | ')}`);
  });
  t.diagnostic(`player origin: Chromium ${p0.origin}, Firefox ${fx0.origin}; the chair's file starts at ${chairFile.offset_ms} ms; its video ${p0.width}×${p0.height}`);
  await fx.close();
});

test('a file changed or lost on the disk says so: in the player and in the verification', { timeout: 90_000 }, async (t) => {
  if (!recorded) {
    t.skip('needs the recording of the first test');
    return;
  }
  const { summary, detail, chairFile } = recorded;
  const other = detail.files.find((f) => f.name !== chairFile.name);
  assert.ok(other, 'a second file');
  // Behind the hub's back: one byte of the chair's file changed, the other file removed.
  const dir = path.join(setup.dataDir, 'recordings', String(summary.meeting_id), String(summary.session_id));
  const chairPath = path.join(dir, chairFile.name);
  const bytes = fs.readFileSync(chairPath);
  const at = Math.floor(bytes.length / 2);
  bytes[at] ^= 0xff;
  fs.writeFileSync(chairPath, bytes);
  fs.rmSync(path.join(dir, other.name));

  const page = await newPage(chromium); // the archivist's login is still in this browser
  await page.setViewport({ width: 1280, height: 900 });
  await page.goto(new URL(`archive.html?lang=vi&session=${summary.session_id}`, hub.url).href);
  await waitFor(() => page.$eval('#session-view', (s) => s.dataset.loaded === 'true'), { message: 'the session is shown' });

  // The lost file: the player says so instead of showing a broken player.
  await click(page, `#files li[data-file="${other.name}"] .file-play`);
  await waitFor(async () => (await player(page)).state === 'missing', { message: `the player says the file is missing (${JSON.stringify(await player(page).catch(() => null))})` });
  assert.equal(await page.$eval('#player', (v) => v.hidden), true);
  assert.match(await page.$eval('#player-problem', (e) => (e.hidden ? 'hidden' : e.textContent.trim())), /^Tệp không còn trên đĩa/);
  assert.equal(await page.$eval(`#files li[data-file="${other.name}"]`, (li) => li.dataset.problem), 'missing');

  // Verification names both, in plain words.
  await click(page, '#verify');
  await waitFor(() => page.$eval('#verify-result', (e) => e.dataset.ok === 'false'), { timeout: 30_000, message: 'the verification finds the differences' });
  const verdicts = Object.fromEntries(await page.$$eval('#verify-result li[data-file]', (lis) => lis.map((li) => [li.dataset.file, li.dataset.result])));
  assert.equal(verdicts[chairFile.name], 'mismatch');
  assert.equal(verdicts[other.name], 'missing');
  assert.match(await page.$eval('#verify-result .verify-summary', (e) => e.textContent), /^Phát hiện sai khác: 2 trong 2 tệp/);
  assert.match(await page.$eval(`#verify-result li[data-file="${chairFile.name}"]`, (e) => e.textContent), /Không khớp: tệp đã bị thay đổi hoặc bị hỏng/);
  assert.match(await page.$eval(`#verify-result li[data-file="${other.name}"]`, (e) => e.textContent), /Không còn trên đĩa/);
  assert.equal(await page.$eval(`#files li[data-file="${chairFile.name}"]`, (li) => li.dataset.verify), 'mismatch');
  await page.$eval('#verify-result', (e) => e.scrollIntoView({ block: 'start' }));
  await screenshot(page, 'archive-verify-problems');
  await page.close();
});

test('a scheduler without the archivist role is told the page is for archivists', { timeout: 60_000 }, async () => {
  // Its own browser context: the archivist's cookie stays out of it.
  const context = await chromium.createBrowserContext();
  try {
    const page = await context.newPage();
    await page.setViewport({ width: 1000, height: 700 });
    await page.goto(new URL('archive.html?lang=vi', hub.url).href);
    await signIn(page, SCHEDULER);
    await waitFor(async () => (await bodyView(page)) === 'denied', { message: 'the page refuses the scheduler' });
    assert.equal(await page.$eval('#denied h1', (e) => e.textContent), 'Trang này dành cho cán bộ lưu trữ');
    assert.equal(await page.$eval('#archive-main', (e) => e.hidden), true);
    await screenshot(page, 'archive-denied');
    // The API says the same.
    await assert.rejects(api(hub.origin, setup.bearer, 'GET', '/api/recordings'), (e) => e.status === 403 && e.code === 'forbidden');
    // The schedule page shows the scheduler no link to the archive.
    await page.goto(new URL('schedule.html?lang=vi', hub.url).href);
    await waitFor(async () => (await bodyView(page)) === 'schedule', { message: 'the schedule loads' });
    assert.equal(await page.$eval('#to-archive', (e) => e.hidden), true);
  } finally {
    await context.close();
  }
});

// ------------------------------------------------------------------ retention

/** The Viet Nam (UTC+7) year of instant `ms`, and the instant that year's 1 January begins there. */
const vnYear = (ms) => new Date(ms + 7 * 3600_000).getUTCFullYear();
const vnYearStart = (year) => Date.UTC(year, 0, 1) - 7 * 3600_000;
/** dd/mm/yyyy of the Viet Nam day of `ms`, as the page writes it. */
const vnDate = (ms) => {
  const iso = new Date(ms + 7 * 3600_000).toISOString();
  return `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(0, 4)}`;
};
const retention = (page) => page.$eval('#retention', (r) => ({
  class: r.dataset.class,
  keepUntil: r.dataset.keepUntil,
  expired: r.dataset.expired,
  deleted: r.dataset.deleted,
  classText: r.querySelector('[data-fact="class"] dd')?.textContent ?? '',
  keepText: r.querySelector('[data-fact="keep-until"] dd')?.textContent ?? '',
  badge: !r.querySelector('#retention-expired').hidden,
}));
const deleteButton = (page) => page.$eval('#delete-recording', (b) => ({ disabled: b.disabled, hidden: b.hidden, title: b.title, reason: b.dataset.reason }));

test('retention: the class and its date, classified again, expired, found, destroyed only when confirmed', { timeout: 120_000 }, async (t) => {
  if (!recorded) {
    t.skip('needs the recording of the first test');
    return;
  }
  const { summary, chairFile } = recorded;
  const id = summary.session_id;
  const REASON = 'Hết thời hạn lưu trữ; Hội đồng xác định giá trị tài liệu đã đồng ý huỷ.';

  // The hub: the meeting's default class ("general", 10 years) went to its recording, kept
  // until 1 January after ten whole years following the year of the meeting.
  const before = await api(hub.origin, archivistBearer, 'GET', `/api/recordings/${id}`);
  assert.equal(before.class, 'general');
  assert.equal(before.expired, false);
  assert.equal(before.deleted ?? null, null);
  const year = vnYear(before.started_at);
  assert.equal(before.keep_until, vnYearStart(year + 11), `general: kept 10 years after ${year}`);
  const { classes } = await api(hub.origin, archivistBearer, 'GET', '/api/meeting-classes');
  const nameOf = (cid) => classes.find((c) => c.id === cid)?.name;
  assert.equal(nameOf('general'), 'Họp thường kỳ, giao ban');

  // The page (the archivist's login is still in this browser).
  const page = await newPage(chromium);
  await page.setViewport({ width: 1280, height: 900 });
  await page.goto(new URL(`archive.html?lang=vi&session=${id}`, hub.url).href);
  await waitFor(() => page.$eval('#session-view', (s) => s.dataset.loaded === 'true'), { message: 'the session is shown' });
  await waitFor(async () => (await retention(page)).classText.includes(nameOf('general')), { message: 'the retention block names the class' });
  let r = await retention(page);
  assert.equal(r.class, 'general');
  assert.equal(r.classText, 'Họp thường kỳ, giao ban — lưu 10 năm');
  assert.equal(r.keepText, vnDate(before.keep_until));
  assert.equal(r.keepText, `01/01/${year + 11}`);
  assert.equal(r.expired, 'false');
  assert.equal(r.badge, false);
  // Not expired: the button is there, disabled, and says until when it must be kept.
  let del = await deleteButton(page);
  assert.equal(del.disabled, true);
  assert.equal(del.reason, 'not_expired');
  assert.match(del.title, new RegExp(`phải lưu đến ngày 01/01/${year + 11}`));
  assert.equal(await page.$$eval('#retention-class option', (os) => os.length), classes.length);
  assert.equal(await page.$eval('#retention-save', (b) => b.disabled), true, 'nothing to save yet');

  // Classified again as a thematic meeting: 20 years.
  await page.select('#retention-class', 'thematic');
  await waitFor(() => page.$eval('#retention-save', (b) => !b.disabled), { message: 'the save button is enabled' });
  await click(page, '#retention-save');
  await waitFor(async () => (await retention(page)).class === 'thematic', { message: 'the page shows the new class' });
  r = await retention(page);
  assert.equal(r.classText, 'Hội nghị, cuộc họp chuyên đề — lưu 20 năm');
  assert.equal(r.keepText, `01/01/${year + 21}`);
  const thematic = await api(hub.origin, archivistBearer, 'GET', `/api/recordings/${id}`);
  assert.equal(thematic.class, 'thematic');
  assert.equal(thematic.keep_until, vnYearStart(year + 21));
  del = await deleteButton(page);
  assert.equal(del.disabled, true, 'still within its retention');
  assert.match(del.title, new RegExp(`01/01/${year + 21}`));
  // The access log has the classification (its `file` is the class).
  await waitFor(async () => (await logRows(page)).some((x) => x.action === 'classify' && x.file === 'thematic'), { message: 'the classification in the access log' });
  assert.match(await page.$eval('#access-log tbody tr[data-action="classify"]', (tr) => tr.textContent), /Phân loại/);

  // Time passes (behind the hub's back): the retention ran out yesterday.
  const changed = setup.sql(`UPDATE recordings SET keep_until = ${Date.now() - 86_400_000} WHERE session_id = ${id}; SELECT changes();`);
  assert.equal(changed.trim(), '1', 'one row changed');
  const expired = await api(hub.origin, archivistBearer, 'GET', `/api/recordings/${id}`);
  assert.equal(expired.expired, true);
  const { recordings: expiredList } = await api(hub.origin, archivistBearer, 'GET', '/api/recordings?expired=true');
  assert.deepEqual(expiredList.map((x) => x.session_id), [id], 'the only expired recording');

  // The search: "only recordings past their retention" finds it, whatever the period.
  await page.goto(new URL('archive.html?lang=vi', hub.url).href);
  await waitFor(async () => (await bodyView(page)) === 'search', { message: 'the search' });
  await click(page, '#f-expired');
  assert.equal(await page.$eval('#f-from', (e) => e.disabled), true, 'the period is set aside');
  await click(page, '#search-submit');
  const row = `#results tbody tr[data-session-id="${id}"]`;
  await page.waitForSelector(row, { visible: true });
  assert.match(page.url(), /[?&]expired=true\b/, 'the filter is in the address');
  assert.equal(await page.$$eval('#results tbody tr', (trs) => trs.length), 1);
  const cells = await page.$eval(row, (tr) => ({ expired: tr.dataset.expired, retention: tr.querySelector('.retention-cell').textContent, badge: tr.querySelector('.retention-badge')?.textContent ?? null }));
  assert.equal(cells.expired, 'true');
  assert.equal(cells.badge, 'Hết hạn lưu trữ');
  assert.match(cells.retention, new RegExp(`^Lưu đến ${vnDate(expired.keep_until).replace(/\//g, '\\/')}`));
  // A reload keeps the filter.
  await page.reload();
  await page.waitForSelector(row, { visible: true });
  assert.equal(await page.$eval('#f-expired', (e) => e.checked), true);

  // Opened: expired, the button enabled.
  await click(page, `${row} .row-link`);
  await waitFor(() => page.$eval('#session-view', (s) => s.dataset.loaded === 'true'), { message: 'the expired session is shown' });
  await waitFor(async () => (await retention(page)).expired === 'true', { message: 'the block says expired' });
  assert.equal((await retention(page)).badge, true, 'the "Hết hạn lưu trữ" badge');
  del = await deleteButton(page);
  assert.equal(del.disabled, false, `destroyable now (${del.title})`);

  // The dialog: nothing is sent until the number typed back is right and a reason is given.
  await click(page, '#delete-recording');
  await waitFor(() => page.$eval('#delete-dialog', (d) => d.open), { message: 'the dialog opens' });
  assert.match(await page.$eval('#delete-body', (e) => e.textContent), /xoá vĩnh viễn/);
  assert.equal(await page.$eval('#delete-submit', (b) => b.disabled), true);
  await page.type('#delete-confirm', String(id + 1)); // never a beginning of the right one
  await page.type('#delete-reason', REASON);
  assert.equal(await page.$eval('#delete-submit', (b) => b.disabled), true, 'a wrong number: still disabled');
  assert.equal(await page.$eval('#delete-confirm-error', (e) => e.hidden), false, 'and the dialog says so');
  await page.click('#delete-confirm', { clickCount: 3 });
  await page.keyboard.press('Backspace');
  await page.type('#delete-confirm', String(id));
  await page.$eval('#delete-reason', (e) => {
    e.value = '   ';
    e.dispatchEvent(new Event('input', { bubbles: true }));
  });
  assert.equal(await page.$eval('#delete-submit', (b) => b.disabled), true, 'no reason: still disabled');
  await page.type('#delete-reason', REASON);
  await waitFor(() => page.$eval('#delete-submit', (b) => !b.disabled), { message: 'the right number and a reason enable it' });
  await screenshot(page, 'archive-retention');
  await page.click('#delete-submit');

  // Destroyed: the page says by whom, when and why; nothing plays or downloads any more.
  await waitFor(() => page.$eval('#session-state', (e) => e.dataset.state === 'deleted'), { timeout: 30_000, message: 'the recording is shown destroyed' });
  assert.equal(await page.$eval('#delete-dialog', (d) => d.open), false, 'the dialog closed');
  assert.equal(await page.$eval('#session-state', (e) => e.textContent), 'Đã huỷ');
  const notice = await page.$eval('#session-notice', (e) => (e.hidden ? null : e.textContent));
  assert.match(notice ?? '', new RegExp(`^Bản ghi đã được huỷ ngày \\d{2}/\\d{2}/\\d{4} lúc \\d{2}:\\d{2} bởi ${ARCHIVIST.username} — lý do: ${REASON}$`));
  assert.equal((await retention(page)).deleted, 'true');
  assert.equal(await page.$eval('#player-card', (e) => e.hidden), true, 'no player');
  assert.equal(await page.$$eval('#files .file-play, #files .file-download', (bs) => bs.length), 0, 'no play or download buttons');
  assert.equal(await page.$eval('#session-actions', (e) => e.hidden), true, 'no .tar, manifest or verification');
  assert.equal((await deleteButton(page)).hidden, true);
  assert.equal(await page.$eval('#retention-controls', (e) => e.hidden), true);
  await waitFor(async () => (await logRows(page)).some((x) => x.action === 'delete'), { message: 'the destruction in the access log' });
  assert.match(await page.$eval('#access-log tbody tr[data-action="delete"]', (tr) => tr.textContent), /Huỷ bản ghi/);
  assert.equal((await logRows(page))[0].action, 'delete', 'newest first');
  await screenshot(page, 'archive-retention-deleted');

  // The hub agrees: the recording says who, why; its files are gone (410).
  const gone = await api(hub.origin, archivistBearer, 'GET', `/api/recordings/${id}`);
  assert.equal(gone.state, 'deleted');
  assert.equal(gone.deleted?.by, ARCHIVIST.username);
  assert.equal(gone.deleted?.reason, REASON);
  await assert.rejects(api(hub.origin, archivistBearer, 'GET', chairFile.url), (e) => e.status === 410 && e.code === 'gone', 'the file answers 410');
  const { recordings: stillExpired } = await api(hub.origin, archivistBearer, 'GET', '/api/recordings?expired=true');
  assert.equal(stillExpired.length, 0, 'a destroyed recording is not listed as expired');
  assert.deepEqual(pageErrors(page).filter((l) => !/Failed to load resource/.test(l)), [], 'no errors on the page');
  await page.close();
});
