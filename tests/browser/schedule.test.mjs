// Planning a meeting through the schedule page, end to end, in Chromium against the real hub:
// a scheduler account is made with `cau admin create-user`, signs in on login.html (a wrong
// password first), fills the meeting form for "all communes of Đại Từ" starting now, checks the
// live invitation count against the directory file, picks the meeting's class (how long its
// recordings are kept: the hub's four, "general" by default), saves, reads the join links in the details
// panel, opens one official link (pre-join greets with the meeting's title, then joins), and
// finally a link of another meeting is refused on this one (`wrong_meeting`).
//
// Runs inside scripts/netns-run: the hub and the browser share CAU_TEST_ADDR (198.18.0.1).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { REPO_ROOT, closeBrowser, launchChromium, newPage, screenshot, waitFor } from './lib/browsers.mjs';
import { startHubWithAccount } from './lib/setup.mjs';
import { api, createMeeting, links } from './lib/api.mjs';

const SCHEDULER = { username: 'lan', name: 'Nguyễn Thị Lan', roles: ['scheduler'], password: 'Lich-hop-Thai-Nguyen-2025' };
const TITLE = 'Giao ban trực tuyến các xã huyện Đại Từ';

// The hub's built-in directory (docs/directory.md): unit ids are "TIER:CODE".
const DIRECTORY = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'data', 'units', 'thai-nguyen-2024.json'), 'utf8'));
const idOf = (u) => `${u.tier}:${u.code}`;
const unitNamed = (name, tier) => {
  const u = DIRECTORY.units.find((x) => x.name === name && x.tier === tier);
  assert.ok(u, `${name} (${tier}) is in data/units/thai-nguyen-2024.json`);
  return u;
};
const DAI_TU = unitNamed('Huyện Đại Từ', 'district');
const PHU_BINH = unitNamed('Huyện Phú Bình', 'district');
const communesOf = (district) => DIRECTORY.units.filter((u) => u.tier === 'commune' && u.parent === district.code).map(idOf);
const DAI_TU_COMMUNES = communesOf(DAI_TU);
// Scope {root: Đại Từ, tiers: [commune]}; the host and chair unit (Đại Từ itself, a district)
// is always invited on top of it.
const EXPECTED_INVITED = DAI_TU_COMMUNES.length + 1;

let setup;
let hub;
let bearer;
let chromium;

before(async () => {
  setup = await startHubWithAccount('schedule', SCHEDULER);
  ({ hub, bearer } = setup);
  chromium = await launchChromium({ secureOrigins: [hub.url], logName: 'chromium-schedule' });
});

after(async () => {
  await closeBrowser(chromium);
  await setup?.stop();
});

const view = (page) => page.evaluate(() => document.body.dataset.view);
const recent = (page) => page.consoleLines.slice(-6).join(' | ');

/** Province wall-clock (UTC+7) of instant `ms`: {date: 'YYYY-MM-DD', time: 'HH:MM'}. */
function provinceClock(ms) {
  const iso = new Date(ms + 7 * 3600_000).toISOString();
  return { date: iso.slice(0, 10), time: iso.slice(11, 16) };
}

/** Sets a date/time input the way a person's picking does (value, then input + change). */
async function setValue(page, selector, value) {
  await page.$eval(selector, (el, v) => {
    el.value = v;
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
  }, value);
}

/** Types `query` in a unit picker and clicks the option of `unitId` in its list. */
async function pickUnit(page, input, query, unitId) {
  await page.click(input, { clickCount: 3 });
  await page.keyboard.press('Backspace');
  await page.type(input, query);
  const option = `${input}-options li[data-unit-id="${unitId}"]`;
  await page.waitForSelector(option, { visible: true, timeout: 5000 });
  await page.click(option);
  await waitFor(() => page.$eval(input, (e) => e.getAttribute('aria-expanded') === 'false'), { message: `${input} closed after the pick` });
}

/** The #scope-count once the preview has answered: its data-count as a number. */
async function settledCount(page, expected) {
  return waitFor(
    async () => {
      const c = await page.$eval('#scope-count', (e) => (e.dataset.state === 'ok' ? Number(e.dataset.count) : null));
      return c === expected ? c : null;
    },
    { timeout: 10_000, message: `#scope-count shows ${expected} (console: ${recent(page)})` },
  );
}

test('a scheduler plans a meeting on the schedule page; its link opens the meeting, another meeting\'s link is refused', async () => {
  const page = await newPage(chromium);

  // ---- Sign in: the schedule page sends an anonymous visitor to the login page.
  await page.goto(`${hub.url}schedule.html`);
  await page.waitForSelector('#username', { visible: true });
  assert.match(page.url(), /login\.html\?next=%2Fschedule\.html/);
  await page.type('#username', SCHEDULER.username);
  await page.type('#password', 'not-the-password');
  await page.click('#login-submit');
  await waitFor(() => page.$eval('#login-error', (e) => !e.hidden && e.dataset.errorCode === 'bad_credentials'), {
    message: 'the login page says the password is wrong',
  });
  assert.ok((await page.$eval('#login-error', (e) => e.textContent.trim())).length > 0);
  await screenshot(page, 'login-bad-credentials');
  await page.$eval('#password', (e) => { e.value = ''; });
  await page.type('#password', SCHEDULER.password);
  await Promise.all([page.waitForNavigation(), page.click('#login-submit')]);
  await waitFor(async () => (await view(page)) === 'schedule', { message: `the schedule page loads (console: ${recent(page)})` });
  assert.match(new URL(page.url()).pathname, /\/schedule\.html$/);
  assert.equal(await page.$eval('#user-name', (e) => e.textContent), SCHEDULER.name);
  await screenshot(page, 'schedule-empty-week');

  // ---- The form: all communes of Đại Từ, starting now (province time), for an hour.
  await page.click('#new-meeting');
  await page.waitForSelector('#meeting-form', { visible: true });
  await page.type('#m-title', TITLE);
  await page.type('#m-agenda', '1. Tình hình kinh tế - xã hội tháng 12.\n2. Nhiệm vụ tháng tới.');
  const now = Date.now();
  const from = provinceClock(now);
  await setValue(page, '#m-date', from.date);
  await setValue(page, '#m-start', from.time);
  await setValue(page, '#m-end', provinceClock(now + 3600_000).time);
  await pickUnit(page, '#m-host', 'dai tu', idOf(DAI_TU)); // no diacritics typed
  await pickUnit(page, '#m-chair-unit', 'Đại Từ', idOf(DAI_TU));
  await page.type('#m-chair-person', 'Ông Nguyễn Văn Chủ, Chủ tịch UBND huyện');
  await pickUnit(page, '#scope-root', 'Đại Từ', idOf(DAI_TU));
  await page.click('#scope-preset-communes');
  const tiers = await page.$$eval('input[name=scope-tier]', (boxes) => Object.fromEntries(boxes.map((b) => [b.value, b.checked])));
  assert.deepEqual(tiers, { province: false, district: false, commune: true }, 'the preset ticks the commune tier only');
  await settledCount(page, EXPECTED_INVITED);
  assert.match(await page.$eval('#scope-count', (e) => e.textContent), new RegExp(`\\b${EXPECTED_INVITED}\\b`));

  // The tree: the district, expanded, with every commune ticked; unticking one removes it.
  const ticked = await page.$$eval(`#scope-tree li[data-unit-id="${idOf(DAI_TU)}"] li[data-unit-id] input.tree-check`,
    (boxes) => boxes.filter((b) => b.checked).map((b) => b.dataset.unitId));
  assert.deepEqual([...ticked].sort(), [...DAI_TU_COMMUNES].sort(), 'every commune of Đại Từ is ticked in the tree');
  const one = DAI_TU_COMMUNES[0];
  await page.click(`#scope-tree input.tree-check[data-unit-id="${one}"]`);
  await settledCount(page, EXPECTED_INVITED - 1);
  await page.click(`#scope-tree input.tree-check[data-unit-id="${one}"]`);
  await settledCount(page, EXPECTED_INVITED);

  // The meeting class: the hub's four, the default chosen; a thematic meeting here.
  const classes = await page.$$eval('#m-class option', (os) => os.map((o) => ({ value: o.value, text: o.textContent })));
  assert.deepEqual(classes.map((c) => c.value).sort(), ['general', 'review', 'thematic', 'training']);
  assert.equal(await page.$eval('#m-class', (e) => e.value), 'general', 'the default class');
  assert.equal(classes.find((c) => c.value === 'general').text, 'Họp thường kỳ, giao ban — lưu 10 năm');
  assert.equal(classes.find((c) => c.value === 'review').text, 'Hội nghị tổng kết, sơ kết — lưu vĩnh viễn');
  await page.select('#m-class', 'thematic');
  await screenshot(page, 'schedule-form');

  // ---- Save (a fresh hub has nothing to conflict with; "save anyway" if it had).
  await page.click('#m-save');
  await waitFor(
    async () => {
      if (await page.$eval('#m-conflicts', (e) => !e.hidden)) await page.click('#m-save-anyway');
      return page.$eval('#meeting-details', (e) => !e.hidden && e.dataset.loaded === 'true' && e.dataset.meetingId);
    },
    { timeout: 15_000, message: `the details panel of the saved meeting (console: ${recent(page)})` },
  );
  const meetingId = Number(await page.$eval('#meeting-details', (e) => e.dataset.meetingId));
  assert.ok(meetingId > 0);
  await page.waitForSelector(`#calendar .meeting[data-meeting-id="${meetingId}"]`, { timeout: 10_000 });

  const saved = await api(hub.origin, bearer, 'GET', `/api/meetings/${meetingId}`);
  assert.equal(saved.meeting.title, TITLE);
  assert.equal(saved.meeting.invited_count, EXPECTED_INVITED);
  assert.deepEqual(saved.meeting.scope, { root: idOf(DAI_TU), tiers: ['commune'], add: [], remove: [] });
  assert.equal(saved.meeting.host_unit, idOf(DAI_TU));
  assert.equal(saved.meeting.chair_unit, idOf(DAI_TU));
  assert.equal(saved.meeting.class, 'thematic', 'the class chosen in the form');
  assert.equal(await page.$eval('#d-class', (e) => [e.dataset.class, e.textContent].join(' | ')), 'thematic | Hội nghị, cuộc họp chuyên đề — lưu 20 năm');
  assert.ok(Math.abs(saved.meeting.start - Math.floor(now / 60_000) * 60_000) < 60_000, 'the start is the province time typed, in ms');

  // ---- The links table: an official link per invited unit and the chair's link.
  const apiLinks = (await links(hub.origin, bearer, meetingId)).filter((l) => l.revoked_at == null);
  assert.equal(apiLinks.length, EXPECTED_INVITED + 1);
  await waitFor(async () => (await page.$$('#meeting-details tr[data-link-id]')).length === apiLinks.length, {
    message: 'one row per link in the details panel',
  });
  const rows = await page.$$eval('#meeting-details tr[data-link-id]', (trs) => trs.map((tr) => ({
    id: tr.dataset.linkId,
    unit: tr.dataset.unitId,
    role: tr.dataset.role,
    href: tr.querySelector('a.join-link')?.getAttribute('href'),
    copy: Boolean(tr.querySelector('button.copy-link')),
  })));
  for (const l of apiLinks) {
    const row = rows.find((r) => r.id === String(l.id));
    assert.ok(row, `a row for link ${l.id}`);
    assert.equal(row.href, l.url);
    assert.equal(row.unit, l.unit.id);
    assert.equal(row.role, l.role);
    assert.ok(row.copy, 'each link has a copy button');
  }
  const officials = rows.filter((r) => r.role === 'official').map((r) => r.unit).sort();
  assert.deepEqual(officials, [...DAI_TU_COMMUNES, idOf(DAI_TU)].sort());
  assert.deepEqual(rows.filter((r) => r.role === 'chair').map((r) => r.unit), [idOf(DAI_TU)]);
  assert.equal(await page.$eval('#links-csv', (a) => new URL(a.href).pathname), `/api/meetings/${meetingId}/links.csv`);
  assert.equal(await page.$eval('#meeting-ics', (a) => new URL(a.href).pathname), `/api/meetings/${meetingId}/meeting.ics`);
  assert.ok(await page.$('#cancel-meeting'), 'a planned meeting can be cancelled');
  // The CSV answers to the cookie session, as the <a download> will.
  const csv = await page.evaluate(async (href) => {
    const r = await fetch(href);
    return { status: r.status, text: await r.text() };
  }, await page.$eval('#links-csv', (a) => a.href));
  assert.equal(csv.status, 200);
  assert.ok(csv.text.includes(apiLinks[0].url), 'the CSV lists the links');
  await screenshot(page, 'schedule-details');

  // The agenda view lists it too.
  await page.click('#view-agenda');
  await page.waitForSelector(`#calendar .agenda-item[data-meeting-id="${meetingId}"]`);
  await screenshot(page, 'schedule-agenda');
  await page.click('#view-week');

  // ---- One official link (a commune's) opens the meeting page: greeting, pre-join, join.
  const communeRow = rows.find((r) => r.role === 'official' && r.unit === one);
  const joinUrl = new URL(`meeting.html${new URL(communeRow.href).search}`, hub.url).href;
  const joiner = await newPage(chromium);
  await joiner.goto(joinUrl);
  await waitFor(async () => (await view(joiner)) === 'prejoin', { message: `pre-join view (console: ${recent(joiner)})` });
  assert.ok((await joiner.evaluate(() => document.body.innerText)).includes(TITLE), 'the pre-join view shows the meeting title');
  if (await joiner.$('#display-name')) {
    const typed = await joiner.$eval('#display-name', (e) => e.value);
    if (!typed) await joiner.type('#display-name', 'Trần Văn Xã');
  }
  await joiner.waitForSelector('#join:not([disabled])', { timeout: 15_000 });
  await joiner.click('#join');
  await waitFor(async () => (await view(joiner)) === 'meeting', { timeout: 20_000, message: `in the meeting (console: ${recent(joiner)})` });
  await screenshot(joiner, 'schedule-link-joined');

  // The meeting is live: the details panel says so and its roll call shows the commune.
  await waitFor(async () => (await api(hub.origin, bearer, 'GET', `/api/meetings/${meetingId}`)).meeting.state === 'live', {
    message: 'the meeting went live when the first participant joined',
  });
  // Back to the scheduler's tab: a background tab renders no frames, and clicks wait for one.
  await page.bringToFront();
  await page.reload();
  await waitFor(() => page.$eval('#meeting-details', (e) => e.dataset.loaded === 'true' && e.dataset.state === 'live'), {
    message: `the details panel shows the live meeting (console: ${recent(page)})`,
  });
  await page.click('#roll-call-toggle');
  await page.waitForSelector(`#roll-call tr[data-unit-id="${one}"][data-status="connected"]`, { timeout: 10_000 });
  await screenshot(page, 'schedule-roll-call');

  // ---- A link of another meeting is refused on this one.
  const tomorrow = now + 24 * 3600_000;
  const { meeting: other } = await createMeeting(hub.origin, bearer, {
    title: 'Họp các xã huyện Phú Bình',
    agenda: '',
    start: tomorrow,
    end: tomorrow + 3600_000,
    weekly_until: null,
    host_unit: idOf(PHU_BINH),
    chair_unit: idOf(PHU_BINH),
    chair_person: '',
    chair_user: null,
    scope: { root: idOf(PHU_BINH), tiers: ['commune'], add: [], remove: [] },
    recorded: false,
    acknowledge_conflicts: true,
  });
  const otherLink = (await links(hub.origin, bearer, other.id)).find((l) => l.role === 'official' && l.revoked_at == null);
  assert.ok(otherLink, 'the second meeting has official links');
  const otherToken = new URL(otherLink.url).searchParams.get('token');
  const refused = await newPage(chromium);
  await refused.goto(`${hub.url}meeting.html?${new URLSearchParams({ meeting: String(meetingId), token: otherToken })}`);
  await waitFor(async () => (await view(refused)) === 'error', { message: `the error view (console: ${recent(refused)})` });
  const error = await refused.$eval('#error-message', (e) => ({ text: e.textContent.trim(), code: e.dataset.errorCode }));
  assert.ok(error.text.length > 0, 'the refusal is explained');
  assert.equal(error.code, 'wrong_meeting');
  await screenshot(refused, 'schedule-wrong-meeting');

  const uncaught = page.consoleLines.filter((l) => l.startsWith('pageerror'));
  assert.deepEqual(uncaught, [], 'no uncaught errors on the schedule page');
  await Promise.all([refused.close(), joiner.close(), page.close()]);
});
