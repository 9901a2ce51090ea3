// A scripted stand-in for the hub, speaking docs/protocol.md version 3 well enough to drive
// the meeting page without `cau`: static files of web-client/, GET /api/join, the chair's
// record (GET/PUT /api/meetings/{id}/record), and the
// websocket /ws with join, the client's offer (audio, camera, screen) and the slots' offer,
// `slots` (shared screens, floor, chairs, dominant speaker, then join order; each with its
// `source`), `layers`, mute, raise_hand, chat, receive, share_screen and every moderation
// message (stop_share and allow_second_share too). Media goes through a browser page
// (fixtures/fake-hub-media.html): one peer connection per client, received tracks forwarded
// into other clients' receive slots with replaceTrack. It is NOT the hub: it checks the web
// client's side of the contract, nothing about the sfu. Test code only.
//
//   const hub = await startFakeHub({ host, tokens: { 'tok-an': { unit, role: 'official' } } });
//   const browser = await launchChromium({ secureOrigins: [hub.url] });
//   await hub.attachMedia(browser);
//   page.goto(`${hub.url}meeting.html?meeting=7&token=tok-an&name=An&autojoin=1`);
//   hub.received('An')            // messages the hub got from that participant, by name
//   hub.dropSocket('An')          // the websocket breaks (the page should rejoin)
//   hub.sendTo('An', {type: 'layers', rids: ['q']})
//   hub.setRecording({state: 'stopped', reason: 'disk_low'})   // meeting_state.recording, to all
//   await hub.close();

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const WEB_ROOT = path.resolve(here, '..', '..', '..', 'web-client');
const FIXTURES = path.resolve(here, '..', 'fixtures');
const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.svg': 'image/svg+xml',
};
const MODERATION = new Set(['give_floor', 'take_floor', 'mute_participant', 'mute_all', 'allow_unmute', 'remove_participant', 'lock', 'end_meeting',
  'stop_share', 'allow_second_share']);

// ------------------------------------------------------------------ a minimal websocket (RFC 6455)

class Socket {
  constructor(sock, onText, onClose) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.open = true;
    sock.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this._parse(onText);
    });
    const closed = () => {
      if (!this.open) return;
      this.open = false;
      onClose();
    };
    sock.on('close', closed);
    sock.on('error', closed);
  }
  _parse(onText) {
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      const op = b[0] & 0x0f;
      const masked = b[1] & 0x80;
      let len = b[1] & 0x7f;
      let off = 2;
      if (len === 126) { if (b.length < 4) return; len = b.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (b.length < 10) return; len = Number(b.readBigUInt64BE(2)); off = 10; }
      const maskAt = off;
      if (masked) off += 4;
      if (b.length < off + len) return;
      const payload = Buffer.from(b.subarray(off, off + len));
      if (masked) for (let i = 0; i < len; i++) payload[i] ^= b[maskAt + (i % 4)];
      this.buf = b.subarray(off + len);
      if (op === 1) onText(payload.toString('utf8'));
      else if (op === 8) this.close();
      else if (op === 9) this._frame(10, payload);
    }
  }
  _frame(op, payload) {
    if (!this.open) return;
    const n = payload.length;
    const head = n < 126 ? Buffer.from([0x80 | op, n])
      : n < 65536 ? Buffer.from([0x80 | op, 126, n >> 8, n & 255])
        : (() => { const h = Buffer.alloc(10); h[0] = 0x80 | op; h[1] = 127; h.writeBigUInt64BE(BigInt(n), 2); return h; })();
    this.sock.write(Buffer.concat([head, payload]));
  }
  send(obj) {
    this._frame(1, Buffer.from(JSON.stringify(obj), 'utf8'));
  }
  close() {
    if (!this.open) return;
    this._frame(8, Buffer.from([0x03, 0xe8]));
    this.open = false;
    this.sock.end();
  }
  /** The connection breaks without a close frame. */
  destroy() {
    this.sock.destroy();
  }
}

// ------------------------------------------------------------------ the hub

/**
 * @param {object} o
 * @param {string} o.host address to listen on
 * @param {Record<string, {unit: object, role: 'official'|'chair'}>} o.tokens join tokens
 * @param {{audioSlots?: number, videoSlots?: number, meeting?: object}} [o.options]
 */
export async function startFakeHub({ host, tokens, audioSlots = 3, videoSlots = 4, meeting = {} }) {
  const MEETING = {
    id: 7, title: 'Họp thử (máy chủ giả lập)', agenda: '', start: Date.now(), end: Date.now() + 3600_000,
    state: 'live', host_unit: null, chair_person: 'Ông Chủ Trì', ...meeting,
  };
  const people = new Map(); // id → participant
  const log = []; // {from: name, msg}
  const removedTokens = new Set();
  const session = {
    floor: null, hands: [], locked: false, self_unmute: true, chair_muted: [], screens: [], second_share: false, dominant: null,
    recording: null,
  };
  let seq = 0;
  let mediaQueue = Promise.resolve();

  const server = http.createServer((req, res) => serve(req, res));
  server.on('upgrade', (req, sock) => {
    if (!req.url.startsWith('/ws')) return sock.destroy();
    const accept = crypto.createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    sock.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    const conn = { socket: null, p: null };
    conn.socket = new Socket(sock, (text) => onMessage(conn, text), () => onClosed(conn));
  });
  await new Promise((r) => server.listen(0, host, r));
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${server.address().port}`;

  let media = null;
  /** The media page, in `browser` (launched after the hub: its origin must count as secure). */
  async function attachMedia(browser) {
    media = await browser.newPage();
    media.on('console', (m) => { if (m.type() === 'error') process.stderr.write(`fake hub media: ${m.text()}\n`); });
    await media.goto(`${origin}/__fake/fake-hub-media.html`);
    await media.waitForFunction(() => window.hubMedia);
  }
  /** Media calls, one at a time (SDP work per client must not interleave). */
  let closed = false;
  const call = (fn, ...args) => {
    const run = mediaQueue.then(() => (closed || !media ? null : media.evaluate(fn, ...args)));
    mediaQueue = run.catch(() => {});
    return run;
  };

  let record = { notes: '', decisions: [], updated_by: null, updated_at: null };

  function serve(req, res) {
    const url = new URL(req.url, origin);
    if (url.pathname === '/api/join') {
      const tok = tokens[url.searchParams.get('token')];
      const body = tok ? { meeting: MEETING, unit: tok.unit, role: tok.role } : { error: 'invalid_token', message: 'unknown token' };
      res.writeHead(tok ? 200 : 401, { 'Content-Type': 'application/json' });
      return res.end(JSON.stringify(body));
    }
    if (url.pathname === '/api/directory') {
      // The units of the tokens, flat: enough for the chair's roll call to name them.
      const units = new Map(Object.values(tokens).map(({ unit }) => [unit.id, { ...unit, kind: '', parent: null }]));
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(JSON.stringify({ source: 'fake hub', tiers: ['province', 'district', 'commune'], units: [...units.values()] }));
    }
    if (url.pathname === `/api/meetings/${MEETING.id}/record`) {
      // The chair's notes and decisions (api.md), kept in memory; chairs' tokens only.
      const tok = tokens[url.searchParams.get('token')];
      if (tok?.role !== 'chair') {
        res.writeHead(403, { 'Content-Type': 'application/json' });
        return res.end(JSON.stringify({ error: 'forbidden', message: 'only the chair' }));
      }
      if (req.method === 'PUT') {
        let body = '';
        req.on('data', (chunk) => { body += chunk; });
        req.on('end', () => {
          const { notes = '', decisions = [] } = JSON.parse(body || '{}');
          record = { notes, decisions: decisions.map((d) => d.trim()).filter(Boolean), updated_by: tok.unit.name, updated_at: Date.now() };
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify(record));
        });
        return undefined;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(JSON.stringify(record));
    }
    if (url.pathname.startsWith('/api/')) {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      return res.end(JSON.stringify({ error: 'not_found' }));
    }
    const [base, rel] = url.pathname.startsWith('/__fake/') ? [FIXTURES, url.pathname.slice(8)] : [WEB_ROOT, url.pathname === '/' ? 'index.html' : url.pathname.slice(1)];
    const file = path.resolve(base, decodeURIComponent(rel));
    if (!file.startsWith(base) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404);
      return res.end('not found');
    }
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-store' });
    fs.createReadStream(file).pipe(res);
  }

  const pub = (p) => ({
    id: p.id, name: p.name, unit: p.unit, role: p.role, audio_muted: p.audio_muted, video_muted: p.video_muted,
    tracks: p.tracks,
  });
  const others = (p) => [...people.values()].filter((q) => q !== p && q.joined);
  const broadcast = (msg, except = null) => { for (const q of people.values()) if (q !== except && q.joined) q.conn.socket.send(msg); };
  const stateMsg = () => ({
    type: 'meeting_state', ...session, hands: [...session.hands], chair_muted: [...session.chair_muted], screens: [...session.screens],
    recording: session.recording && { ...session.recording },
  });
  /** A share ends (asked, the chair, the floor gone, left): true when it was one. */
  const endShare = (id) => {
    const had = session.screens.includes(id);
    session.screens = session.screens.filter((x) => x !== id);
    return had;
  };
  const chairMuted = (id, kind) => session.chair_muted.some((m) => m.participant_id === id && m.kind === kind);
  const error = (p, code, message = code) => p.conn.socket.send({ type: 'error', code, message });

  async function onMessage(conn, text) {
    let msg;
    try { msg = JSON.parse(text); } catch { return; }
    const p = conn.p;
    log.push({ from: p?.name ?? null, msg });
    if (!p) {
      if (msg.type !== 'join') return conn.socket.send({ type: 'error', code: 'out_of_order', message: '' });
      if (msg.v !== 3) { conn.socket.send({ type: 'error', code: 'unsupported_version', message: '' }); return conn.socket.close(); }
      const tok = tokens[msg.token];
      const refuse = !tok ? 'invalid_token' : removedTokens.has(msg.token) ? 'removed'
        : session.locked && tok.role !== 'chair' ? 'session_locked' : null;
      if (refuse) { conn.socket.send({ type: 'error', code: refuse, message: refuse }); return conn.socket.close(); }
      const id = `p${++seq}`;
      const np = {
        id, conn, token: msg.token, name: msg.name, unit: tok.unit, role: tok.role, audio_muted: true, video_muted: true,
        tracks: [], joined: true, order: seq, slots: [], answered: false, receive: {},
      };
      conn.p = np;
      people.set(id, np);
      conn.socket.send({
        type: 'welcome', v: 3, participant_id: id, session_id: 's1', role: np.role, unit: np.unit,
        meeting: { id: MEETING.id, title: MEETING.title, start: MEETING.start, end: MEETING.end, chair_person: MEETING.chair_person },
        room: np.unit, participants: others(np).map(pub), ice_servers: [],
      });
      conn.socket.send(stateMsg());
      broadcast({ type: 'participant_joined', participant: pub(np) }, np);
      return;
    }
    switch (msg.type) {
      case 'offer': {
        const sdp = await call((id, s) => window.hubMedia.answer(id, s), p.id, msg.sdp);
        p.conn.socket.send({ type: 'answer', sdp });
        p.tracks = [{ mid: '0', kind: 'audio' }, { mid: '1', kind: 'video' }];
        for (const track of p.tracks) broadcast({ type: 'track_published', participant_id: p.id, track }, p);
        const offer = await call((id, a, v) => window.hubMedia.slotsOffer(id, a, v), p.id, audioSlots, videoSlots);
        p.slots = offer.tracks.map((t) => ({
          mid: t.mid, kind: t.kind, source: t.kind === 'audio' ? 'microphone' : 'camera', participant_id: null, reason: null, layer: null,
        }));
        p.conn.socket.send({ type: 'offer', sdp: offer.sdp, tracks: offer.tracks });
        return;
      }
      case 'answer':
        await call((id, s) => window.hubMedia.applyAnswer(id, s), p.id, msg.sdp);
        p.answered = true;
        return recompute();
      case 'candidate':
        return call((id, c, m) => window.hubMedia.candidate(id, c, m), p.id, msg.candidate, msg.sdp_mid);
      case 'mute': {
        if (!msg.muted && chairMuted(p.id, msg.kind) && !session.self_unmute && session.floor !== p.id) {
          return error(p, 'forbidden', 'unmute not allowed');
        }
        if (!msg.muted) session.chair_muted = session.chair_muted.filter((m) => !(m.participant_id === p.id && m.kind === msg.kind));
        p[`${msg.kind}_muted`] = !!msg.muted;
        broadcast({ type: 'mute_changed', participant_id: p.id, kind: msg.kind, muted: !!msg.muted });
        broadcast(stateMsg());
        return recompute();
      }
      case 'receive':
        Object.assign(p.receive, msg);
        return recompute();
      case 'raise_hand':
        session.hands = session.hands.filter((h) => h !== p.id);
        if (msg.raised) session.hands.push(p.id);
        return broadcast(stateMsg());
      case 'chat': {
        const text = String(msg.text ?? '').trim();
        if (!text || [...text].length > 2000) return error(p, 'invalid_text');
        const out = { type: 'chat', from: p.id, name: p.name, unit: p.unit.name, to: msg.to, text, at: Date.now() };
        for (const q of people.values()) {
          if (q.joined && (msg.to === 'all' || q === p || q.role === 'chair')) q.conn.socket.send(out);
        }
        return;
      }
      case 'share_screen': {
        // protocol.md: the chair or the floor holder; one share unless the chair allows a second.
        if (!msg.sharing) {
          if (endShare(p.id)) broadcast(stateMsg());
          return recompute();
        }
        if (session.screens.includes(p.id)) return;
        if (p.role !== 'chair' && session.floor !== p.id) return error(p, 'forbidden', 'no floor');
        if (session.screens.length >= 2 || (session.screens.length === 1 && !session.second_share)) return error(p, 'share_busy', 'busy');
        session.screens.push(p.id);
        broadcast(stateMsg());
        return recompute();
      }
      case 'leave':
        p.conn.socket.send({ type: 'bye', reason: 'left' });
        leaveOf(p, 'left');
        p.conn.socket.close();
        return;
      default:
    }
    if (MODERATION.has(msg.type)) {
      if (p.role !== 'chair') return error(p, 'forbidden', 'chairs only');
      return moderate(p, msg);
    }
  }

  function muteBy(target, kind) {
    if (!target || chairMuted(target.id, kind)) return;
    session.chair_muted.push({ participant_id: target.id, kind });
    target[`${kind}_muted`] = true;
    target.conn.socket.send({ type: 'muted_by_chair', kind });
    broadcast({ type: 'mute_changed', participant_id: target.id, kind, muted: true });
  }

  function moderate(chair, msg) {
    const target = people.get(msg.participant_id);
    switch (msg.type) {
      case 'give_floor': {
        if (!target) return;
        const before = people.get(session.floor);
        if (before && before.role !== 'chair' && before !== target) endShare(before.id);
        session.floor = target.id;
        session.hands = session.hands.filter((h) => h !== target.id);
        break;
      }
      case 'take_floor': {
        const before = people.get(session.floor);
        if (before && before.role !== 'chair') endShare(before.id);
        session.floor = null;
        break;
      }
      case 'stop_share':
        if (!target) return error(chair, 'not_found', 'no such participant');
        endShare(target.id);
        break;
      case 'allow_second_share': session.second_share = !!msg.allowed; break;
      case 'mute_participant': muteBy(target, msg.kind); break;
      case 'mute_all': for (const q of people.values()) if (q.joined && q.role !== 'chair') muteBy(q, 'audio'); break;
      case 'allow_unmute': session.self_unmute = !!msg.allowed; break;
      case 'lock': session.locked = !!msg.locked; break;
      case 'remove_participant':
        if (!target) return;
        removedTokens.add(target.token);
        target.conn.socket.send({ type: 'bye', reason: 'removed' });
        target.conn.socket.close();
        leaveOf(target, 'removed');
        return;
      case 'end_meeting':
        for (const q of people.values()) if (q.joined) { q.conn.socket.send({ type: 'bye', reason: 'meeting_ended' }); q.conn.socket.close(); }
        return;
      default:
    }
    broadcast(stateMsg());
    recompute();
  }

  function onClosed(conn) {
    if (conn.p?.joined) leaveOf(conn.p, 'disconnected');
  }

  function leaveOf(p, reason) {
    if (!p.joined) return;
    p.joined = false;
    people.delete(p.id);
    call((id) => window.hubMedia.close(id), p.id).catch(() => {});
    session.hands = session.hands.filter((h) => h !== p.id);
    endShare(p.id);
    if (session.floor === p.id) {
      session.floor = null;
      for (const id of [...session.screens]) if (people.get(id)?.role !== 'chair') endShare(id);
    }
    session.chair_muted = session.chair_muted.filter((m) => m.participant_id !== p.id);
    for (const track of p.tracks) broadcast({ type: 'track_removed', participant_id: p.id, track });
    broadcast({ type: 'participant_left', participant_id: p.id, reason });
    broadcast(stateMsg());
    recompute();
  }

  /** Fills every client's slots (the doc's order, simplified) and tells publishers their layers. */
  async function recompute() {
    const watched = new Map(); // publisher id → count
    for (const s of people.values()) {
      if (!s.joined || !s.answered) continue;
      const rank = (q) => (q.id === session.floor ? 0 : q.role === 'chair' ? 1 : q.id === session.dominant ? 2 : 3);
      const reasonOf = (q) => ['floor', 'chair', 'speaker', 'other'][rank(q)];
      const cands = others(s).filter((q) => q.tracks.length).sort((a, b) => rank(a) - rank(b) || a.order - b.order);
      const audioOrder = cands.filter((q) => !chairMuted(q.id, 'audio')).map((q) => ({ q, source: 'microphone', reason: reasonOf(q) }));
      // Shared screens first (reason "screen"), then the cameras: a sharer may be in two slots.
      const screens = session.screens.map((id) => people.get(id)).filter((q) => q && q !== s && q.joined && q.tracks.length)
        .map((q) => ({ q, source: 'screen', reason: 'screen' }));
      const cameras = cands.filter((q) => !chairMuted(q.id, 'video')).map((q) => ({ q, source: 'camera', reason: reasonOf(q) }));
      const videoOrder = s.receive.mode === 'audio_only' ? [] : [...screens, ...cameras];
      let changed = false;
      const used = { audio: 0, video: 0 };
      for (const slot of s.slots) {
        const order = slot.kind === 'audio' ? audioOrder : videoOrder;
        const pick = order[used[slot.kind]++] ?? null;
        const q = pick?.q ?? null;
        const layer = slot.kind === 'video' && q
          ? (s.receive.mode === 'low' ? 'q' : pick.source === 'screen' ? 'f' : rank(q) <= 1 ? 'f' : 'h') : null;
        const next = { participant_id: q?.id ?? null, source: pick?.source ?? (slot.kind === 'audio' ? 'microphone' : 'camera'), reason: pick?.reason ?? null, layer };
        if (slot.participant_id !== next.participant_id || slot.source !== next.source) {
          await call((id, mid, pubId, src) => window.hubMedia.assign(id, mid, pubId, src), s.id, slot.mid, next.participant_id, next.source);
        }
        if (slot.participant_id !== next.participant_id || slot.source !== next.source || slot.reason !== next.reason || slot.layer !== next.layer) changed = true;
        Object.assign(slot, next);
        if (q && pick.source === 'camera') watched.set(q.id, (watched.get(q.id) ?? 0) + 1);
      }
      if (changed && s.joined) s.conn.socket.send({ type: 'slots', slots: s.slots.map((x) => ({ ...x })) });
    }
    for (const p of people.values()) {
      if (!p.joined || !p.answered) continue;
      const rids = watched.get(p.id) ? ['q', 'h', 'f'] : [];
      if (JSON.stringify(rids) !== JSON.stringify(p.layers)) {
        p.layers = rids;
        p.conn.socket.send({ type: 'layers', rids });
      }
    }
  }

  const byName = (name) => [...people.values()].find((p) => p.name === name && p.joined) ?? null;
  return {
    url: `${origin}/`,
    origin,
    attachMedia,
    session,
    log,
    /** The participant joined under `name` now, or null. */
    participant: byName,
    /** Messages the hub received from `name` (every connection of that name). */
    received: (name, type = null) => log.filter((l) => l.from === name && (!type || l.msg.type === type)).map((l) => l.msg),
    sendTo(name, msg) { byName(name)?.conn.socket.send(msg); },
    broadcast(msg) { broadcast(msg); },
    setDominant(name) {
      session.dominant = byName(name)?.id ?? null;
      broadcast({ type: 'dominant_speaker', participant_id: session.dominant });
      return recompute();
    },
    /**
     * The session's recording as `meeting_state` says it (null: not recorded;
     * {state: 'recording'|'stopped', reason}), sent to everyone at once.
     */
    setRecording(recording) {
      session.recording = recording;
      broadcast(stateMsg());
    },
    /** The websocket of `name` breaks (no close frame). */
    dropSocket(name) { byName(name)?.conn.socket.destroy(); },
    /** What the media page receives from `name`'s video: [{rid, packets, width}]. */
    mediaReceived: (name) => media.evaluate((id) => window.hubMedia.received(id), byName(name)?.id ?? ''),
    async close() {
      closed = true;
      for (const p of people.values()) p.conn.socket.destroy();
      await mediaQueue;
      await media?.close().catch(() => {});
      await new Promise((r) => server.close(r));
      server.closeAllConnections?.();
    },
  };
}
