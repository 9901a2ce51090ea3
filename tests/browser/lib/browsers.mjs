// Launching real browsers for Cầu's tests, and the helpers every browser test uses.
//
// - Chromium: Debian's /usr/bin/chromium, driven over CDP by puppeteer-core.
// - Firefox ESR: Debian's /usr/bin/firefox-esr, driven over WebDriver BiDi by
//   puppeteer-core (`browser: 'firefox'`). Playwright can't drive it here.
// No browser is ever downloaded: puppeteer-core only launches these binaries.
//
// Run the tests inside scripts/netns-run: Firefox gathers no ICE candidates
// without a default route, and never offers 127.0.0.1. Inside the namespace
// CAU_TEST_ADDR (198.18.0.1) is the address for every server under test.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Repository root (tests/browser/lib -> ../../..). */
export const REPO_ROOT = path.resolve(here, '..', '..', '..');

/** Where screenshots and logs go (git-ignored). */
export const ARTIFACTS_DIR = path.resolve(process.env.CAU_ARTIFACTS ?? path.join(REPO_ROOT, 'artifacts'));

/** The address servers under test bind to (set by scripts/netns-run). */
export const TEST_ADDR = process.env.CAU_TEST_ADDR ?? '127.0.0.1';

export const CHROMIUM_PATH = process.env.CAU_CHROMIUM ?? '/usr/bin/chromium';
export const FIREFOX_PATH = process.env.CAU_FIREFOX ?? '/usr/bin/firefox-esr';

export const WINDOW = { width: 1366, height: 768 };

/**
 * Chromium's flags, exactly as tested in ARCHITECTURE.md ("Testing in real
 * browsers here"). puppeteer's own default flags are NOT used
 * (ignoreDefaultArgs: true); puppeteer only adds --remote-debugging-pipe.
 */
export const CHROMIUM_FLAGS = Object.freeze([
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--autoplay-policy=no-user-gesture-required',
]);

/*
 * Secure contexts. http://198.18.0.1:PORT is NOT a secure context, so
 * navigator.mediaDevices is undefined there in both browsers (only localhost /
 * 127.0.0.1 are). Measured here:
 *   Chromium: --unsafely-treat-insecure-origin-as-secure=http://198.18.0.1:PORT
 *             (the exact origin with its port; a host-only value does not match)
 *   Firefox:  dom.securecontext.allowlist=198.18.0.1 (host, any port)
 * Both launchers take `secureOrigins` for this.
 */

/**
 * Firefox prefs for WebRTC with fake devices, headless, in the namespace.
 * The first four are the ones ARCHITECTURE.md lists; the rest keep a test
 * profile quiet and deterministic (puppeteer adds its own automation prefs).
 */
export const FIREFOX_PREFS = Object.freeze({
  // From ARCHITECTURE.md:
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'media.autoplay.default': 0, // 0 = allow audible autoplay
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  // Quiet, deterministic profile:
  'media.autoplay.block-webaudio': false,
  'media.block-autoplay-until-in-foreground': false,
  'media.autoplay.blocking_policy': 0,
  'browser.shell.checkDefaultBrowser': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.enabled': false,
  'app.update.enabled': false,
});

let profileCounter = 0;
const tempDirs = new WeakMap();

function freshDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-${process.pid}-${++profileCounter}-`));
}

/** Keep a browser's own stderr in artifacts/ for post-mortems. */
function logTo(name) {
  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
  return fs.createWriteStream(path.join(ARTIFACTS_DIR, `${name}.log`), { flags: 'a' });
}

/**
 * Launch headless Chromium (CDP).
 * @param {object} [opts]
 * @param {string} [opts.userDataDir] fresh temporary directory if omitted (removed by closeBrowser)
 * @param {string[]} [opts.secureOrigins] URLs whose origins (scheme://host:PORT: the port
 *   must match exactly) count as secure contexts, so that getUserMedia works on
 *   http://198.18.0.1:PORT. Start the server first, then launch with its URL.
 * @param {string[]} [opts.extraArgs] appended after CHROMIUM_FLAGS
 * @param {{width:number,height:number}} [opts.window]
 * @param {string} [opts.logName] artifacts/<logName>.log gets the browser's stderr
 * @returns {Promise<import('puppeteer-core').Browser>}
 */
export async function launchChromium({ userDataDir, secureOrigins = [], extraArgs = [], window = WINDOW, logName, ...rest } = {}) {
  const ownDir = !userDataDir;
  const origins = secureOrigins.map((o) => new URL(o).origin);
  const dir = userDataDir ?? freshDir('cau-chromium');
  const browser = await puppeteer.launch({
    browser: 'chrome',
    executablePath: CHROMIUM_PATH,
    headless: true, // the flags below carry --headless=new
    ignoreDefaultArgs: true,
    pipe: true,
    args: [
      ...CHROMIUM_FLAGS,
      `--window-size=${window.width},${window.height}`,
      `--user-data-dir=${dir}`,
      ...(origins.length ? [`--unsafely-treat-insecure-origin-as-secure=${origins.join(',')}`] : []),
      ...extraArgs,
      'about:blank',
    ],
    defaultViewport: window,
    dumpio: false,
    protocolTimeout: 60_000,
    ...rest,
  });
  pipeStderr(browser, logName ?? 'chromium');
  if (ownDir) {
    // Removed by closeBrowser() once the process has exited (not on
    // 'disconnected': Chromium still writes to it then).
    tempDirs.set(browser, dir);
  }
  return browser;
}

/**
 * Launch headless Firefox ESR (WebDriver BiDi).
 * @param {object} [opts]
 * @param {object} [opts.prefs] merged over FIREFOX_PREFS
 * @param {string[]} [opts.secureOrigins] URLs whose hosts (any port) count as secure
 *   contexts (pref dom.securecontext.allowlist); CAU_TEST_ADDR always does.
 * @param {string[]} [opts.extraArgs]
 * @param {{width:number,height:number}} [opts.window]
 * @param {string} [opts.logName]
 * @returns {Promise<import('puppeteer-core').Browser>}
 */
export async function launchFirefox({ prefs = {}, secureOrigins = [], extraArgs = [], window = WINDOW, logName, ...rest } = {}) {
  const hosts = new Set([TEST_ADDR, ...secureOrigins.map((o) => new URL(o).hostname)]);
  const browser = await puppeteer.launch({
    browser: 'firefox',
    protocol: 'webDriverBiDi',
    executablePath: FIREFOX_PATH,
    headless: true,
    args: [`--width=${window.width}`, `--height=${window.height}`, ...extraArgs],
    extraPrefsFirefox: {
      ...FIREFOX_PREFS,
      'dom.securecontext.allowlist': [...hosts].join(','),
      ...prefs,
    },
    defaultViewport: window,
    protocolTimeout: 60_000,
    ...rest,
  });
  pipeStderr(browser, logName ?? 'firefox');
  return browser;
}

/**
 * A new page that keeps every Content-Security-Policy violation it sees in `window.__csp`
 * (`"DIRECTIVE BLOCKED-URI"` strings), from before any script of the page runs.
 * @param {import('puppeteer-core').Browser} browser
 */
export async function newCspWatchedPage(browser) {
  const page = await newPage(browser);
  await page.evaluateOnNewDocument(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  return page;
}

/**
 * Launch options that make a browser accept the certificate of a hub started with
 * `--tls self-signed` (whose `spki` startHub read from its output): Chromium trusts exactly
 * that key (`--ignore-certificate-errors-spki-list`); Firefox has no such pin over WebDriver
 * BiDi, so it accepts certificates it cannot verify for this session (`acceptInsecureCerts`).
 * @param {{url: string, spki: string|null}} hub
 * @param {'chromium'|'firefox'} browser
 */
export function trustingHub(hub, browser) {
  if (!hub.url.startsWith('https:') || !hub.spki) {
    throw new Error(`trustingHub: ${hub.url} is not a hub serving its own certificate (--tls self-signed)`);
  }
  return browser === 'chromium'
    ? { extraArgs: [`--ignore-certificate-errors-spki-list=${hub.spki}`] }
    : { acceptInsecureCerts: true };
}

function pipeStderr(browser, name) {
  const proc = browser.process();
  if (!proc) return;
  const out = logTo(name);
  proc.stderr?.on('data', (d) => out.write(d));
  proc.once('exit', () => out.end());
}

/** Open a page, with the browser console mirrored into an array (for failure messages). */
export async function newPage(browser) {
  const page = await browser.newPage();
  page.consoleLines = [];
  page.on('console', (m) => page.consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => page.consoleLines.push(`pageerror: ${e?.message ?? e}`));
  return page;
}

/**
 * Poll `fn` until it returns a truthy value (returned) or `timeout` ms pass
 * (throws, with the last value or error). Use this, not sleeps, to assert
 * on things that happen over time.
 * @template T
 * @param {() => T | Promise<T>} fn
 * @param {{timeout?: number, interval?: number, message?: string}} [opts]
 * @returns {Promise<T>}
 */
export async function waitFor(fn, { timeout = 15_000, interval = 250, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  let lastErr;
  for (;;) {
    try {
      last = await fn();
      lastErr = undefined;
      if (last) return last;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() >= deadline) {
      const detail = lastErr ? `last error: ${lastErr?.stack ?? lastErr}` : `last value: ${safeJson(last)}`;
      throw new Error(`waitFor: ${message} not met within ${timeout} ms (${detail})`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** `promise`, or a rejection after `ms`; the timer never outlives the race. */
export async function withTimeout(promise, ms, what = 'operation') {
  let timer;
  try {
    return await Promise.race([
      promise,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function safeJson(v) {
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

/**
 * getStats() of the page's peer connection, reduced to its `inbound-rtp`
 * entries, per kind, keyed by trackIdentifier (or mid, or the stat id):
 *   { audio: { KEY: {framesDecoded, packetsReceived, bytesReceived, packetsLost, jitter, mid, ...} },
 *     video: { ... } }
 *
 * The peer connection is found by a dotted path from `window`, never by evaluating a string:
 * the hub's pages forbid eval in their Content-Security-Policy, and Firefox applies it to
 * code run over WebDriver BiDi (`new Function` there throws EvalError).
 * @param {import('puppeteer-core').Page} page
 * @param {string} [pcPath] dotted path from `window` to the RTCPeerConnection
 */
export async function collectInboundStats(page, pcPath = 'cau.client.pc') {
  return page.evaluate(async (path) => {
    const pc = path
      .split('.')
      .filter((part) => part && part !== 'window')
      .reduce((at, part) => at?.[part], window);
    if (!pc) throw new Error(`no peer connection at window.${path}`);
    const report = await pc.getStats();
    const out = { audio: {}, video: {} };
    report.forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      const kind = s.kind ?? s.mediaType;
      const key = s.trackIdentifier || s.mid || s.id;
      (out[kind] ??= {})[key] = {
        id: s.id,
        mid: s.mid ?? null,
        ssrc: s.ssrc ?? null,
        trackIdentifier: s.trackIdentifier ?? null,
        framesDecoded: s.framesDecoded ?? 0,
        framesReceived: s.framesReceived ?? 0,
        frameWidth: s.frameWidth ?? null,
        frameHeight: s.frameHeight ?? null,
        packetsReceived: s.packetsReceived ?? 0,
        bytesReceived: s.bytesReceived ?? 0,
        packetsLost: s.packetsLost ?? 0,
        jitter: s.jitter ?? 0,
        framesDropped: s.framesDropped ?? 0,
        keyFramesDecoded: s.keyFramesDecoded ?? 0,
        nackCount: s.nackCount ?? 0,
        pliCount: s.pliCount ?? 0,
        totalSamplesReceived: s.totalSamplesReceived ?? 0,
        concealedSamples: s.concealedSamples ?? 0,
        totalAudioEnergy: s.totalAudioEnergy ?? 0,
        audioLevel: s.audioLevel ?? null,
      };
    });
    return out;
  }, pcPath);
}

/** Sum one field over all inbound streams of a kind in collectInboundStats' result. */
export function total(stats, kind, field) {
  return Object.values(stats?.[kind] ?? {}).reduce((a, s) => a + (Number(s[field]) || 0), 0);
}

/**
 * Screenshot into artifacts/<name>.png (name sanitised). Never throws: a
 * screenshot is evidence, not a test step. Returns the path or null.
 */
export async function screenshot(page, name) {
  const file = path.join(ARTIFACTS_DIR, `${String(name).replace(/[^\w.-]+/g, '_')}.png`);
  try {
    fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
    await page.screenshot({ path: file });
    return file;
  } catch (e) {
    process.stderr.write(`screenshot ${name} failed: ${e?.message ?? e}\n`);
    return null;
  }
}

/** Close a browser and make sure its process is gone, whatever state it is in. */
export async function closeBrowser(browser) {
  if (!browser) return;
  const proc = browser.process();
  try {
    await withTimeout(browser.close(), 10_000, 'browser.close()');
  } catch {
    // fall through to the kill below
  }
  if (proc && proc.exitCode === null && proc.signalCode === null) {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await withTimeout(exited, 5_000, 'browser exit').catch(() => {});
  }
  const dir = tempDirs.get(browser);
  if (dir) {
    tempDirs.delete(browser);
    try {
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // a leftover profile in /tmp is not worth failing a test for
    }
  }
}
