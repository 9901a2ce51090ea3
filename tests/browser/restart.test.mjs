// The hub restarted under two meeting pages: `cau` stopped with SIGTERM and started again on the
// same data directory and the same HTTP port. The chair and an official (two Chromiums) meet
// and decode each other; at SIGTERM every websocket is told `bye` `server_shutdown` and closed
// with 1001 (seen on the wire, by a listener the test adds to the page's WebSocket) and the
// hub exits with status 0; each page keeps the meeting view with its reconnection banner and
// keeps `server_shutdown` as the reason it lost the hub; a try while the hub is down fails and
// the page waits for the next (the banner's second attempt). The hub comes back (the scheduler's
// account and the planned meeting are in the data directory; the pages' origin is unchanged,
// so the join links still work): both pages join again by themselves, as new participants,
// and decode each other again; the second hub's /metrics counts two participants.
//
// The banner's words: the page says the server is restarting (i18n `error.server_shutdown`),
// not merely that the connection was lost.
//
// Evidence in artifacts/: restart-told.png (the chair's page, told), restart-back.png (the
// chair's page after the rejoin), restart-official-*.png, hub-1.log, hub-2.log.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { closeBrowser, launchChromium, newPage, screenshot, waitFor } from './lib/browsers.mjs';
import { startHub } from './lib/hub.mjs';
import { startHubWithAccount } from './lib/setup.mjs';
import { login, planLiveMeeting } from './lib/api.mjs';
import { autojoinUrl, expectReceivingAll, inMeeting, recent, selfId } from './lib/meeting-page.mjs';

const SCHEDULER = { username: 'lich-hop', name: 'Cán bộ lập lịch', roles: ['scheduler'], password: 'Mat-khau-thu-nghiem-2025' };

let setup;
let hub;
let second;
let chairBrowser;
let officialBrowser;

before(async () => {
  setup = await startHubWithAccount('restart', SCHEDULER);
  ({ hub } = setup);
  [chairBrowser, officialBrowser] = await Promise.all([
    launchChromium({ secureOrigins: [hub.url], logName: 'chromium-restart-chair' }),
    launchChromium({ secureOrigins: [hub.url], logName: 'chromium-restart-official' }),
  ]);
});

after(async () => {
  await Promise.all([closeBrowser(chairBrowser), closeBrowser(officialBrowser)]);
  await second?.stop();
  await setup?.stop();
});

/** A page that keeps every `bye` the hub sends and every websocket close (window.__wire). */
async function watchedPage(browser) {
  const page = await newPage(browser);
  await page.evaluateOnNewDocument(() => {
    const Native = window.WebSocket;
    window.__wire = { byes: [], closes: [] };
    class Watched extends Native {
      constructor(...args) {
        super(...args);
        this.addEventListener('message', (e) => {
          if (typeof e.data !== 'string' || !e.data.includes('"bye"')) return;
          try {
            const m = JSON.parse(e.data);
            if (m?.type === 'bye') window.__wire.byes.push({ reason: m.reason, at: Date.now() });
          } catch {
            // not JSON: not ours to judge
          }
        });
        this.addEventListener('close', (e) => window.__wire.closes.push({ code: e.code, at: Date.now() }));
      }
    }
    window.WebSocket = Watched;
  });
  return page;
}

/** What the page shows and knows about its connection. */
const connection = (page) => page.evaluate(async () => {
  const S = window.cau.state;
  const banner = document.getElementById('conn-banner');
  const { t } = await import('/js/i18n.js');
  return {
    view: document.body.dataset.view,
    reconnecting: S.reconnecting,
    lostReason: S.lostReason,
    client: {
      state: window.cau.client.state,
      participantId: window.cau.client.participantId,
      sessionId: window.cau.client.sessionId ?? null,
      closeReason: window.cau.client.closeReason ?? null,
    },
    banner: banner.hidden ? null : { attempt: banner.dataset.attempt, title: document.getElementById('conn-banner-title').textContent, text: document.getElementById('conn-banner-text').textContent },
    status: document.getElementById('conn-status')?.dataset.status ?? null,
    restarting: t('error.server_shutdown'),
    wire: window.__wire,
  };
});

/** Frames decoded, now, from every participant this page knows ({id: frames}). */
const framesFromAll = (page) => page.evaluate(async () => {
  const c = window.cau.client;
  const out = {};
  for (const id of c.participants.keys()) {
    const s = c.slotOf(id, 'video');
    const tr = s && c.transceiverOf(s.mid);
    let f = 0;
    if (tr) (await tr.receiver.getStats()).forEach((r) => { if (r.type === 'inbound-rtp') f = r.framesDecoded ?? 0; });
    out[id] = f;
  }
  return out;
});

/** The hub's Prometheus figures, by name. */
async function metrics(h) {
  const text = await (await fetch(new URL('/metrics', h.url))).text();
  return Object.fromEntries(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => {
    const [name, value] = l.split(' ');
    return [name, Number(value)];
  }));
}

test('the hub stopped with SIGTERM and started again on the same port: the page is told and rejoins by itself', { timeout: 240_000 }, async () => {
  const { linkOf } = await planLiveMeeting(hub.origin, setup.bearer, {
    title: 'Giao ban khi máy chủ khởi động lại',
    scope: { root: 'province:19', tiers: ['province'], add: ['commune:5431'], remove: [] },
    acknowledgeConflicts: true,
  });
  const open = (link, name) => autojoinUrl(hub.url, link, name);
  const chair = await watchedPage(chairBrowser);
  await chair.goto(open(linkOf('province:19', 'chair'), 'Nguyễn Văn Chủ'));
  await inMeeting(chair, 'the chair');
  const official = await watchedPage(officialBrowser);
  await official.goto(open(linkOf('commune:5431'), 'Lê Văn Cường'));
  await inMeeting(official, 'the official');
  await expectReceivingAll(chair, 1, 'chair');
  await expectReceivingAll(official, 1, 'official');
  const pages = [['chair', chair], ['official', official]];
  // The session each page is in (participant ids restart at e1 with the process: the session,
  // kept in the database, is what tells the rejoin apart).
  const before = {};
  for (const [who, page] of pages) before[who] = (await connection(page)).client.sessionId;
  assert.ok(before.chair != null && before.chair === before.official, `one session (${JSON.stringify(before)})`);

  // SIGTERM: told, closed with 1001, a clean exit.
  const stoppedAt = Date.now();
  const code = await hub.stop();
  const stopMs = Date.now() - stoppedAt;
  assert.equal(code, 0, `the hub exits with status 0 after SIGTERM (see ${hub.logFile})`);
  const told = {};
  for (const [who, page] of pages) {
    told[who] = await waitFor(async () => {
      const c = await connection(page);
      return c.wire.byes.some((b) => b.reason === 'server_shutdown') && c.reconnecting && c.banner ? c : null;
    }, { timeout: 10_000, message: `${who} is told and shows the reconnection banner (${recent(page)})` });
    const c = told[who];
    assert.equal(c.wire.byes[0].reason, 'server_shutdown', `${who}: the first bye says server_shutdown (${JSON.stringify(c.wire)})`);
    assert.equal(c.wire.closes[0]?.code, 1001, `${who}: the hub closed the websocket with 1001 (${JSON.stringify(c.wire.closes)})`);
    assert.equal(c.lostReason, 'server_shutdown', `${who}: the page keeps why it lost the hub`);
    assert.equal(c.view, 'meeting', `${who}: still the meeting view, not the error view`);
    assert.equal(c.status, 'reconnecting', `${who}: the status pill says reconnecting`);
  }
  console.log(`# told (hub stopped in ${stopMs} ms): ${JSON.stringify(Object.fromEntries(Object.entries(told).map(([w, c]) => [w, { banner: c.banner, restarting: c.restarting }])))}`);
  await chair.bringToFront();
  await screenshot(chair, 'restart-told');
  await screenshot(official, 'restart-official-told');
  for (const [who, c] of Object.entries(told)) {
    assert.ok(`${c.banner.title} ${c.banner.text}`.includes(c.restarting), `${who}: "${c.restarting}" in the banner (${JSON.stringify(c.banner)})`);
  }

  // While the hub is down a try fails (nothing listens on the port) and the page just waits for
  // the next one: the banner counts a second attempt, still the meeting view.
  for (const [who, page] of pages) {
    await waitFor(async () => {
      const c = await connection(page);
      return Number(c.banner?.attempt) >= 2 && c.view === 'meeting' ? c : null;
    }, { timeout: 10_000, message: `${who} tries again while the hub is down (${recent(page)})` });
  }

  // The same data directory and port: the account, the meeting and its links are still there.
  second = await startHub({ dataDir: setup.dataDir, port: hub.port });
  assert.equal(second.origin, hub.origin, 'the hub is back where it was');
  await login(second.origin, SCHEDULER.username, SCHEDULER.password);
  const backAt = Date.now();
  for (const [who, page] of pages) {
    await waitFor(async () => {
      const c = await connection(page);
      return c.view === 'meeting' && !c.reconnecting && c.client.state === 'joined' && c.client.sessionId > before[who] ? c : null;
    }, { timeout: 60_000, interval: 500, message: `${who} rejoins by itself (${recent(page)})` });
  }
  const rejoinMs = Date.now() - backAt;
  await expectReceivingAll(chair, 1, 'chair after the restart');
  await expectReceivingAll(official, 1, 'official after the restart');
  // Each now decodes the other's new participant, not someone left over.
  const chairNow = await selfId(chair);
  const officialNow = await selfId(official);
  assert.deepEqual(Object.keys(await framesFromAll(chair)), [officialNow], 'the chair knows the official as rejoined');
  assert.deepEqual(Object.keys(await framesFromAll(official)), [chairNow], 'the official knows the chair as rejoined');
  for (const [who, page] of pages) {
    const c = await connection(page);
    assert.equal(c.banner, null, `${who}: the banner is gone`);
    assert.equal(c.status, 'connected', `${who}: the status pill says connected`);
    assert.deepEqual(page.consoleLines.filter((l) => l.startsWith('pageerror')), [], `${who}: no uncaught page error`);
  }
  const m = await metrics(second);
  assert.equal(m.cau_participants, 2, `the second hub counts two participants (${JSON.stringify(m)})`);
  console.log(`# back: both pages joined again ${rejoinMs} ms after the hub was ready`);
  await chair.bringToFront();
  await waitFor(async () => (await chair.$$('.tile[data-participant-id] video')).length > 0, { message: 'the chair shows the official' });
  await screenshot(chair, 'restart-back');
  await screenshot(official, 'restart-official-back');
});
