// The chair's roll call, end to end: a meeting inviting a district's communes, a department
// and the district itself; the chair (Chromium, chair link) sees every invited unit `not_yet`
// but its own, an official (Firefox) joins and its unit turns `connected` with measured
// quality, leaves and turns `left`; filters, search and sorting work; the chair ends the
// meeting and sees the ended view; the links then stop working, with no media opened.
//
// Runs inside scripts/netns-run: the hub and the browsers share CAU_TEST_ADDR (198.18.0.1).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { closeBrowser, launchChromium, launchFirefox, newPage, screenshot, waitFor } from './lib/browsers.mjs';
import { startHubWithAccount } from './lib/setup.mjs';
import { planLiveMeeting } from './lib/api.mjs';

const SCHEDULER = { username: 'lich-hop', name: 'Cán bộ lập lịch', roles: ['scheduler'], password: 'Mat-khau-thu-nghiem-2025' };
const DASH = '—';

let setup;
let hub;
let bearer;
let chromium;
let firefox;

before(async () => {
  setup = await startHubWithAccount('rollcall', SCHEDULER);
  ({ hub, bearer } = setup);
  [chromium, firefox] = await Promise.all([
    launchChromium({ secureOrigins: [hub.url], logName: 'chromium-rollcall' }),
    launchFirefox({ secureOrigins: [hub.url], logName: 'firefox-rollcall' }),
  ]);
});

after(async () => {
  await Promise.all([closeBrowser(chromium), closeBrowser(firefox)]);
  await setup?.stop();
});

const view = (page) => page.evaluate(() => document.body.dataset.view);
const recent = (page) => page.consoleLines.slice(-8).join(' | ');

/** The meeting page's address for a link, on the address the browsers reach the hub by. */
function pageUrl(link, extra = {}) {
  const q = new URL(link.url).searchParams;
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  return new URL(`meeting.html?${q}`, hub.url).href;
}

/** The roll call's rows as the chair sees them: [{id, status, tier, hidden, rtt, loss, bitrate}]. */
const rows = (page) =>
  page.$$eval('#roll-call tr[data-unit-id]', (trs) =>
    trs.map((tr) => ({
      id: tr.dataset.unitId,
      status: tr.dataset.status,
      tier: tr.dataset.tier,
      hidden: tr.hidden,
      rtt: tr.querySelector('[data-col=rtt]')?.textContent,
      loss: tr.querySelector('[data-col=loss]')?.textContent,
      bitrate: tr.querySelector('[data-col=bitrate]')?.textContent,
    })),
  );
const row = async (page, id) => (await rows(page)).find((r) => r.id === id);
const visible = async (page) => (await rows(page)).filter((r) => !r.hidden);

test('the chair follows the roll call and ends the meeting', { timeout: 240_000 }, async () => {
  const title = 'Điểm danh các phường, xã thành phố Thái Nguyên';
  const { meeting, linkOf } = await planLiveMeeting(hub.origin, bearer, {
    title,
    agenda: '',
    scope: { root: 'district:164', tiers: ['commune'], add: ['district:164', 'province:19-S01'], remove: [] },
  });
  const invited = meeting.invited_count;
  assert.ok(invited > 30, `a district's communes and more are invited (${invited})`);

  // The chair joins with the chair link and opens the roll call.
  const chair = await newPage(chromium);
  await chair.goto(pageUrl(linkOf('province:19', 'chair'), { name: 'Nguyễn Văn Chủ', autojoin: '1' }));
  await waitFor(async () => (await view(chair)) === 'meeting', { timeout: 25_000, message: `chair in the meeting (${recent(chair)})` });
  assert.equal(await chair.$eval('#role-pill', (e) => e.hidden), false, 'the header says "chair"');
  assert.equal(await chair.$eval('#end-meeting', (e) => e.hidden), false, 'the chair may end the meeting');
  await chair.click('#toggle-roll-call');
  await chair.waitForSelector('#roll-call:not([hidden])');
  assert.equal(await chair.$eval('#toggle-roll-call', (e) => e.getAttribute('aria-expanded')), 'true');

  // Every invited unit is listed; only the chair's own unit is connected.
  const initial = await waitFor(
    async () => {
      const r = await rows(chair);
      return r.length === invited && r.find((x) => x.id === 'province:19')?.status === 'connected' && r;
    },
    { timeout: 15_000, message: `${invited} rows in the roll call, the chair's unit connected (${recent(chair)})` },
  );
  for (const r of initial) {
    assert.equal(r.status, r.id === 'province:19' ? 'connected' : 'not_yet', `status of ${r.id}`);
    if (r.status === 'not_yet') assert.deepEqual([r.rtt, r.loss, r.bitrate], [DASH, DASH, DASH], `no figures for ${r.id}`);
  }
  assert.match(await chair.$eval('#roll-call .rc-count', (e) => e.textContent), new RegExp(`1/${invited}$`));
  // The parent column names the parent (from the directory), not its id.
  await waitFor(
    () => chair.$eval('#roll-call tr[data-unit-id="commune:5431"] [data-col=parent]', (e) => e.textContent === 'Thành phố Thái Nguyên'),
    { message: 'the parent of Phường Quán Triều is named' },
  );
  await screenshot(chair, 'rollcall-chair-initial');

  // An official joins with the link of Phường Quán Triều: the row turns connected, and the
  // hub's figures for it arrive.
  const official = await newPage(firefox);
  const officialLink = pageUrl(linkOf('commune:5431'), { name: 'Lê Thị Dung', autojoin: '1' });
  await official.goto(officialLink);
  await waitFor(async () => (await view(official)) === 'meeting', { timeout: 25_000, message: `official in the meeting (${recent(official)})` });
  await waitFor(async () => (await row(chair, 'commune:5431'))?.status === 'connected', {
    timeout: 15_000,
    message: 'Phường Quán Triều turns connected',
  });
  const measured = await waitFor(
    async () => {
      const r = await row(chair, 'commune:5431');
      return (r.rtt !== DASH || r.bitrate !== DASH) && r;
    },
    { timeout: 20_000, message: 'RTT or bitrate of Phường Quán Triều is measured' },
  );
  process.stdout.write(`# roll call figures for commune:5431: ${JSON.stringify(measured)}\n`);
  assert.match(await chair.$eval('#roll-call .rc-count', (e) => e.textContent), new RegExp(`2/${invited}$`));
  assert.equal(await chair.$eval('#roll-call-badge', (e) => e.textContent), `2/${invited}`);

  // Filters: tier, then a search without diacritics, then status.
  await chair.select('#roll-call-tier', 'commune');
  await waitFor(async () => {
    const v = await visible(chair);
    return v.length > 0 && v.length < invited && v.every((r) => r.tier === 'commune');
  }, { message: 'the tier filter keeps the communes only' });
  await chair.type('#roll-call-search', 'quan trieu');
  await waitFor(async () => {
    const v = await visible(chair);
    return v.length === 1 && v[0].id === 'commune:5431';
  }, { message: 'searching "quan trieu" finds Phường Quán Triều' });
  await screenshot(chair, 'rollcall-chair-filtered');
  await chair.click('#roll-call .rc-clear');
  await waitFor(async () => (await visible(chair)).length === invited, { message: 'clearing the filters shows every unit' });
  await chair.select('#roll-call-status', 'connected');
  await waitFor(async () => {
    const v = await visible(chair);
    return v.length === 2 && v.every((r) => r.status === 'connected');
  }, { message: 'the status filter keeps the two connected units' });
  await chair.select('#roll-call-status', '');

  // Sorting by status puts the connected units first.
  await chair.click('#roll-call th[data-sort=status] button');
  assert.equal(await chair.$eval('#roll-call th[data-sort=status]', (e) => e.getAttribute('aria-sort')), 'ascending');
  await waitFor(async () => {
    const r = await rows(chair);
    return r[0].status === 'connected' && r[1].status === 'connected' && r[2].status === 'not_yet';
  }, { message: 'connected units first' });
  await screenshot(chair, 'rollcall-chair-connected');

  // The official leaves: the row turns `left`.
  await official.click('#leave');
  await waitFor(async () => (await view(official)) === 'left', { message: 'the official sees the left view' });
  await waitFor(async () => (await row(chair, 'commune:5431'))?.status === 'left', {
    timeout: 15_000,
    message: 'Phường Quán Triều turns left',
  });
  await screenshot(chair, 'rollcall-chair-left');

  // The chair ends the meeting (after confirming) and sees the ended view.
  await chair.click('#end-meeting');
  await chair.waitForSelector('#end-meeting-dialog[open]');
  await screenshot(chair, 'rollcall-end-dialog');
  await chair.click('#end-meeting-confirm');
  await waitFor(async () => (await view(chair)) === 'left', { timeout: 15_000, message: `the chair sees the end (${recent(chair)})` });
  assert.equal(await chair.$eval('#view-left', (e) => e.dataset.reason), 'meeting_ended');
  assert.equal(await chair.$eval('#rejoin', (e) => e.hidden), true, 'no rejoining an ended meeting');
  await screenshot(chair, 'rollcall-ended');
  const errors = chair.consoleLines.filter((l) => l.startsWith('pageerror') || l.startsWith('error:'));
  assert.deepEqual(errors, [], 'no errors on the chair’s page');

  // The link no longer opens the meeting: a clear refusal, no retry, no camera.
  await official.goto(officialLink);
  await waitFor(async () => (await view(official)) === 'error', { message: 'the ended meeting is refused' });
  assert.equal(await official.$eval('#error-message', (e) => e.dataset.errorCode), 'meeting_ended');
  assert.equal(await official.$eval('#retry', (e) => e.hidden), true);
  assert.equal(await official.evaluate(() => window.cau.state.stream.getTracks().length), 0, 'no media opened');
  await screenshot(official, 'rollcall-refused-ended');

  // A damaged token is refused as such.
  const damaged = new URL(officialLink);
  damaged.searchParams.set('token', `${damaged.searchParams.get('token').slice(0, -4)}AAAA`);
  await official.goto(damaged.href);
  await waitFor(async () => (await view(official)) === 'error', { message: 'a damaged token is refused' });
  assert.equal(await official.$eval('#error-message', (e) => e.dataset.errorCode), 'invalid_token');
  assert.equal(await official.$eval('#retry', (e) => e.hidden), true);
  await Promise.all([chair.close(), official.close()]);
});
