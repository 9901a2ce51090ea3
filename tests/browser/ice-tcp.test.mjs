// ICE over TCP: a commune whose UDP is blocked still meets, and nobody else is moved off UDP.
// Over HTTPS, as a province's hub is reached: `cau --tls self-signed` on the namespace's veth
// address, its certificate accepted by the test (trustingHub).
//
// The hub offers, beside its UDP host candidate, a passive TCP one (RFC 6544) on its
// `--tcp-port` (the UDP port's number by default; here both are picked by the OS, and read
// from the hub's ready line). The web client does nothing special: the browser ranks the two.
//
// 1. The chair (Chromium) joins with UDP open: it knows the hub's TCP candidate (a host one on
//    the hub's TCP port, in the SDP the hub sent), and the selected pair is UDP — UDP preferred.
// 2. nftables in the test's network namespace drops every UDP packet to the hub's media
//    port, counting them.
// 3. An official (Firefox) joins: its selected pair is TCP to the hub's TCP port, and it
//    decodes the chair.
// 4. The chair's UDP path is dead too: its page notices, restarts ICE on its own, and comes
//    back over TCP; both decode each other. nftables counted the UDP the browsers still tried.
//
// Evidence in artifacts/: ice-tcp-chair.png, ice-tcp-official.png.

import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { closeBrowser, launchChromium, launchFirefox, newPage, screenshot, trustingHub, waitFor } from './lib/browsers.mjs';
import { startHubWithAccount } from './lib/setup.mjs';
import { planLiveMeeting } from './lib/api.mjs';
import { autojoinUrl, expectReceivingAll, inMeeting, mediaPath, recent } from './lib/meeting-page.mjs';

const SCHEDULER = { username: 'lich-hop', name: 'Cán bộ lập lịch', roles: ['scheduler'], password: 'Mat-khau-thu-nghiem-2025' };
/** The nftables table this test adds (and removes) in its network namespace. */
const TABLE = 'cau_test_block_udp';

let setup;
let hub;
let chromium;
let firefox;

const nft = (...args) => execFileSync('nft', args, { encoding: 'utf8' });

/** Drop (and count) every UDP packet to `port` arriving in this namespace. */
function blockUdp(port) {
  nft('add', 'table', 'inet', TABLE);
  nft('add', 'chain', 'inet', TABLE, 'input', '{ type filter hook input priority -10 ; policy accept ; }');
  nft('add', 'rule', 'inet', TABLE, 'input', 'udp', 'dport', String(port), 'counter', 'drop');
}

/** UDP packets the rule dropped so far. */
function udpDropped() {
  const m = /counter packets (\d+)/.exec(nft('list', 'table', 'inet', TABLE));
  return m ? Number(m[1]) : 0;
}

function unblockUdp() {
  try {
    nft('delete', 'table', 'inet', TABLE);
  } catch {
    // not added
  }
}

before(async () => {
  setup = await startHubWithAccount('ice-tcp', SCHEDULER, { extraArgs: ['--tls', 'self-signed'] });
  ({ hub } = setup);
  assert.ok(hub.udpPort && hub.tcpPort, `the hub says its UDP and TCP media ports (${hub.udpPort}, ${hub.tcpPort})`);
  [chromium, firefox] = await Promise.all([
    launchChromium({ ...trustingHub(hub, 'chromium'), logName: 'chromium-ice-tcp' }),
    launchFirefox({ ...trustingHub(hub, 'firefox'), logName: 'firefox-ice-tcp' }),
  ]);
});

after(async () => {
  unblockUdp();
  await Promise.all([closeBrowser(chromium), closeBrowser(firefox)]);
  await setup?.stop();
});

/** The page's selected pair once it is a succeeded one over `protocol` (waits up to `timeout`). */
const pathOver = (page, who, protocol, timeout) => waitFor(async () => {
  const p = await mediaPath(page);
  return p.pair?.state === 'succeeded' && p.remote?.protocol === protocol ? p : null;
}, {
  timeout,
  message: `${who}: a selected candidate pair over ${protocol} (${recent(page)})`,
});

test('a browser whose UDP is blocked joins over ICE-TCP; UDP stays first for the others', { timeout: 180_000 }, async () => {
  const { linkOf } = await planLiveMeeting(hub.origin, setup.bearer, {
    title: 'Giao ban qua TCP',
    scope: { root: 'province:19', tiers: ['province'], add: ['commune:5431'], remove: [] },
    acknowledgeConflicts: true,
  });
  const open = (link, name) => autojoinUrl(hub.url, link, name);

  // 1. UDP open: offered TCP, chose UDP.
  const chair = await newPage(chromium);
  await chair.goto(open(linkOf('province:19', 'chair'), 'Nguyễn Văn Chủ'));
  await inMeeting(chair, 'the chair', 40_000);
  // The hub's TCP candidate, as the browser was told it: the candidate lines of the SDP the
  // page holds from the hub (getStats lists a remote candidate only once the browser has
  // paired it, which Chromium may never do while its UDP pair works).
  const remoteCandidates = await waitFor(async () => {
    const found = await chair.evaluate(() => (window.cau.client.pc.remoteDescription?.sdp ?? '')
      .split(/\r?\n/)
      .filter((line) => line.startsWith('a=candidate:'))
      .map((line) => {
        // a=candidate:FOUNDATION COMPONENT PROTOCOL PRIORITY ADDRESS PORT typ TYPE [tcptype T]
        const f = line.slice('a=candidate:'.length).split(' ');
        const tcpType = f.indexOf('tcptype');
        return { protocol: f[2].toLowerCase(), port: Number(f[5]), type: f[7], tcpType: tcpType > 0 ? f[tcpType + 1] : null };
      }));
    return found.some((c) => c.protocol === 'tcp') ? found : null;
  }, { timeout: 10_000, message: `the hub offered the chair a TCP candidate (${recent(chair)})` });
  const tcpCandidate = remoteCandidates.find((c) => c.protocol === 'tcp');
  assert.equal(tcpCandidate.port, hub.tcpPort, `the hub's TCP candidate is on its TCP port (${JSON.stringify(remoteCandidates)})`);
  assert.equal(tcpCandidate.type, 'host', `a host candidate (${JSON.stringify(tcpCandidate)})`);
  assert.equal(tcpCandidate.tcpType, 'passive', `a passive one: the browser connects to it (${JSON.stringify(tcpCandidate)})`);
  const before = await pathOver(chair, 'chair (UDP open)', 'udp', 20_000);
  assert.equal(before.remote.port, hub.udpPort, `the chair's media goes to the UDP port (${JSON.stringify(before)})`);

  // 2. UDP to the media port dropped from now on.
  blockUdp(hub.udpPort);

  // 3. A Firefox official, UDP blocked from the start: over TCP.
  const official = await newPage(firefox);
  await official.goto(open(linkOf('commune:5431'), 'Lê Văn Cường'));
  await inMeeting(official, 'the official', 40_000);
  const officialPath = await pathOver(official, 'official', 'tcp', 30_000);
  assert.equal(officialPath.remote.port, hub.tcpPort, `the official's media goes to the hub's TCP port (${JSON.stringify(officialPath)})`);

  // 4. The chair lost its UDP path: it restarts ICE by itself and comes back over TCP.
  const chairPath = await pathOver(chair, 'chair (after UDP was blocked)', 'tcp', 60_000);
  assert.equal(chairPath.remote.port, hub.tcpPort, `the chair's media goes to the hub's TCP port now (${JSON.stringify(chairPath)})`);
  await expectReceivingAll(official, 1, 'official');
  await expectReceivingAll(chair, 1, 'chair');
  const dropped = udpDropped();
  assert.ok(dropped > 0, `the browsers tried UDP and nftables dropped it (${dropped} packets)`);
  console.log(`# media paths: ${JSON.stringify({ before, chair: chairPath, official: officialPath, udpDropped: dropped })}`);

  await waitFor(async () => (await chair.$$('.tile[data-participant-id] video')).length > 0, { message: 'the chair shows the official' });
  await screenshot(chair, 'ice-tcp-chair');
  await screenshot(official, 'ice-tcp-official');
});
