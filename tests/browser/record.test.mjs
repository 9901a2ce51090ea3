// The meeting's record, end to end: a meeting inviting a district, its communes and a
// department; the chair (Chromium, chair link) and one official (Firefox) join; the chair
// types the proceedings and two decisions under the roll call and they are saved; the
// official's connection drops and it rejoins; the chair opens the printable record
// (record.html with its token): every invited unit by tier, the two units present (the
// official's with one reconnection), the others absent, the notes and decisions, laid out as a
// Vietnamese administrative document. It is printed to PDF (Chromium) and screenshotted in
// Vietnamese and English; the scheduler downloads the CSV. A second meeting capped at two
// endpoints refuses a third with `meeting_full` (the page offers a retry) and the chair is
// told who was turned away. Screenshots go to artifacts/.
//
// Runs inside scripts/netns-run: the hub and the browsers share CAU_TEST_ADDR (198.18.0.1).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { closeBrowser, launchChromium, launchFirefox, newPage, screenshot, waitFor, ARTIFACTS_DIR } from './lib/browsers.mjs';
import { startHubWithAccount } from './lib/setup.mjs';
import { planLiveMeeting } from './lib/api.mjs';
import { inMeeting, cameraSize } from './lib/meeting-page.mjs';

const SCHEDULER = { username: 'lich-hop', name: 'Cán bộ lập lịch', roles: ['scheduler'], password: 'Mat-khau-thu-nghiem-2025' };
const OFFICIAL_UNIT = 'commune:5434';

let setup;
let hub;
let bearer;
let chromium;
let firefox;

before(async () => {
  setup = await startHubWithAccount('record', SCHEDULER);
  ({ hub, bearer } = setup);
  [chromium, firefox] = await Promise.all([
    launchChromium({ secureOrigins: [hub.url], logName: 'chromium-record' }),
    launchFirefox({ secureOrigins: [hub.url], logName: 'firefox-record' }),
  ]);
});

after(async () => {
  await Promise.all([closeBrowser(chromium), closeBrowser(firefox)]);
  await setup?.stop();
});

function pageUrl(link, extra = {}) {
  const q = new URL(link.url).searchParams;
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  return new URL(`meeting.html?${q}`, hub.url).href;
}

async function join(browser, link, name) {
  const page = await newPage(browser);
  await cameraSize(page, 320, 240);
  // Vietnamese whatever an earlier page chose (the language is remembered per browser).
  await page.goto(pageUrl(link, { name, autojoin: '1', lang: 'vi' }));
  await inMeeting(page, name);
  return page;
}

const NOTES = 'Đồng chí Chủ tịch UBND tỉnh khai mạc hội nghị.\n\nCác điểm cầu báo cáo tình hình khắc phục hậu quả mưa lũ và tiến độ giải ngân vốn đầu tư công.';
const DECISIONS = [
  'Giao Sở Nông nghiệp và Môi trường tổng hợp thiệt hại, báo cáo UBND tỉnh trước ngày 05/12.',
  'Các xã hoàn thành rà soát hộ dân vùng sạt lở trong tuần.',
];

test('the chair keeps the record; the printable attendance and the CSV', { timeout: 240_000 }, async () => {
  const { meeting, linkOf } = await planLiveMeeting(hub.origin, bearer, {
    title: 'Giao ban trực tuyến khắc phục hậu quả mưa lũ',
    scope: { root: 'district:164', tiers: ['commune'], add: ['district:164', 'province:19-S01'], remove: [] },
  });
  const chairLink = linkOf('province:19', 'chair');
  const chair = await join(chromium, chairLink, 'Nguyễn Văn Chủ');
  let official = await join(firefox, linkOf(OFFICIAL_UNIT), 'Hoàng Văn Dũng');

  // The chair types the proceedings and two decisions under the roll call; they are saved.
  await chair.click('#toggle-roll-call');
  await waitFor(() => chair.$eval('#record-editor', (e) => !e.hidden), { message: 'the record editor is shown' });
  await chair.type('#record-notes', NOTES);
  for (const d of DECISIONS) {
    await chair.click('#record-add-decision');
    await chair.type('#record-decisions li:last-child input', d);
  }
  await chair.click('#record-save');
  await waitFor(() => chair.$eval('#record-status', (e) => e.dataset.state === 'saved'), { message: 'the record is saved' });
  await screenshot(chair, 'record-editor');

  // The official's connection drops (the page closes without a word) and it comes back.
  await official.close();
  await waitFor(() => chair.$eval(`#roll-call tr[data-unit-id="${OFFICIAL_UNIT}"]`, (tr) => tr.dataset.status === 'left'),
    { message: 'the chair sees the official’s unit left' });
  official = await join(firefox, linkOf(OFFICIAL_UNIT), 'Hoàng Văn Dũng');

  // The chair opens the printable record from its panel (same token).
  const href = await chair.$eval('#record-open', (a) => a.href);
  assert.match(href, /record\.html\?meeting=\d+&token=/);
  const record = await newPage(chromium);
  await record.setViewport({ width: 1000, height: 1400 });
  await record.goto(href);
  await waitFor(async () => (await record.evaluate(() => document.body.dataset.view)) === 'record', { message: 'the record is shown' });
  const rows = () => record.$$eval('.doc-units tr[data-unit-id]', (trs) => trs.map((tr) => ({
    id: tr.dataset.unitId,
    attended: tr.dataset.attended === 'true',
    tier: tr.closest('table').dataset.tier,
    cells: [...tr.cells].map((c) => c.textContent),
  })));
  let all = await rows();
  assert.equal(all.filter((r) => r.tier !== 'uninvited').length, meeting.invited_count, 'every invited unit is listed');
  const present = all.filter((r) => r.attended).map((r) => r.id).sort();
  assert.deepEqual(present, ['commune:5434', 'province:19'].sort());
  const dung = all.find((r) => r.id === OFFICIAL_UNIT);
  assert.equal(dung.cells[3], 'Đang dự', 'the official is still there');
  // Closing the page is a websocket close: a leave the hub records as `left` or `disconnected`
  // depending on whether the page said goodbye; either way it joined twice.
  assert.ok(['0', '1'].includes(dung.cells[5]), `reconnections: ${dung.cells[5]}`);
  const absent = all.find((r) => r.id === 'district:164');
  assert.equal(absent.attended, false);
  assert.equal(absent.cells[7], 'Vắng mặt');
  assert.match(await record.$eval('#totals', (e) => e.textContent), new RegExp(`Số điểm cầu được mời: ${meeting.invited_count}; có mặt: 2;`));
  assert.equal(await record.$eval('.doc-title', (e) => e.textContent), 'BIÊN BẢN ĐIỂM DANH');
  assert.equal(await record.$eval('.doc-nation', (e) => e.textContent), 'CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM');
  const notes = await record.$$eval('#notes p', (ps) => ps.map((p) => p.textContent));
  assert.equal(notes.length, 2);
  assert.deepEqual(await record.$$eval('#decisions li', (lis) => lis.map((l) => l.textContent)), DECISIONS);
  await screenshot(record, 'record-vi');
  const pdf = await record.pdf({ format: 'A4', printBackground: true });
  fs.writeFileSync(path.join(ARTIFACTS_DIR, 'record-vi.pdf'), pdf);
  assert.ok(pdf.length > 10_000, `a PDF of ${pdf.length} bytes`);

  // English on the same page.
  await record.click('#lang-switch');
  await waitFor(() => record.$eval('.doc-title', (e) => e.textContent === 'ATTENDANCE RECORD'), { message: 'English' });
  await screenshot(record, 'record-en');

  // The scheduler's CSV: one row per unit, the official present.
  const csvUrl = new URL(`/api/meetings/${meeting.id}/attendance.csv`, hub.origin);
  const res = await fetch(csvUrl, { headers: { Authorization: `Bearer ${bearer}` } });
  assert.equal(res.status, 200);
  const csv = (await res.text()).replace(/^\uFEFF/, '').trim().split('\r\n');
  assert.ok(csv[0].startsWith('unit_id,unit_name,tier,invited,attended,'));
  assert.equal(csv.length - 1, meeting.invited_count);
  assert.match(csv.find((l) => l.startsWith(`"${OFFICIAL_UNIT}"`)), /,yes,yes,/);
  await official.close();
  await chair.close();
  await record.close();
});

test('a meeting at its cap turns a unit away and tells the chair', { timeout: 120_000 }, async () => {
  const { linkOf } = await planLiveMeeting(hub.origin, bearer, {
    title: 'Họp giới hạn hai điểm cầu',
    host: 'district:164',
    scope: { root: 'district:164', tiers: ['commune'], add: [], remove: [] },
    maxEndpoints: 2,
    acknowledgeConflicts: true, // its communes are invited to the first meeting too
  });
  const chair = await join(chromium, linkOf('district:164', 'chair'), 'Chủ trì huyện');
  const first = await join(firefox, linkOf('commune:5434'), 'Điểm cầu thứ hai');
  const third = await newPage(chromium);
  await third.goto(pageUrl(linkOf('commune:5431'), { name: 'Điểm cầu thứ ba', autojoin: '1', lang: 'vi' }));
  await waitFor(async () => (await third.evaluate(() => document.getElementById('error-message')?.dataset.errorCode)) === 'meeting_full',
    { timeout: 25_000, message: 'the third endpoint is told the meeting is full' });
  assert.equal(await third.$eval('#retry', (e) => e.hidden), false, 'it may try again later');
  const told = await waitFor(async () => {
    const texts = await chair.$$eval('#toasts .toast', (ts) => ts.map((t) => t.textContent));
    return texts.find((x) => x.includes('Điểm cầu thứ ba') && x.includes('2')) ?? null;
  }, { message: 'the chair is told who was turned away' });
  assert.match(told, /không vào được/);
  await screenshot(third, 'meeting-full');
  await screenshot(chair, 'meeting-full-chair');
  await Promise.all([third.close(), first.close(), chair.close()]);
});

test('the scheduler reads the statistics of the meetings held', { timeout: 120_000 }, async () => {
  // Both meetings above were held today; the scheduler signs in and opens the statistics.
  const page = await newPage(chromium);
  await page.setViewport({ width: 1280, height: 1100 });
  await page.goto(new URL('stats.html?lang=vi', hub.url).href);
  await page.waitForSelector('#username', { visible: true });
  await page.type('#username', SCHEDULER.username);
  await page.type('#password', SCHEDULER.password);
  await Promise.all([page.waitForNavigation(), page.click('#login-submit')]);
  await waitFor(async () => (await page.evaluate(() => document.body.dataset.view)) === 'stats', { message: 'the statistics page loads' });
  const card = (key) => page.$eval(`#cards [data-card="${key}"] .value`, (e) => e.textContent);
  assert.equal(await card('meetings'), '2', 'two meetings held');
  assert.match(await card('rate'), /%$/);
  // The official's commune came to the first meeting (twice, one reconnection) and was
  // invited to the second; the unit table lists it with its measured quality.
  const row = await page.$eval('#unit-table tr[data-unit-id="commune:5434"]', (tr) => [...tr.cells].map((c) => c.textContent));
  assert.equal(row[0], 'Phường Quang Vinh');
  assert.equal(row[2], '2', 'invited twice');
  assert.equal(row[3], '2', 'attended both');
  // The communes invited twice and never there are flagged as often absent.
  const flagged = await page.$$eval('#unit-table tr[data-flag="often_absent"]', (trs) => trs.map((tr) => tr.dataset.unitId));
  assert.ok(flagged.includes('commune:5431'), `often absent: ${flagged.slice(0, 5)}`);
  assert.ok(await page.$('#tier-table tr[data-tier="commune"]'));
  await screenshot(page, 'stats-vi');
  // Filtered to the district's communes only.
  await page.select('#f-tier', 'commune');
  await page.select('#f-root', 'district:164');
  await page.click('#filters button[type="submit"]');
  await waitFor(async () => (await page.$$eval('#unit-table tbody tr', (trs) => trs.every((tr) => tr.cells[1].textContent === 'Cấp xã'))), { message: 'communes only' });
  assert.match(page.url(), /root=district%3A164/);
  await page.close();
});
