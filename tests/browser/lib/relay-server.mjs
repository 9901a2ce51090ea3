// A tiny HTTP server for tests that don't need the hub: serves a folder of
// static files and relays signalling messages between pages.
//
//   POST /relay/ROOM/TO   body: one JSON message, queued for TO
//   GET  /relay/ROOM/ME   long-poll: a JSON array of ME's queued messages
//                         (empty after `pollMs`); 410 once the server closes
//
// Nothing here is Cầu's protocol: it only proves browsers, fake devices and
// the network namespace work together on this machine.

import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
};

/**
 * @param {{host: string, root: string, pollMs?: number}} opts
 * @returns {Promise<{url: string, origin: string, close(): Promise<void>}>}
 */
export async function startRelayServer({ host, root, pollMs = 10_000 }) {
  const queues = new Map(); // "room/me" -> messages[]
  const waiters = new Map(); // "room/me" -> [res]
  let closing = false;

  const flush = (key) => {
    const q = queues.get(key);
    const ws = waiters.get(key);
    if (!q?.length || !ws?.length) return;
    const res = ws.shift();
    queues.set(key, []);
    reply(res, 200, JSON.stringify(q), 'application/json');
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const relay = url.pathname.match(/^\/relay\/([\w-]+)\/([\w-]+)$/);
    if (relay) {
      const key = `${relay[1]}/${relay[2]}`;
      if (closing) return reply(res, 410, '[]', 'application/json');
      if (req.method === 'POST') {
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (d) => (body += d));
        req.on('end', () => {
          let msg;
          try {
            msg = JSON.parse(body);
          } catch {
            return reply(res, 400, 'bad json');
          }
          if (!queues.has(key)) queues.set(key, []);
          queues.get(key).push(msg);
          reply(res, 204, '');
          flush(key);
        });
        return;
      }
      if (req.method === 'GET') {
        if (!waiters.has(key)) waiters.set(key, []);
        waiters.get(key).push(res);
        const timer = setTimeout(() => {
          const ws = waiters.get(key);
          const i = ws.indexOf(res);
          if (i >= 0) {
            ws.splice(i, 1);
            reply(res, 200, '[]', 'application/json');
          }
        }, pollMs);
        res.on('close', () => clearTimeout(timer));
        flush(key);
        return;
      }
      return reply(res, 405, 'method not allowed');
    }

    // Static files under root, nothing outside it.
    const rel = decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname);
    const file = path.resolve(root, `.${rel}`);
    if (!file.startsWith(path.resolve(root) + path.sep)) return reply(res, 403, 'forbidden');
    fs.readFile(file, (err, data) => {
      if (err) return reply(res, 404, 'not found');
      reply(res, 200, data, TYPES[path.extname(file)] ?? 'application/octet-stream');
    });
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address();
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const origin = `http://${hostPart}:${port}`;

  return {
    url: `${origin}/`,
    origin,
    async close() {
      closing = true;
      for (const ws of waiters.values()) for (const res of ws.splice(0)) reply(res, 410, '[]', 'application/json');
      server.closeAllConnections?.();
      await new Promise((r) => server.close(() => r()));
    },
  };
}

function reply(res, status, body, type = 'text/plain; charset=utf-8') {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}
