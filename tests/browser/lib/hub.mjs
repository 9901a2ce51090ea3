// Starting the real hub (`cau`, release build) for browser tests.
//
//   const hub = await startHub();          // binds CAU_TEST_ADDR (198.18.0.1 in netns-run)
//   await page.goto(hub.url);              // http://198.18.0.1:PORT/
//   await hub.stop();
//
//   // A staff account first, then the hub on the same data directory:
//   const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cau-test-'));
//   await createUser({ dataDir, username: 'lan', name: 'Nguyễn Thị Lan', roles: ['scheduler'], password });
//   const hub = await startHub({ dataDir });   // stop() leaves a given dataDir in place
//
// The hub's command line lives in hubArgs() and nowhere else: when the flags
// of `cau` change, change them there (createUserArgs() for `cau admin create-user`).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { trustCertificate } from './api.mjs';
import { ARTIFACTS_DIR, REPO_ROOT, TEST_ADDR, withTimeout } from './browsers.mjs';

/** The binary under test; CAU_BIN overrides (e.g. a debug build). */
export const HUB_BIN = path.resolve(process.env.CAU_BIN ?? path.join(REPO_ROOT, 'target', 'release', 'cau'));

/** The hub's SQLite database, in its data directory (signaling/src/db.rs `Db::open`). */
export const DB_FILE = 'cau.sqlite3';

/** The line `cau` prints when it is ready: it contains http(s)://ADDR:PORT/ */
const READY = /(https?):\/\/(\[[0-9a-fA-F:.]+\]|[0-9.]+|[A-Za-z0-9.-]+):(\d+)\//;
/** Printed before it, over HTTPS: the certificate key's SHA-256 (Chromium's SPKI list). */
const SPKI = /Certificate key: SPKI SHA-256 (\S+)/;
/** Printed before it with --http-redirect: where plain HTTP is redirected to HTTPS. */
const REDIRECT = /Plain HTTP on (\S+):(\d+) redirects/;
/** In the ready line: the media ports (ICE-TCP's unless `--tcp-port off`). */
const MEDIA = /media on UDP port (\d+)(?:, ICE-TCP on port (\d+))?/;

/**
 * The hub's command line. ONE place for the flags.
 * @param {{bind: string, dataDir: string, port?: number}} o
 */
export function hubArgs({ bind, dataDir, port = 0 }) {
  const host = bind.includes(':') ? `[${bind}]` : bind;
  return [
    '--listen', `${host}:${port}`, // HTTP + websocket; port chosen by the OS unless given
    '--public-ip', bind, // the address put in ICE candidates
    '--udp-port', '0', // the one media UDP port; chosen by the OS
    '--data-dir', dataDir, // fresh per hub: SQLite, recordings
    '--disk-reserve-mb', '100', // recordings stop below 100 MB free (2000 by default: a test machine may have less)
  ];
}

/**
 * `cau admin create-user`'s command line (the password goes to stdin).
 * @param {{dataDir: string, username: string, name: string, roles: string[]}} o
 */
export function createUserArgs({ dataDir, username, name, roles }) {
  return [
    '--data-dir', dataDir,
    'admin', 'create-user',
    '--username', username,
    '--name', name,
    ...roles.flatMap((r) => ['--role', r]),
    '--password-stdin',
  ];
}

/** Pick artifacts/<prefix>-<n>.log with the first free n (safe across test processes). */
function openLog(prefix = 'hub') {
  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
  for (let n = 1; ; n++) {
    const file = path.join(ARTIFACTS_DIR, `${prefix}-${n}.log`);
    try {
      return { file, fd: fs.openSync(file, 'wx') };
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
    }
  }
}

/**
 * Start `cau` and wait until it prints its URL.
 * @param {object} [opts]
 * @param {string} [opts.bind] address to listen on (default CAU_TEST_ADDR)
 * @param {number} [opts.port] HTTP port (default 0: chosen by the OS); a restart test passes
 *   the first hub's `port` so that the pages find the hub where it was
 * @param {string[]} [opts.extraArgs] appended to hubArgs()
 * @param {object} [opts.env] extra environment (RUST_LOG defaults to info)
 * @param {string} [opts.dataDir] reuse a data dir (e.g. a restart test); otherwise a fresh tmp dir,
 *   removed by stop() unless CAU_KEEP_DATA=1
 * @param {number} [opts.readyTimeout] ms to wait for the ready line
 * @returns {Promise<{url: string, origin: string, host: string, port: number, spki: string|null,
 *   redirect: {host: string, port: number}|null, udpPort: number|null, tcpPort: number|null, dataDir: string,
 *   logFile: string, process: import('node:child_process').ChildProcess, stop(): Promise<number|null>}>}
 */
export async function startHub({ bind = TEST_ADDR, port = 0, extraArgs = [], env = {}, dataDir, readyTimeout = 30_000 } = {}) {
  if (!fs.existsSync(HUB_BIN)) {
    throw new Error(`${HUB_BIN} not found: build it first (cargo build --release --bin cau) or set CAU_BIN`);
  }
  const ownDir = !dataDir;
  const dir = dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cau-hub-'));
  const args = [...hubArgs({ bind, dataDir: dir, port }), ...extraArgs];
  const { file: logFile, fd } = openLog();
  fs.writeSync(fd, `# ${HUB_BIN} ${args.join(' ')}\n`);

  const child = spawn(HUB_BIN, args, {
    cwd: REPO_ROOT,
    env: { RUST_LOG: 'info', RUST_BACKTRACE: '1', ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  let stdoutBuf = '';
  let exited = null;
  const exitPromise = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve(code);
    });
  });
  const ready = new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout.on('data', (d) => {
      fs.writeSync(fd, d);
      stdoutBuf += d.toString('utf8');
      const m = stdoutBuf.match(READY);
      if (m) {
        const r = stdoutBuf.match(REDIRECT);
        const media = stdoutBuf.match(MEDIA);
        resolve({
          udpPort: media ? Number(media[1]) : null,
          tcpPort: media?.[2] ? Number(media[2]) : null,
          scheme: m[1],
          host: m[2],
          port: Number(m[3]),
          spki: stdoutBuf.match(SPKI)?.[1] ?? null,
          redirect: r ? { host: r[1], port: Number(r[2]) } : null,
        });
      }
      if (stdoutBuf.length > 1 << 20) stdoutBuf = stdoutBuf.slice(-4096);
    });
    exitPromise.then(() =>
      reject(new Error(`cau exited (${JSON.stringify(exited)}) before it was ready; see ${logFile}`)),
    );
  });
  child.stderr.on('data', (d) => fs.writeSync(fd, d));

  let stopped = false;
  async function stop() {
    if (!stopped) {
      stopped = true;
      if (!exited) {
        child.kill('SIGTERM');
        await withTimeout(exitPromise, 10_000, 'cau SIGTERM').catch(async () => {
          child.kill('SIGKILL');
          await withTimeout(exitPromise, 5_000, 'cau SIGKILL').catch(() => {});
        });
      }
      // let the pipes drain into the log before closing it
      await new Promise((r) => setImmediate(r));
      try {
        fs.closeSync(fd);
      } catch {
        // already closed
      }
      if (ownDir && !process.env.CAU_KEEP_DATA) fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    }
    return exited?.code ?? null;
  }

  let where;
  try {
    where = await withTimeout(ready, readyTimeout, `cau ready line (http(s)://ADDR:PORT/) in ${logFile}`);
  } catch (e) {
    await stop();
    throw e;
  }
  const origin = `${where.scheme}://${where.host}:${where.port}`;
  // A certificate the hub made (--tls self-signed): the API helpers trust it, and only it.
  const made = path.join(dir, 'tls', 'self-signed.crt');
  if (where.scheme === 'https' && fs.existsSync(made)) trustCertificate(origin, fs.readFileSync(made, 'utf8'));
  return {
    url: `${origin}/`,
    origin,
    host: where.host,
    port: where.port,
    spki: where.spki, // over HTTPS: the certificate key's SHA-256 (base64)
    redirect: where.redirect, // with --http-redirect: {host, port} of the plain-HTTP listener
    udpPort: where.udpPort, // the media UDP port
    tcpPort: where.tcpPort, // the ICE-TCP port (null with --tcp-port off)
    dataDir: dir,
    logFile,
    process: child,
    stop,
  };
}

/**
 * Create a staff account in `dataDir` with `cau --data-dir DIR admin create-user … --password-stdin`
 * (the same binary as startHub), before the hub starts on that directory. The password is
 * written to the command's stdin followed by a newline, as `echo "$PW" | cau …` would.
 * Output goes to artifacts/create-user-N.log; a non-zero exit throws with that output.
 * @param {{dataDir: string, username: string, name: string, roles?: string[], password: string,
 *   env?: object, timeout?: number}} o
 * @returns {Promise<{stdout: string, stderr: string}>}
 */
export async function createUser({ dataDir, username, name, roles = [], password, env = {}, timeout = 30_000 }) {
  if (!fs.existsSync(HUB_BIN)) {
    throw new Error(`${HUB_BIN} not found: build it first (cargo build --release --bin cau) or set CAU_BIN`);
  }
  if (!dataDir || !username || !name || typeof password !== 'string') {
    throw new Error('createUser needs dataDir, username, name and password');
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const args = createUserArgs({ dataDir, username, name, roles });
  const { file: logFile, fd } = openLog('create-user');
  fs.writeSync(fd, `# ${HUB_BIN} ${args.join(' ')}\n`);
  const child = spawn(HUB_BIN, args, {
    cwd: REPO_ROOT,
    env: { RUST_LOG: 'info', RUST_BACKTRACE: '1', ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const log = (d) => {
    try {
      fs.writeSync(fd, d);
    } catch {
      // the log is closed (a timeout): the output is still in the error
    }
  };
  child.stdout.on('data', (d) => {
    stdout += d.toString('utf8');
    log(d);
  });
  child.stderr.on('data', (d) => {
    stderr += d.toString('utf8');
    log(d);
  });
  const exited = new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal })); // after stdio drained
  });
  child.stdin.on('error', () => {}); // it may exit before reading (bad flags): the exit code tells
  child.stdin.end(`${password}\n`);
  let result;
  try {
    result = await withTimeout(exited, timeout, `cau admin create-user (see ${logFile})`);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  } finally {
    await new Promise((r) => setImmediate(r));
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
  }
  if (result.code !== 0) {
    throw new Error(`cau admin create-user exited ${JSON.stringify(result)}; see ${logFile}\n${stderr || stdout}`);
  }
  return { stdout, stderr };
}
