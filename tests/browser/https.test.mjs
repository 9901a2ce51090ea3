// Over HTTPS with the hub's own certificate: `cau --tls self-signed` on 198.18.0.1 — the
// namespace's veth address, not loopback, so nothing but HTTPS makes the pages a secure
// context — and two Chromiums that accept exactly that certificate
// (--ignore-certificate-errors-spki-list with the key's SHA-256 the hub printed) and are told
// nothing else about the origin. The chair and an official join a meeting; each decodes the
// other's video and hears the other; the pages are secure contexts on https:, the websocket
// is wss:, and no page reports a Content-Security-Policy violation. The official comes in by
// the plain-HTTP link and is redirected to HTTPS (--http-redirect).
//
// Evidence in artifacts/: https-official.png, https-chair.png.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { TEST_ADDR, closeBrowser, launchChromium, newCspWatchedPage, screenshot, waitFor } from './lib/browsers.mjs';
import { startHubWithAccount } from './lib/setup.mjs';
import { planLiveMeeting } from './lib/api.mjs';
import { expectReceivingAll, inMeeting, pageErrors, recent } from './lib/meeting-page.mjs';

const SCHEDULER = { username: 'lich-hop', name: 'Cán bộ lập lịch', roles: ['scheduler'], password: 'Mat-khau-thu-nghiem-2025' };

let setup;
let hub;
let chairBrowser;
let officialBrowser;

before(async () => {
  setup = await startHubWithAccount('https', SCHEDULER, {
    extraArgs: ['--tls', 'self-signed', '--http-redirect', `${TEST_ADDR}:0`],
  });
  ({ hub } = setup);
  assert.ok(hub.url.startsWith(`https://${TEST_ADDR}:`), hub.url);
  assert.ok(hub.spki, 'the hub printed its certificate key’s SHA-256');
  assert.ok(hub.redirect, 'the hub printed where plain HTTP is redirected');
  const trustOnlyThis = [`--ignore-certificate-errors-spki-list=${hub.spki}`];
  [chairBrowser, officialBrowser] = await Promise.all([
    launchChromium({ extraArgs: trustOnlyThis, logName: 'chromium-https-chair' }),
    launchChromium({ extraArgs: trustOnlyThis, logName: 'chromium-https-official' }),
  ]);
});

after(async () => {
  await Promise.all([closeBrowser(chairBrowser), closeBrowser(officialBrowser)]);
  await setup?.stop();
});

/** What makes this page work: https:, a secure context, media devices, and the websocket's URL. */
const security = (page) => page.evaluate(() => ({
  protocol: location.protocol,
  secure: window.isSecureContext,
  media: Boolean(navigator.mediaDevices?.getUserMedia),
  ws: window.cau?.client?.ws?.url ?? null,
  csp: window.__csp,
}));

test('the chair and an official meet over HTTPS with the hub’s own certificate', { timeout: 120_000 }, async () => {
  const { linkOf } = await planLiveMeeting(hub.origin, setup.bearer, {
    title: 'Giao ban qua HTTPS',
    scope: { root: 'province:19', tiers: ['province'], add: ['commune:5431'], remove: [] },
    acknowledgeConflicts: true,
  });
  const open = (link, name) => {
    const url = new URL(link.url);
    url.searchParams.set('name', name);
    url.searchParams.set('autojoin', '1');
    return url;
  };

  const chair = await newCspWatchedPage(chairBrowser);
  const chairUrl = open(linkOf('province:19', 'chair'), 'Nguyễn Văn Chủ');
  assert.equal(chairUrl.protocol, 'https:', `the join link is an HTTPS one (${chairUrl})`);
  await chair.goto(chairUrl.href);
  await inMeeting(chair, 'the chair');

  // The official types the address without https: the redirect takes it there.
  const official = await newCspWatchedPage(officialBrowser);
  const plain = open(linkOf('commune:5431'), 'Lê Văn Cường');
  plain.protocol = 'http:';
  plain.port = String(hub.redirect.port);
  await official.goto(plain.href);
  assert.equal(new URL(official.url()).origin, hub.origin, `redirected to ${hub.origin} (${official.url()})`);
  await inMeeting(official, 'the official');

  await expectReceivingAll(official, 1, 'official');
  await expectReceivingAll(chair, 1, 'chair');

  for (const [who, page] of [['chair', chair], ['official', official]]) {
    const s = await security(page);
    assert.equal(s.protocol, 'https:', who);
    assert.ok(s.secure && s.media, `${who}: a secure context with camera and microphone (${JSON.stringify(s)})`);
    assert.ok(s.ws?.startsWith(`wss://${hub.host}:${hub.port}/`), `${who}: the websocket is wss (${s.ws})`);
    assert.deepEqual(s.csp, [], `${who}: no Content-Security-Policy violation`);
    assert.deepEqual(pageErrors(page), [], `${who}: no page errors (${recent(page)})`);
  }
  await waitFor(async () => (await official.$$('.tile[data-participant-id] video')).length > 0, { message: 'the official shows the chair' });
  await screenshot(official, 'https-official');
  await screenshot(chair, 'https-chair');
});
