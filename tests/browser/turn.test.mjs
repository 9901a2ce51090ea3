// Through a TURN relay: coturn (Debian's `turnserver`, `use-auth-secret`) on the namespace's
// address and the hub started with `--turn-url` and the same `--turn-secret`, serving HTTPS
// (`--tls self-signed`, its certificate accepted by the test: trustingHub). Both pages are
// made relay-only without touching the web client: before any script of the page runs, the
// page's RTCPeerConnection is replaced by a subclass that adds `iceTransportPolicy: 'relay'`
// to whatever configuration it is given (and keeps that configuration in
// window.__pcConfigs). So a page gathers nothing but relayed candidates, and can reach the
// hub only if the credentials `welcome` carried open an allocation on coturn.
//
// The chair (Chromium) and an official (Firefox) meet; each decodes the other's video; the
// peer connection was made with the hub's TURN server, a username `EXPIRY:PARTICIPANT_ID`
// (expiring in the hub's default 12 h) and base64(HMAC-SHA1(secret, username)) as its
// credential; the selected candidate pair's local candidate is a `relay` one on coturn's
// relay range (and the page has no other kind); coturn logged a successful ALLOCATE for each
// participant's username. A probe peer connection with the same username and a wrong
// credential gathers no relay candidate (coturn checks the secret; the right one gathers one).
//
// Evidence in artifacts/: turn-chair.png, turn-official.png, turnserver.log.

import { createHmac } from 'node:crypto';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { TEST_ADDR, closeBrowser, launchChromium, launchFirefox, newPage, screenshot, trustingHub, waitFor } from './lib/browsers.mjs';
import { startHubWithAccount } from './lib/setup.mjs';
import { planLiveMeeting } from './lib/api.mjs';
import { startCoturn } from './lib/coturn.mjs';
import { autojoinUrl, expectReceivingAll, inMeeting, mediaPath, recent, selfId } from './lib/meeting-page.mjs';

const SCHEDULER = { username: 'lich-hop', name: 'Cán bộ lập lịch', roles: ['scheduler'], password: 'Mat-khau-thu-nghiem-2025' };
const SECRET = 'bi-mat-chung-voi-coturn-2025';
const RELAY_PORTS = [49152, 49200];
const DEFAULT_TTL_SECS = 43_200; // the hub's --turn-ttl-secs default

let turn;
let setup;
let hub;
let chromium;
let firefox;

before(async () => {
  turn = await startCoturn({ secret: SECRET, relayPorts: RELAY_PORTS });
  setup = await startHubWithAccount('turn', SCHEDULER, {
    extraArgs: ['--tls', 'self-signed', '--turn-url', turn.url, '--turn-secret', SECRET],
  });
  ({ hub } = setup);
  [chromium, firefox] = await Promise.all([
    launchChromium({ ...trustingHub(hub, 'chromium'), logName: 'chromium-turn' }),
    launchFirefox({ ...trustingHub(hub, 'firefox'), logName: 'firefox-turn' }),
  ]);
});

after(async () => {
  await Promise.all([closeBrowser(chromium), closeBrowser(firefox)]);
  await setup?.stop();
  await turn?.stop();
});

/** A page whose every RTCPeerConnection is relay-only (window.__pcConfigs: what each got). */
async function relayOnlyPage(browser) {
  const page = await newPage(browser);
  await page.evaluateOnNewDocument(() => {
    const Native = window.RTCPeerConnection;
    if (!Native) return;
    window.__pcConfigs = [];
    // A subclass: `instanceof RTCPeerConnection` and the prototype's methods stay as they were.
    class RelayOnly extends Native {
      constructor(config, ...rest) {
        const forced = { ...(config ?? {}), iceTransportPolicy: 'relay' };
        window.__pcConfigs.push(JSON.parse(JSON.stringify(forced)));
        super(forced, ...rest);
      }
    }
    window.RTCPeerConnection = RelayOnly;
  });
  return page;
}

/**
 * The candidate types a fresh relay-only peer connection gathers in `page` with `iceServers`
 * (until gathering completes, or 10 s).
 */
const gatherRelay = (page, iceServers) => page.evaluate(async (servers) => {
  const pc = new RTCPeerConnection({ iceServers: servers, iceTransportPolicy: 'relay' });
  const types = [];
  pc.onicecandidate = (e) => {
    if (e.candidate?.candidate) types.push(e.candidate.type ?? / typ (\w+)/.exec(e.candidate.candidate)?.[1]);
  };
  pc.createDataChannel('probe');
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, 10_000);
    const done = () => {
      if (pc.iceGatheringState === 'complete') {
        clearTimeout(timer);
        resolve();
      }
    };
    pc.onicegatheringstatechange = done;
    done();
  });
  pc.close();
  return types;
}, iceServers);

test('a browser joins over a TURN relay (coturn) with iceTransportPolicy relay', { timeout: 150_000 }, async () => {
  const { linkOf } = await planLiveMeeting(hub.origin, setup.bearer, {
    title: 'Giao ban qua máy chủ chuyển tiếp',
    scope: { root: 'province:19', tiers: ['province'], add: ['commune:5431'], remove: [] },
    acknowledgeConflicts: true,
  });
  const open = (link, name) => autojoinUrl(hub.url, link, name);

  const chair = await relayOnlyPage(chromium);
  await chair.goto(open(linkOf('province:19', 'chair'), 'Nguyễn Văn Chủ'));
  await inMeeting(chair, 'the chair', 40_000);
  const official = await relayOnlyPage(firefox);
  await official.goto(open(linkOf('commune:5431'), 'Lê Văn Cường'));
  await inMeeting(official, 'the official', 40_000);

  await expectReceivingAll(chair, 1, 'chair');
  await expectReceivingAll(official, 1, 'official');

  const seen = {};
  const startedAt = Math.floor(Date.now() / 1000);
  for (const [who, page] of [['chair', chair], ['official', official]]) {
    const id = await selfId(page);
    assert.ok(id, `${who} has a participant id`);

    // The peer connection: the hub's TURN server, this participant's own credentials, relay only.
    const configs = await page.evaluate(() => window.__pcConfigs);
    assert.equal(configs?.length, 1, `${who}: one peer connection (${JSON.stringify(configs)})`);
    const [config] = configs;
    assert.equal(config.iceTransportPolicy, 'relay', `${who}: relay only`);
    const servers = config.iceServers ?? [];
    const server = servers.find((s) => [s.urls].flat().includes(turn.url));
    assert.ok(server, `${who}: welcome named ${turn.url} (${JSON.stringify(servers)})`);
    const m = /^(\d+):(.+)$/.exec(server.username ?? '');
    assert.ok(m, `${who}: username EXPIRY:ID (${server.username})`);
    assert.equal(m[2], id, `${who}: the username names this participant`);
    const expiry = Number(m[1]);
    assert.ok(Math.abs(expiry - (startedAt + DEFAULT_TTL_SECS)) < 300, `${who}: expires in about 12 h (${expiry}, now ${startedAt})`);
    assert.equal(server.credential, createHmac('sha1', SECRET).update(server.username).digest('base64'),
      `${who}: credential = base64(HMAC-SHA1(secret, username))`);

    // The media goes through coturn: the selected pair's local candidate is a relayed one.
    const p = await waitFor(async () => {
      const now = await mediaPath(page);
      return now.pair?.state === 'succeeded' && now.local ? now : null;
    }, { timeout: 15_000, message: `${who}: a selected candidate pair (${recent(page)})` });
    assert.equal(p.local.candidateType, 'relay', `${who}: the local candidate is relayed (${JSON.stringify(p)})`);
    assert.equal(p.local.address, TEST_ADDR, `${who}: relayed from coturn's address (${JSON.stringify(p.local)})`);
    assert.ok(p.local.port >= RELAY_PORTS[0] && p.local.port <= RELAY_PORTS[1], `${who}: a port of coturn's relay range (${p.local.port})`);
    assert.ok(p.localTypes.length > 0 && p.localTypes.every((t) => t === 'relay'), `${who}: relayed candidates only (${p.localTypes})`);
    assert.equal(p.remote?.address, TEST_ADDR, `${who}: the far end is the hub (${JSON.stringify(p.remote)})`);
    seen[who] = { id, server, path: p };
  }
  console.log(`# media paths: ${JSON.stringify(Object.fromEntries(Object.entries(seen).map(([w, s]) => [w, s.path])))}`);

  // coturn saw each participant's username allocate a relay, and succeed.
  for (const [who, { server }] of Object.entries(seen)) {
    await waitFor(() => turn.log().split('\n').some((l) => l.includes(`user <${server.username}>`) && /ALLOCATE processed, success/.test(l)), {
      timeout: 5_000,
      message: `${who}: coturn logged a successful ALLOCATE for ${server.username} (see ${turn.logFile})`,
    });
  }

  // Only the secret's credentials open a relay: the same username with a wrong credential
  // gathers nothing, the hub's credential gathers a relayed candidate (a blank probe page).
  const probe = await newPage(chromium);
  const { server } = seen.chair;
  const good = await gatherRelay(probe, [server]);
  assert.ok(good.includes('relay'), `the hub's credential gathers a relay candidate (${good})`);
  const forged = createHmac('sha1', 'not-the-secret-at-all-0000').update(server.username).digest('base64');
  const bad = await gatherRelay(probe, [{ ...server, credential: forged }]);
  assert.deepEqual(bad, [], `a wrong credential gathers nothing (${bad})`);
  await probe.close();
  await chair.bringToFront();

  await waitFor(async () => (await chair.$$('.tile[data-participant-id] video')).length > 0, { message: 'the chair shows the official' });
  await screenshot(chair, 'turn-chair');
  await screenshot(official, 'turn-official');
});
