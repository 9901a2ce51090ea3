// The operators' status page (status.html) with the real hub: a meeting of a district's
// communes is live, its chair in Chromium and an official in Firefox; an admin signs in
// through the page (Chromium) and sees the session with both connected units (the official's
// link measured by the hub), the load cards with packet rates once two samples exist, the
// archive, and the warnings this hub really has (plain HTTP on 198.18.0.1: `tls_off`; no
// TURN: `no_turn`) at the top; in English too; when the official leaves, the next refresh
// (every 5 s) drops its row, and a recording marked interrupted in the database is warned
// about at the next one. The same page in Firefox. A scheduler is told the page is for
// admins (and the API answers 403), and only admins get the link from the schedule page.
// No page reports a Content-Security-Policy violation. Screenshots `status-*.png`.
//
// Runs inside scripts/netns-run: the hub and the browsers share CAU_TEST_ADDR (198.18.0.1).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { closeBrowser, launchChromium, launchFirefox, newCspWatchedPage, newPage, screenshot, waitFor } from './lib/browsers.mjs';
import { startHubWithAccount } from './lib/setup.mjs';
import { api, planLiveMeeting } from './lib/api.mjs';
import { click, inMeeting, pageErrors, recent } from './lib/meeting-page.mjs';

const ADMIN = { username: 'quan-tri', name: 'Quản trị hệ thống', roles: ['admin'], password: 'Mat-khau-quan-tri-2025' };
const SCHEDULER = { username: 'lich-hop', name: 'Cán bộ lập lịch', roles: ['scheduler'], password: 'Mat-khau-thu-nghiem-2025' };
const HOST = 'district:164';
const OFFICIAL_UNIT = 'commune:5431';
const DASH = '—';

let setup;
let hub;
let chromium;
let firefox;

before(async () => {
  setup = await startHubWithAccount('status', ADMIN, {}, [SCHEDULER]);
  hub = setup.hub;
  [chromium, firefox] = await Promise.all([
    launchChromium({ secureOrigins: [hub.url], logName: 'chromium-status' }),
    launchFirefox({ secureOrigins: [hub.url], logName: 'firefox-status' }),
  ]);
});

after(async () => {
  await Promise.all([closeBrowser(chromium), closeBrowser(firefox)]);
  await setup?.stop();
});

const view = (page) => page.evaluate(() => document.body.dataset.view);

/** The meeting page's address for a link, on the address the browsers reach the hub by. */
function pageUrl(link, extra = {}) {
  const q = new URL(link.url).searchParams;
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  return new URL(`meeting.html?${q}`, hub.url).href;
}

/** Opens `path` (a staff page), signs in through the login page it sends us to. */
async function signIn(page, path, account) {
  await page.goto(new URL(path, hub.url).href);
  await page.waitForSelector('#username', { visible: true });
  await page.type('#username', account.username);
  await page.type('#password', account.password);
  await Promise.all([page.waitForNavigation(), click(page, '#login-submit')]);
}

/** What the status page shows: warnings, cards, sessions with their rows, recordings. */
const shown = (page) =>
  page.evaluate(() => ({
    warnings: [...document.querySelectorAll('#warnings > [data-warning]')].map((w) => ({ code: w.dataset.warning, severity: w.dataset.severity, text: w.textContent })),
    cards: Object.fromEntries([...document.querySelectorAll('#cards [data-card]')].map((c) => [c.dataset.card, c.querySelector('.value').textContent])),
    sessions: [...document.querySelectorAll('#sessions-table tbody[data-session-id]')].map((b) => ({
      meeting: b.dataset.meetingId,
      header: b.querySelector('.ops-session-row').textContent,
      rows: [...b.querySelectorAll('tr[data-participant-id]')].map((tr) => ({
        unit: tr.dataset.unitId,
        role: tr.dataset.role,
        cells: [...tr.cells].map((c) => c.textContent),
        rtt: tr.querySelector('[data-col=rtt]').textContent,
      })),
    })),
    states: [...document.querySelectorAll('#recordings-table tr[data-state]')].map((tr) => tr.dataset.state),
    facts: Object.fromEntries([...document.querySelectorAll('#recordings-facts dd[data-fact]')].map((d) => [d.dataset.fact, d.textContent])),
    updated: document.getElementById('updated').textContent,
    error: document.getElementById('status').hidden ? null : document.getElementById('status').textContent,
    csp: window.__csp,
  }));

test('an admin follows the live meeting, the load, the archive and the warnings', { timeout: 180_000 }, async () => {
  const title = 'Giao ban trực tuyến các phường, xã';
  const { meeting, linkOf } = await planLiveMeeting(hub.origin, setup.bearer, {
    title,
    host: HOST,
    scope: { root: HOST, tiers: ['commune'], add: [], remove: [] },
  });
  const chair = await newPage(chromium);
  await chair.goto(pageUrl(linkOf(HOST, 'chair'), { name: 'Nguyễn Văn Chủ', autojoin: '1' }));
  await inMeeting(chair, 'the chair');
  const official = await newPage(firefox);
  await official.goto(pageUrl(linkOf(OFFICIAL_UNIT), { name: 'Lê Thị Dung', autojoin: '1' }));
  await inMeeting(official, 'the official');

  // The admin signs in through the page.
  const page = await newCspWatchedPage(chromium);
  await page.setViewport({ width: 1280, height: 1000 });
  await signIn(page, 'status.html?lang=vi', ADMIN);
  await waitFor(async () => (await view(page)) === 'status', { message: `the status page loads (${recent(page)})` });

  // The session with both units; the official's link measured (the hub refreshes it every 2 s).
  const live = await waitFor(async () => {
    const s = await shown(page);
    const session = s.sessions.find((x) => x.meeting === String(meeting.id));
    const row = session?.rows.find((r) => r.unit === OFFICIAL_UNIT);
    return session?.rows.length === 2 && row.rtt !== DASH && s.cards.in !== DASH && s;
  }, { timeout: 30_000, message: 'the session, its two units, the official measured and the rates' });
  const session = live.sessions.find((x) => x.meeting === String(meeting.id));
  process.stdout.write(`# status page: ${JSON.stringify({ cards: live.cards, session, facts: live.facts, warnings: live.warnings.map((w) => w.code) })}\n`);
  assert.equal(live.sessions.length, 1);
  assert.ok(session.header.includes(title), session.header);
  assert.ok(session.header.includes('Thành phố Thái Nguyên'), `the host room is named: ${session.header}`);
  assert.match(session.header, /2\/\d+ điểm cầu/, 'two units connected of those invited');
  const [first, second] = session.rows;
  assert.deepEqual([first.unit, first.role], [HOST, 'chair'], 'the chair first');
  assert.deepEqual([second.unit, second.role], [OFFICIAL_UNIT, 'official']);
  assert.equal(second.cells[0], 'Phường Quán Triều');
  assert.equal(second.cells[2], 'Lê Thị Dung');
  assert.match(second.rtt, /^\d+$/, `a round-trip time in ms: ${second.rtt}`);
  assert.equal(live.cards.sessions, '1');
  assert.equal(live.cards.participants, '2');
  assert.equal(live.cards.endpoints, '2', 'both pages have media connections');
  assert.match(live.cards.in, /bit\/s$/);
  assert.match(live.cards.memory, /B$/);
  assert.deepEqual(live.states, ['recording', 'finalising', 'ready', 'interrupted', 'damaged', 'deleted']);
  assert.match(live.facts.disk, /còn trống .* dự phòng 100,0 MB/);
  assert.equal(live.facts.recorder, 'Trong máy chủ Cầu');
  // The warnings this hub has, and nothing else: plain HTTP on 198.18.0.1, no TURN server.
  assert.deepEqual(live.warnings.map((w) => [w.code, w.severity]), [['tls_off', 'warning'], ['no_turn', 'notice']]);
  assert.ok(live.warnings[0].text.includes(`${hub.host}:${hub.port}`), live.warnings[0].text);
  assert.equal(await page.$eval('#all-good', (e) => e.hidden), true);
  assert.match(live.updated, /Cập nhật lúc \d\d:\d\d:\d\d/);
  assert.equal(live.error, null, 'no error line');
  assert.deepEqual(live.csp, [], 'no Content-Security-Policy violation');
  // The warnings come first on the page.
  const order = await page.evaluate(() => document.getElementById('warnings-section').getBoundingClientRect().top < document.getElementById('cards').getBoundingClientRect().top);
  assert.ok(order, 'warnings above the cards');
  await screenshot(page, 'status-vi');

  // In English.
  await click(page, '#lang-switch');
  await waitFor(async () => (await page.$eval('#warnings-title', (e) => e.textContent)) === 'Warnings', { message: 'the page in English' });
  const en = await shown(page);
  assert.match(en.warnings[0].text, /unencrypted HTTP/);
  assert.match(en.sessions[0].header, /2\/\d+ units/);
  await screenshot(page, 'status-en');
  await click(page, '#lang-switch');

  // The official leaves: a later refresh drops its row, by itself.
  await official.close();
  await waitFor(async () => {
    const s = await shown(page);
    return s.sessions[0]?.rows.length === 1 && s.cards.participants === '1';
  }, { timeout: 20_000, message: 'the official’s row goes at a refresh' });

  // A recording interrupted an hour ago (as a crash leaves one, written behind the hub's
  // back): the next refresh warns about it, with its title.
  const hourAgo = Date.now() - 3_600_000;
  setup.sql(`INSERT INTO recordings (session_id, meeting_id, title, host_unit, started_at, ended_at, state, dir)
             VALUES (900001, ${meeting.id}, 'Họp bị cắt điện', '${HOST}', ${hourAgo}, ${hourAgo + 600_000}, 'interrupted', '${meeting.id}/900001')`);
  const cut = await waitFor(async () => (await shown(page)).warnings.find((w) => w.code === 'recordings_interrupted'),
    { timeout: 15_000, message: 'the interrupted recording is warned about' });
  assert.equal(cut.severity, 'warning');
  assert.match(cut.text, /1 bản ghi bị gián đoạn .*Họp bị cắt điện — Bị gián đoạn/);
  assert.equal((await shown(page)).facts.troubled, '1');
  await screenshot(page, 'status-interrupted');

  // The same page in Firefox.
  const fxPage = await newCspWatchedPage(firefox);
  await signIn(fxPage, 'status.html?lang=vi', ADMIN);
  await waitFor(async () => (await view(fxPage)) === 'status', { message: `the status page loads in Firefox (${recent(fxPage)})` });
  const fx = await waitFor(async () => {
    const s = await shown(fxPage);
    return s.sessions[0]?.rows.length === 1 && s;
  }, { message: 'Firefox shows the session with the chair' });
  assert.deepEqual(fx.warnings.map((w) => w.code), ['recordings_interrupted', 'tls_off', 'no_turn']);
  assert.deepEqual(fx.csp, [], 'no Content-Security-Policy violation in Firefox');
  await screenshot(fxPage, 'status-firefox');

  // (The first visit's 401 from /api/me, before the login page, is logged by the browser.)
  const errors = (p) => pageErrors(p).filter((l) => !/status of 401/.test(l));
  assert.deepEqual(errors(page), [], 'no page error (Chromium)');
  assert.deepEqual(errors(fxPage), [], 'no page error (Firefox)');
  await Promise.all([fxPage.close(), page.close(), chair.close()]);
});

test('the status page and its link are for admins only', { timeout: 60_000 }, async () => {
  await assert.rejects(api(hub.origin, setup.bearers[SCHEDULER.username], 'GET', '/api/status'), (e) => e.status === 403 && e.code === 'forbidden');
  await assert.rejects(api(hub.origin, null, 'GET', '/api/status'), (e) => e.status === 401);
  const ctx = await chromium.createBrowserContext();
  try {
    const page = await newPage(ctx);
    await signIn(page, 'status.html?lang=vi', SCHEDULER);
    await waitFor(async () => (await view(page)) === 'denied', { message: 'the scheduler is told the page is not theirs' });
    assert.equal(await page.$eval('#status-main', (e) => e.hidden), true);
    await screenshot(page, 'status-denied');
    await page.goto(new URL('schedule.html', hub.url).href);
    await waitFor(async () => (await view(page)) === 'calendar' || (await page.$eval('#schedule-main', (e) => !e.hidden)), { message: 'the schedule page loads' });
    assert.equal(await page.$eval('#to-status', (e) => e.hidden), true, 'no status link for a scheduler');
  } finally {
    await ctx.close();
  }
  // The admin's schedule page links to it.
  const page = await newPage(chromium);
  await page.goto(new URL('schedule.html', hub.url).href);
  await waitFor(async () => page.$eval('#to-status', (e) => !e.hidden), { message: 'the admin has the status link' });
  await page.close();
});
