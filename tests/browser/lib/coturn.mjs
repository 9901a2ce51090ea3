// coturn (Debian's `turnserver`, package coturn) as a child process, for tests that make the
// browsers relay their media through TURN. It listens on CAU_TEST_ADDR (198.18.0.1 in
// scripts/netns-run) on a free port, UDP and TCP, relays from the same address, and accepts
// the credentials a hub started with the same `--turn-secret` hands out (coturn's
// `use-auth-secret`: username `EXPIRY:ID`, password base64(HMAC-SHA1(secret, username))).
//
//   const turn = await startCoturn({ secret });      // {url, port, logFile, log(), stop()}
//   const hub = await startHub({ extraArgs: ['--turn-url', turn.url, '--turn-secret', secret] });
//   turn.log()                                       // everything coturn said so far
//   await turn.stop();
//
// Its output (--verbose: one line per STUN/TURN request, with the user) goes to
// artifacts/turnserver.log (turnserver-N.log if that exists).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { ARTIFACTS_DIR, TEST_ADDR, withTimeout } from './browsers.mjs';

export const TURNSERVER_BIN = process.env.CAU_TURNSERVER ?? '/usr/bin/turnserver';

/** A TCP port free on `host` now (the OS picks it; closed again before this returns). */
export function freePort(host = TEST_ADDR) {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function openLog(prefix) {
  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
  for (let n = 1; ; n++) {
    const file = path.join(ARTIFACTS_DIR, n === 1 ? `${prefix}.log` : `${prefix}-${n}.log`);
    try {
      return { file, fd: fs.openSync(file, 'wx') };
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
    }
  }
}

/**
 * Starts coturn and waits until its UDP listener is open.
 * @param {object} o
 * @param {string} o.secret the static auth secret (the hub's --turn-secret)
 * @param {string} [o.host] listening and relay address (default CAU_TEST_ADDR)
 * @param {string} [o.realm]
 * @param {[number, number]} [o.relayPorts] the relay endpoints' UDP port range
 * @param {string[]} [o.extraArgs]
 * @returns {Promise<{url: string, host: string, port: number, logFile: string, log(): string,
 *   stop(): Promise<void>}>}
 */
export async function startCoturn({ secret, host = TEST_ADDR, realm = 'cau.test', relayPorts = [49152, 49200], extraArgs = [] }) {
  if (!fs.existsSync(TURNSERVER_BIN)) throw new Error(`${TURNSERVER_BIN} not found: apt-get install coturn`);
  const port = await freePort(host);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cau-coturn-'));
  const args = [
    '-n', // no configuration file
    '--no-cli',
    '--no-tls',
    '--no-dtls',
    `--listening-ip=${host}`,
    `--relay-ip=${host}`,
    `--listening-port=${port}`,
    `--min-port=${relayPorts[0]}`,
    `--max-port=${relayPorts[1]}`,
    '--use-auth-secret',
    `--static-auth-secret=${secret}`,
    `--realm=${realm}`,
    '--fingerprint',
    '--log-file=stdout',
    '--simple-log',
    '--verbose',
    `--pidfile=${path.join(dir, 'turnserver.pid')}`,
    `--userdb=${path.join(dir, 'turndb')}`, // never /var/lib/turn
    ...extraArgs,
  ];
  const { file: logFile, fd } = openLog('turnserver');
  fs.writeSync(fd, `# ${TURNSERVER_BIN} ${args.map((a) => a.replace(/^(--static-auth-secret=).*/, '$1…')).join(' ')}\n`);
  const child = spawn(TURNSERVER_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const onData = (d) => {
    try {
      fs.writeSync(fd, d);
    } catch {
      // closed by stop()
    }
    text += d.toString('utf8');
    if (text.length > 4 << 20) text = text.slice(-(1 << 20));
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  let exited = null;
  const exit = new Promise((resolve) => child.once('exit', (code, signal) => {
    exited = { code, signal };
    resolve();
  }));

  let stopped = false;
  async function stop() {
    if (stopped) return;
    stopped = true;
    if (!exited) {
      child.kill('SIGTERM');
      await withTimeout(exit, 5_000, 'turnserver SIGTERM').catch(async () => {
        child.kill('SIGKILL');
        await withTimeout(exit, 5_000, 'turnserver SIGKILL').catch(() => {});
      });
    }
    await new Promise((r) => setImmediate(r));
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const listening = `UDP listener opened on: ${host}:${port}`;
  try {
    await withTimeout(Promise.race([
      new Promise((resolve) => {
        const check = () => {
          if (text.includes(listening)) {
            child.stdout.off('data', check);
            resolve();
          }
        };
        child.stdout.on('data', check);
        check();
      }),
      exit.then(() => { throw new Error(`turnserver exited (${JSON.stringify(exited)}); see ${logFile}`); }),
    ]), 15_000, `turnserver "${listening}" in ${logFile}`);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url: `turn:${host}:${port}?transport=udp`, host, port, logFile, log: () => text, process: child, stop };
}
