// A capped link for ONE browser, in the test harness: a UDP relay between that browser and the
// hub's media port, with the hub → browser direction shaped (a token bucket draining a FIFO
// with a byte limit: tail drop), its rate changeable while the call goes on. The kernel here
// has no netem, so this is how a test gives one subscriber a thin downlink.
//
//   const relay = await startCappedRelay({ rate: 20e6 });     // on CAU_TEST_ADDR, port from the OS
//   await useRelay(page, relay);          // before page.goto: the page's RTCPeerConnections
//                                         // reach the hub's media port through the relay
//   relay.setRate(350_000);               // bit/s, from now on
//   relay.stats()                         // bytes and packets each way (hub → browser by
//                                         // kind: rtp PT, rtcp, stun, dtls), drops, queue
//   await relay.close();
//
// Browser → relay packets go on to the hub from a socket of the relay's own, one per browser
// source address (a NAT mapping), so the hub sees the relay as that browser; the hub's answers
// on that socket go back to the browser address it stands for, through the shaper, from the
// relay's public port (the address the page was given as the hub's candidate). Browser → hub
// is not shaped. Nothing is parsed: STUN, DTLS, SRTP and SRTCP all pass as bytes.
//
// The page is pointed at the relay by useRelay(): before any script of the page runs,
// RTCPeerConnection.prototype.setRemoteDescription (and addIceCandidate) are wrapped so that
// the hub's media address in every `a=candidate` line (and an `m=` port equal to it) becomes
// the relay's. The hub's address is read from the first SDP it sends (its one UDP port, see
// lib/hub.mjs: `--udp-port 0`), and the relay told to forward there.

import dgram from 'node:dgram';

import { TEST_ADDR } from './browsers.mjs';

/**
 * A FIFO drained by a token bucket, sans IO: `send(item)` is called for each packet as the
 * rate allows. Sizes in bytes, rate in bit/s.
 */
export class Shaper {
  /**
   * @param {{rate: number, queueBytes: number, burstBytes?: number, send: (item: any) => void,
   *   now?: () => number}} o  now(): milliseconds (monotonic)
   */
  constructor({ rate, queueBytes, burstBytes, send, now = () => performance.now() }) {
    this.send = send;
    this.now = now;
    this.queue = [];
    this.head = 0;
    this.queued = 0;
    this.timer = null;
    this.fixedBurst = burstBytes ?? null;
    this.queueBytes = queueBytes;
    this.rate = 0;
    this.tokens = 0;
    this.last = now();
    this.counts = { enqueued: 0, sent: 0, sentBytes: 0, dropped: 0, droppedBytes: 0, maxQueued: 0 };
    this.setRate(rate);
    this.tokens = this.burst;
  }

  /** Changes the rate (bit/s) from now on; what is queued stays queued. */
  setRate(bps) {
    if (!(bps > 0)) throw new Error(`rate must be > 0 bit/s, not ${bps}`);
    this._refill();
    this.rate = bps;
    // Two full packets, or 5 ms at the rate: small enough not to hide the cap.
    this.burst = this.fixedBurst ?? Math.max(3000, Math.round((bps / 8) * 0.005));
    this.tokens = Math.min(this.tokens, this.burst);
    this._reschedule();
  }

  /** Changes the queue limit (bytes); a shorter limit drops nothing already queued. */
  setQueueBytes(bytes) {
    this.queueBytes = bytes;
  }

  /** Queues one packet of `size` bytes, or drops it (tail drop) when the queue is full. */
  push(item, size) {
    if (this.queued + size > this.queueBytes) {
      this.counts.dropped++;
      this.counts.droppedBytes += size;
      return false;
    }
    this.queue.push({ item, size, at: this.now() });
    this.queued += size;
    this.counts.enqueued++;
    if (this.queued > this.counts.maxQueued) this.counts.maxQueued = this.queued;
    this.pump();
    return true;
  }

  /** The queue's length in bytes and in milliseconds at the current rate. */
  get backlog() {
    return { bytes: this.queued, ms: (this.queued * 8 * 1000) / this.rate };
  }

  _refill() {
    const t = this.now();
    this.tokens = Math.min(this.burst ?? Infinity, this.tokens + ((t - this.last) * this.rate) / 8000);
    this.last = t;
  }

  pump() {
    this._refill();
    while (this.head < this.queue.length && this.tokens >= this.queue[this.head].size) {
      const p = this.queue[this.head];
      this.queue[this.head++] = undefined;
      this.tokens -= p.size;
      this.queued -= p.size;
      this.counts.sent++;
      this.counts.sentBytes += p.size;
      this.send(p.item);
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this._reschedule();
  }

  _reschedule() {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.head >= this.queue.length || this.closed) return;
    const need = this.queue[this.head].size - this.tokens;
    const ms = Math.max(1, Math.ceil((need * 8000) / this.rate));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.pump();
    }, ms);
  }

  close() {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
    this.head = 0;
    this.queued = 0;
  }
}

/**
 * What a datagram is, from its clear bytes (RFC 7983): 'stun', 'dtls', 'rtcp', or
 * 'rtp PT' — with ' padded' when the RTP padding bit is set (a padding-only probe, or RTX).
 */
export function classify(msg) {
  const b0 = msg[0];
  if (b0 <= 3) return 'stun';
  if (b0 >= 20 && b0 <= 63) return 'dtls';
  if (b0 >= 128 && b0 <= 191 && msg.length >= 12) {
    const b1 = msg[1];
    if (b1 >= 192 && b1 <= 223) return 'rtcp';
    return `rtp ${b1 & 0x7f}${b0 & 0x20 ? ' padded' : ''}`;
  }
  return 'other';
}

function bindUdp(host, port = 0) {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    sock.once('error', reject);
    sock.bind(port, host, () => {
      sock.off('error', reject);
      // A browser that went away makes sends fail (ICMP unreachable): not the relay's problem.
      sock.on('error', () => {});
      resolve(sock);
    });
  });
}

/**
 * Starts the relay.
 * @param {object} [o]
 * @param {string} [o.host] address to listen on (CAU_TEST_ADDR)
 * @param {number} [o.rate] hub → browser rate, bit/s (default 20 Mbit/s)
 * @param {number} [o.queueBytes] the FIFO's limit, bytes (default 32 KiB)
 * @param {number} [o.burstBytes] the bucket's depth, bytes (default max(3000, 5 ms at the rate))
 * @returns {Promise<{host: string, port: number, target: {host: string, port: number}|null,
 *   setTarget(host: string, port: number): void, setRate(bps: number): void,
 *   setQueueBytes(bytes: number): void, stats(): object, close(): Promise<void>}>}
 */
export async function startCappedRelay({ host = TEST_ADDR, rate = 20e6, queueBytes = 32 * 1024, burstBytes } = {}) {
  const front = await bindUdp(host);
  const { port } = front.address();
  /** browser "ip:port" → {sock, addr, port} */
  const mappings = new Map();
  let target = null;
  let closed = false;
  const up = { packets: 0, bytes: 0, unrouted: 0 };
  const down = { packets: 0, bytes: 0, foreign: 0, kinds: {} };

  const shaper = new Shaper({
    rate,
    queueBytes,
    burstBytes,
    send: ({ msg, addr, port: p }) => {
      if (!closed) front.send(msg, p, addr);
    },
  });

  function mappingFor(rinfo) {
    const key = `${rinfo.address}:${rinfo.port}`;
    let m = mappings.get(key);
    if (m) return m;
    m = { addr: rinfo.address, port: rinfo.port, sock: null, pending: [], up: 0, down: 0 };
    mappings.set(key, m);
    bindUdp(host).then((sock) => {
      if (closed) {
        sock.close();
        return;
      }
      m.sock = sock;
      sock.on('message', (msg, from) => {
        if (!target || from.address !== target.host || from.port !== target.port) {
          down.foreign++;
          return;
        }
        down.packets++;
        down.bytes += msg.length;
        m.down += msg.length;
        const kind = classify(msg);
        down.kinds[kind] = (down.kinds[kind] ?? 0) + msg.length;
        shaper.push({ msg, addr: m.addr, port: m.port }, msg.length);
      });
      for (const msg of m.pending) sock.send(msg, target.port, target.host);
      m.pending = [];
    });
    return m;
  }

  front.on('message', (msg, rinfo) => {
    if (!target || closed) {
      up.unrouted++;
      return;
    }
    const m = mappingFor(rinfo);
    up.packets++;
    up.bytes += msg.length;
    m.up += msg.length;
    if (m.sock) m.sock.send(msg, target.port, target.host);
    else m.pending.push(msg);
  });

  return {
    host,
    port,
    get target() {
      return target;
    },
    /** Where browser packets go (the hub's media address); the same again is a no-op. */
    setTarget(h, p) {
      if (target && (target.host !== h || target.port !== Number(p))) {
        throw new Error(`the relay already forwards to ${target.host}:${target.port}, not ${h}:${p}`);
      }
      target = { host: h, port: Number(p) };
    },
    setRate(bps) {
      shaper.setRate(bps);
    },
    setQueueBytes(bytes) {
      shaper.setQueueBytes(bytes);
    },
    /**
     * Counters since the start: up (browser → hub), down (hub → relay; `kinds`: bytes by
     * classify()), shaped (relay → browser: sent, tail-dropped, the queue now), and bytes each
     * way per browser address (`mappings`).
     */
    stats() {
      return {
        rate: shaper.rate,
        queueBytes: shaper.queueBytes,
        /** per browser address: bytes up (to the hub) and down (from the hub) */
        mappings: Object.fromEntries([...mappings].map(([k, m]) => [k, { up: m.up, down: m.down }])),
        up: { ...up },
        down: { ...down, kinds: { ...down.kinds } },
        shaped: { ...shaper.counts, backlog: shaper.backlog },
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      shaper.close();
      const socks = [front, ...[...mappings.values()].map((m) => m.sock).filter(Boolean)];
      await Promise.all(socks.map((s) => new Promise((r) => s.close(r))));
    },
  };
}

/**
 * Points `page`'s peer connections at `relay` instead of the hub's media port. Call before
 * page.goto (it acts on every new document of the page). The page records what it rewrote in
 * `window.__cauRelayRewrites` ({type, from, to, lines}).
 * @param {import('puppeteer-core').Page} page
 * @param {{host: string, port: number, setTarget(host: string, port: number): void}} relay
 */
export async function useRelay(page, relay) {
  await page.exposeFunction('__cauRelayTarget', (h, p) => {
    relay.setTarget(h, Number(p));
    return { host: relay.host, port: relay.port };
  });
  await page.evaluateOnNewDocument(() => {
    const PC = window.RTCPeerConnection;
    if (!PC) return;
    window.__cauRelayRewrites = [];
    let hub = null; // {host, port}: the hub's media address, from its first SDP
    let relay = null; // {host, port}

    // `candidate:F 1 udp PRIO ADDR PORT typ host ...`
    const CANDIDATE = /^(a=)?candidate:\S+ \d+ udp \d+ (\S+) (\d+) typ /i;
    const hubIn = (sdp) => {
      for (const line of sdp.split(/\r?\n/)) {
        const m = line.match(CANDIDATE);
        if (m) return { host: m[2], port: Number(m[3]) };
      }
      return null;
    };
    const rewriteCandidate = (line) => {
      const m = line.match(CANDIDATE);
      if (!m || m[2] !== hub.host || Number(m[3]) !== hub.port) return line;
      return line.replace(` ${hub.host} ${hub.port} typ `, ` ${relay.host} ${relay.port} typ `);
    };
    async function learn(sdp) {
      if (relay) return;
      const found = hubIn(sdp);
      if (!found) return;
      relay = await window.__cauRelayTarget(found.host, found.port);
      hub = found;
    }
    function rewrite(sdp) {
      if (!relay) return { sdp, lines: 0 };
      let lines = 0;
      const out = sdp.split('\r\n').map((line) => {
        let next = line;
        if (/^a=candidate:/i.test(line)) next = rewriteCandidate(line);
        else if (/^m=/.test(line)) next = line.replace(/^(m=\S+ )(\d+)( )/, (all, a, p, b) => (Number(p) === hub.port ? `${a}${relay.port}${b}` : all));
        if (next !== line) lines++;
        return next;
      });
      return { sdp: out.join('\r\n'), lines };
    }

    const setRemote = PC.prototype.setRemoteDescription;
    PC.prototype.setRemoteDescription = async function setRemoteDescription(desc, ...rest) {
      if (desc && typeof desc.sdp === 'string' && desc.sdp) {
        await learn(desc.sdp);
        const { sdp, lines } = rewrite(desc.sdp);
        window.__cauRelayRewrites.push({ type: desc.type, from: hub, to: relay, lines });
        desc = { type: desc.type, sdp };
      }
      return setRemote.call(this, desc, ...rest);
    };
    const addCandidate = PC.prototype.addIceCandidate;
    PC.prototype.addIceCandidate = async function addIceCandidate(c, ...rest) {
      const text = typeof c === 'string' ? c : c?.candidate;
      if (text && relay) {
        const next = rewriteCandidate(text);
        if (next !== text) {
          window.__cauRelayRewrites.push({ type: 'candidate', from: hub, to: relay, lines: 1 });
          c = typeof c === 'string' ? next : { candidate: next, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex, usernameFragment: c.usernameFragment };
        }
      }
      return addCandidate.call(this, c, ...rest);
    };
  });
}
