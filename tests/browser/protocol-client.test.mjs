// protocol.js (version 3) without a browser and without the hub: a fake WebSocket and a fake
// RTCPeerConnection stand in, and the test plays the hub's side of docs/protocol.md. It
// checks what the client sends (join, offer with simulcast and the screen's m-line, mute,
// receive, raise_hand, chat, moderation, share_screen), how it follows `layers`
// (setParameters), how it maps receive slots to participants and sources (`slots` → track /
// track-removed events, a screen in its own stream), the chair's mute, the screen share's
// life: accepted, refused and undone, stopped by the hub, ended from the browser; and
// `meeting_state.recording` (not recorded, recording, stopped with its reason).
//
//   node --test tests/browser/protocol-client.test.mjs      (no namespace, no browser needed)

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { CauClient, CauError, PROTOCOL_VERSION, isClosingError } from '../../web-client/js/protocol.js';
import {
  activeEncodings, cleanChatText, normalizeMeetingState, normalizeSlots, mayUnmute, shouldRejoin, SIMULCAST_ENCODINGS,
  SCREEN_ENCODINGS, screenActiveEncodings, mayShareScreen, shareBusy, emptyMeetingState, normalizeRecording,
  RECORDING_STOP_REASONS,
} from '../../web-client/js/protocol-rules.js';

// ------------------------------------------------------------------ fakes

class FakeWebSocket {
  static last = null;
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    FakeWebSocket.last = this;
    queueMicrotask(() => {
      this.readyState = 1;
      this.onopen?.();
    });
  }
  send(text) {
    this.sent.push(JSON.parse(text));
  }
  close() {
    this.readyState = 3;
  }
  /** The hub sends `msg`. */
  deliver(msg) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  /** The hub closes the socket. */
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }
  types() {
    return this.sent.map((m) => m.type);
  }
}

let trackSeq = 0;
class FakeTrack extends EventTarget {
  constructor(kind) {
    super();
    this.kind = kind;
    this.id = `track-${++trackSeq}`;
    this.enabled = true;
    this.readyState = 'live';
    this.contentHint = '';
  }
  stop() {
    this.readyState = 'ended'; // as in browsers, stop() fires no `ended`
  }
  /** The capture ends by itself (the browser's own "stop sharing"). */
  end() {
    this.readyState = 'ended';
    this.dispatchEvent(new Event('ended'));
  }
}

/** Just enough of MediaStream for the client's send and receive streams. */
class FakeMediaStream {
  constructor(tracks = []) {
    this.tracks = [...tracks];
  }
  getTracks() {
    return [...this.tracks];
  }
  addTrack(t) {
    if (!this.tracks.includes(t)) this.tracks.push(t);
  }
  removeTrack(t) {
    this.tracks = this.tracks.filter((x) => x !== t);
  }
}
globalThis.MediaStream ??= FakeMediaStream;

class FakeSender {
  constructor(track, encodings) {
    this.track = track;
    this.encodings = encodings;
    this.setCalls = 0;
  }
  async replaceTrack(track) {
    this.track = track;
  }
  getParameters() {
    return { transactionId: 'x', encodings: this.encodings.map((e) => ({ ...e })) };
  }
  async setParameters(params) {
    this.setCalls++;
    this.encodings = params.encodings.map((e) => ({ ...e }));
  }
}

class FakeTransceiver {
  constructor({ mid = null, kind, direction, track = null, encodings = [{ active: true }] }) {
    this.mid = mid;
    this.kind = kind;
    this.direction = direction;
    this.currentDirection = null;
    this.stopped = false;
    this.sender = new FakeSender(track, encodings);
    this.receiver = { track: new FakeTrack(kind) };
  }
}

/** A peer connection that understands just enough SDP: lines `m=KIND MID`. */
class FakePC {
  static last = null;
  static simulcast = true; // false: a browser that refuses sendEncodings with RIDs
  static singleEncoding = false; // true: a browser that keeps one encoding
  constructor(config) {
    this.config = config;
    this.transceivers = [];
    this.signalingState = 'stable';
    this.connectionState = 'new';
    this.localDescription = null;
    this.remoteDescription = null;
    this.addInit = [];
    FakePC.last = this;
  }
  addTransceiver(trackOrKind, init) {
    const kind = typeof trackOrKind === 'string' ? trackOrKind : trackOrKind.kind;
    this.addInit.push({ kind, init });
    let encodings = [{ active: true }];
    if (init.sendEncodings) {
      if (!FakePC.simulcast && init.sendEncodings.some((e) => e.rid)) throw new TypeError('sendEncodings with rid are not supported');
      encodings = FakePC.singleEncoding ? [{ active: true }] : init.sendEncodings.map((e) => ({ active: true, ...e }));
    }
    const tr = new FakeTransceiver({
      kind, direction: init.direction, track: typeof trackOrKind === 'string' ? null : trackOrKind, encodings,
    });
    this.transceivers.push(tr);
    return tr;
  }
  getTransceivers() {
    return this.transceivers;
  }
  async createOffer() {
    return { type: 'offer', sdp: this.transceivers.map((t) => `m=${t.kind}`).join('\n') };
  }
  async createAnswer() {
    return { type: 'answer', sdp: 'answer' };
  }
  async setLocalDescription(d) {
    this.localDescription = d;
    if (d.type === 'offer') {
      this.transceivers.forEach((t, i) => { t.mid = String(i); });
      this.signalingState = 'have-local-offer';
    } else {
      for (const t of this.transceivers) {
        if (t.direction === 'recvonly') t.currentDirection = 'recvonly';
      }
      this.signalingState = 'stable';
    }
  }
  async setRemoteDescription(d) {
    this.remoteDescription = d;
    if (d.type === 'answer') {
      for (const t of this.transceivers) t.currentDirection = 'sendonly';
      this.signalingState = 'stable';
      return;
    }
    for (const line of d.sdp.split('\n')) {
      const m = /^m=(audio|video) (\S+)$/.exec(line.trim());
      if (m && !this.transceivers.some((t) => t.mid === m[2])) {
        this.transceivers.push(new FakeTransceiver({ mid: m[2], kind: m[1], direction: 'recvonly' }));
      }
    }
    this.signalingState = 'have-remote-offer';
  }
  async addIceCandidate() {}
  close() {
    this.signalingState = 'closed';
  }
}

// ------------------------------------------------------------------ helpers

const tick = () => new Promise((r) => setTimeout(r, 0));
async function settle(n = 5) {
  for (let i = 0; i < n; i++) await tick();
}

const UNIT = { id: 'commune:5431', code: '5431', name: 'Phường Quán Triều', tier: 'commune' };
const WELCOME = {
  type: 'welcome', v: 3, participant_id: 'p-self', session_id: 's1', role: 'official', unit: UNIT,
  meeting: { id: 7, title: 'Họp', start: 0, end: 1, chair_person: 'Chủ trì' },
  room: UNIT,
  participants: [
    { id: 'p-a', name: 'An', unit: UNIT, role: 'official', audio_muted: false, video_muted: false, tracks: [] },
    { id: 'p-b', name: 'Bình', unit: UNIT, role: 'chair', audio_muted: false, video_muted: false, tracks: [] },
  ],
  ice_servers: [],
};

/** A client joined to the fake hub: welcome, answer, then the slots' offer answered. */
async function joined({ slotsOffer = true, weakLink = false } = {}) {
  const client = new CauClient({ WebSocket: FakeWebSocket, RTCPeerConnection: FakePC });
  const events = [];
  for (const type of ['track', 'track-removed', 'slots', 'layers', 'meeting-state', 'muted-by-chair',
    'unmute-refused', 'chat', 'dominant-speaker', 'error', 'closed', 'participant-left', 'screen-share']) {
    client.addEventListener(type, (e) => events.push({ type, ...e.detail }));
  }
  if (weakLink) await client.setWeakLink(true);
  await client.publish({ getAudioTracks: () => [new FakeTrack('audio')], getVideoTracks: () => [new FakeTrack('video')] });
  const connected = client.connect({ url: 'ws://hub/ws', meeting: 7, name: ' Lê Thị Dung ', token: 'v1.t' });
  await settle();
  const ws = FakeWebSocket.last;
  ws.deliver(WELCOME);
  ws.deliver({ type: 'meeting_state', floor: null, hands: [], locked: false, self_unmute: true, chair_muted: [] });
  await connected;
  const pc = FakePC.last;
  ws.deliver({ type: 'answer', sdp: 'hub answer' });
  await settle();
  if (slotsOffer) {
    ws.deliver({
      type: 'offer',
      sdp: ['m=audio 3', 'm=audio 4', 'm=video 5', 'm=video 6', 'm=video 7'].join('\n'),
      tracks: [3, 4, 5, 6, 7].map((mid) => ({ mid: String(mid), kind: mid < 5 ? 'audio' : 'video' })),
    });
    await settle();
  }
  return { client, ws, pc, events };
}

const slot = (mid, kind, participant_id, reason = 'other', layer = kind === 'video' ? 'h' : null) =>
  ({ mid, kind, participant_id, reason, layer });

// ------------------------------------------------------------------ the rules

test('activeEncodings follows layers, weak link and single encodings', () => {
  const three = SIMULCAST_ENCODINGS.map((e) => ({ ...e }));
  assert.deepEqual(activeEncodings(three, null, false), [true, true, true], 'before any layers: all');
  assert.deepEqual(activeEncodings(three, ['q'], false), [true, false, false]);
  assert.deepEqual(activeEncodings(three, ['h', 'f'], false), [false, true, true]);
  assert.deepEqual(activeEncodings(three, [], false), [false, false, false], 'nobody watches: nothing');
  assert.deepEqual(activeEncodings(three, ['h', 'f'], true), [true, false, false], 'weak link: q only');
  assert.deepEqual(activeEncodings(three, null, true), [true, false, false]);
  assert.deepEqual(activeEncodings(three, [], true), [false, false, false], 'weak link, nobody watches');
  assert.deepEqual(activeEncodings([{}], ['h'], false), [true], 'one encoding without rid');
  assert.deepEqual(activeEncodings([{}], [], false), [false]);
  assert.deepEqual(activeEncodings([{ rid: 'q' }], ['h'], false), [true], 'one encoding left, whatever its rid');
  assert.deepEqual(activeEncodings(three.slice(0, 2), ['f'], false), [false, true], 'f missing: h instead');
  assert.deepEqual(activeEncodings(three.slice(1), ['q'], false), [true, false], 'q missing: the lowest there is');
  assert.deepEqual(activeEncodings(three.slice(1), ['f'], true), [true, false], 'weak link without q: the lowest');
});

test('chat texts are cleaned and checked as the hub checks them', () => {
  assert.deepEqual(cleanChatText('  Xin chào\r\nmọi người\t! '), { text: 'Xin chào\nmọi người !', length: 20 });
  assert.equal(cleanChatText('   ').error, 'empty');
  assert.equal(cleanChatText('a'.repeat(2001)).error, 'too_long');
  assert.equal(cleanChatText('ồ'.repeat(2000)).text.length, 2000, '2000 characters with diacritics pass');
  assert.equal(cleanChatText('a\u0007b').error, 'control');
  assert.equal(cleanChatText('a\u0085b').error, 'control', 'C1 controls too');
});

test('who may unmute, and which endings are worth joining again after', () => {
  const s = normalizeMeetingState({ floor: 'p1', hands: ['p2', 'p2', 'p3'], locked: true, self_unmute: false,
    chair_muted: [{ participant_id: 'p2', kind: 'audio' }, { participant_id: 'p1', kind: 'audio' }, { kind: 'x' }] });
  assert.deepEqual(s.hands, ['p2', 'p3']);
  assert.equal(s.chairMuted.length, 2);
  assert.equal(mayUnmute(s, 'p2', 'audio'), false, 'muted by the chair, unmute not allowed');
  assert.equal(mayUnmute(s, 'p1', 'audio'), true, 'the floor holder may');
  assert.equal(mayUnmute(s, 'p2', 'video'), true, 'only the muted kind is held');
  assert.equal(mayUnmute({ ...s, selfUnmute: true }, 'p2', 'audio'), true);
  for (const r of ['left', 'replaced', 'removed', 'meeting_ended', 'invalid_token', 'session_locked']) {
    assert.equal(shouldRejoin(r), false, r);
  }
  for (const r of ['connection_lost', 'media_failed', 'server_shutdown', 'internal', 'room_busy', 'timeout']) {
    assert.equal(shouldRejoin(r), true, r);
  }
});

// ------------------------------------------------------------------ the client

test('joins with v3, offers simulcast video, tells its mute state and receive wishes', async () => {
  const { client, ws, pc } = await joined({ slotsOffer: false });
  assert.equal(PROTOCOL_VERSION, 3);
  const join = ws.sent[0];
  assert.deepEqual(join, { type: 'join', v: 3, meeting: 7, name: 'Lê Thị Dung', token: 'v1.t' });
  assert.deepEqual(ws.types().slice(1, 5), ['offer', 'mute', 'mute', 'receive']);
  assert.deepEqual(ws.sent[4], { type: 'receive', mode: 'auto' });
  const video = pc.addInit.find((a) => a.kind === 'video').init;
  assert.equal(video.direction, 'sendonly');
  assert.deepEqual(video.sendEncodings.map((e) => [e.rid, e.scaleResolutionDownBy, e.maxBitrate]),
    [['q', 4, 150000], ['h', 2, 500000], ['f', undefined, 1500000]]);
  assert.equal(pc.addInit.find((a) => a.kind === 'audio').init.sendEncodings, undefined);
  assert.equal(client.state, 'joined');

  // receive: only what changed goes out.
  client.setReceive({ largeHeight: 540.4, smallHeight: 120 });
  assert.deepEqual(ws.sent.at(-1), { type: 'receive', large_height: 540, small_height: 120 });
  const before = ws.sent.length;
  assert.equal(client.setReceive({ largeHeight: 540 }), false, 'nothing new, nothing sent');
  assert.equal(ws.sent.length, before);
  client.setReceive({ mode: 'audio_only', pinned: ['p-a'] });
  assert.deepEqual(ws.sent.at(-1), { type: 'receive', mode: 'audio_only', pinned: ['p-a'] });
  assert.throws(() => client.setReceive({ mode: 'hd' }), TypeError);
});

test('layers and weak-link mode set the encodings active', async () => {
  const { client, ws, pc } = await joined({ slotsOffer: false });
  const sender = pc.transceivers.find((t) => t.kind === 'video').sender;
  const active = () => sender.encodings.map((e) => `${e.rid}:${e.active ? 'on' : 'off'}`).join(' ');
  assert.equal(active(), 'q:on h:on f:on');
  ws.deliver({ type: 'layers', rids: ['q'] });
  await settle();
  assert.equal(active(), 'q:on h:off f:off');
  ws.deliver({ type: 'layers', rids: ['h', 'f'] });
  await settle();
  assert.equal(active(), 'q:off h:on f:on');
  await client.setWeakLink(true);
  assert.equal(active(), 'q:on h:off f:off', 'weak link: q only, whatever layers says');
  ws.deliver({ type: 'layers', rids: ['f', 'bogus'] });
  await settle();
  assert.equal(active(), 'q:on h:off f:off');
  await client.setWeakLink(false);
  assert.equal(active(), 'q:off h:off f:on');
  ws.deliver({ type: 'layers', rids: [] });
  await settle();
  assert.equal(active(), 'q:off h:off f:off', 'nobody watches: no video at all');
});

test('a browser with one encoding, or none with RIDs, still publishes', async () => {
  FakePC.singleEncoding = true;
  try {
    const { client, ws, pc } = await joined({ slotsOffer: false });
    const sender = pc.transceivers.find((t) => t.kind === 'video').sender;
    ws.deliver({ type: 'layers', rids: ['q'] });
    await settle();
    assert.deepEqual(sender.encodings, [{ active: true, maxBitrate: 1500000 }]);
    await client.setWeakLink(true);
    assert.deepEqual(sender.encodings, [{ active: true, scaleResolutionDownBy: 4, maxBitrate: 150000 }]);
    await client.setWeakLink(false);
    assert.deepEqual(sender.encodings, [{ active: true, scaleResolutionDownBy: 1, maxBitrate: 1500000 }]);
  } finally {
    FakePC.singleEncoding = false;
  }
  FakePC.simulcast = false;
  try {
    const { client, pc } = await joined({ slotsOffer: false });
    assert.equal(client.state, 'joined', 'joined without simulcast');
    // The camera: three encodings refused, then none; the screen: two refused, then one.
    assert.deepEqual(pc.addInit.filter((a) => a.kind === 'video').map((a) => a.init.sendEncodings?.length ?? 0), [3, 0, 2, 1]);
    const screen = pc.transceivers[2];
    assert.deepEqual(screen.sender.encodings, [{ active: true, maxBitrate: 1200000, maxFramerate: 5 }]);
    await client.setWeakLink(true);
    assert.deepEqual(screen.sender.encodings, [{ active: true, maxBitrate: 300000, maxFramerate: 5, scaleResolutionDownBy: 2 }],
      'weak link: the screen at h’s size and rate');
  } finally {
    FakePC.simulcast = true;
  }
});

test('slots map receive transceivers to participants; switches move tracks without renegotiation', async () => {
  const { client, ws, pc, events } = await joined();
  assert.equal(ws.sent.at(-1).type, 'answer', 'the slots offer is answered');
  const trackOf = (mid) => pc.transceivers.find((t) => t.mid === mid).receiver.track;
  events.length = 0;
  ws.deliver({ type: 'slots', slots: [
    slot('3', 'audio', 'p-b', 'chair'), slot('4', 'audio', null, null),
    slot('5', 'video', 'p-b', 'chair', 'f'), slot('6', 'video', 'p-a', 'other', 'q'), slot('7', 'video', null, null, null),
  ] });
  await settle();
  const added = events.filter((e) => e.type === 'track');
  assert.deepEqual(added.map((e) => [e.participantId, e.kind, e.mid, e.reason, e.layer, e.from]), [
    ['p-b', 'audio', '3', 'chair', null, null],
    ['p-b', 'video', '5', 'chair', 'f', null],
    ['p-a', 'video', '6', 'other', 'q', null],
  ]);
  assert.equal(added[1].track, trackOf('5'));
  assert.equal(events.at(-1).type, 'slots');
  assert.equal(client.slotOf('p-a', 'video').mid, '6');

  // p-a takes the floor: it moves to slot 5, p-b to slot 7; slot 6 is idle.
  events.length = 0;
  ws.deliver({ type: 'slots', slots: [
    slot('3', 'audio', 'p-a', 'floor'), slot('4', 'audio', 'p-b', 'chair'),
    slot('5', 'video', 'p-a', 'floor', 'f'), slot('6', 'video', null, null, null), slot('7', 'video', 'p-b', 'chair', 'h'),
  ] });
  await settle();
  const seq = events.map((e) => `${e.type}:${e.participantId ?? ''}:${e.kind ?? ''}:${e.mid ?? ''}:${e.from ?? ''}`);
  assert.deepEqual(seq, [
    'track-removed:p-b:audio:3:', 'track-removed:p-b:video:5:', 'track-removed:p-a:video:6:',
    'track:p-a:audio:3:', 'track:p-b:audio:4:3', 'track:p-a:video:5:6', 'track:p-b:video:7:5', 'slots::::',
  ]);
  assert.equal(ws.types().filter((t) => t === 'answer').length, 1, 'no renegotiation');

  // The same mapping again changes nothing but the `slots` event.
  events.length = 0;
  ws.deliver({ type: 'slots', slots: [
    slot('3', 'audio', 'p-a', 'floor'), slot('4', 'audio', 'p-b', 'chair'),
    slot('5', 'video', 'p-a', 'floor', 'h'), slot('6', 'video', null, null, null), slot('7', 'video', 'p-b', 'chair', 'h'),
  ] });
  await settle();
  assert.deepEqual(events.map((e) => e.type), ['slots']);
  assert.equal(client.slotOf('p-a', 'video').layer, 'h');

  // p-b leaves: its tracks go at once, before the hub's next `slots`.
  events.length = 0;
  ws.deliver({ type: 'participant_left', participant_id: 'p-b', reason: 'left' });
  await settle();
  assert.deepEqual(events.map((e) => `${e.type}:${e.mid ?? ''}`), ['track-removed:4', 'track-removed:7', 'participant-left:', 'slots:']);
  assert.equal(client.slotOf('p-b', 'video'), null);
});

test('the floor, hands, dominant speaker and chat arrive as events', async () => {
  const { client, ws, events } = await joined();
  events.length = 0;
  assert.equal(client.raiseHand(true), true);
  assert.deepEqual(ws.sent.at(-1), { type: 'raise_hand', raised: true });
  ws.deliver({ type: 'meeting_state', floor: null, hands: ['p-a', 'p-self'], locked: false, self_unmute: true, chair_muted: [] });
  ws.deliver({ type: 'dominant_speaker', participant_id: 'p-a' });
  ws.deliver({ type: 'chat', from: 'p-a', name: 'An', unit: 'Phường Quán Triều', to: 'all', text: '<b>Chào</b>', at: 1700000000000 });
  await settle();
  assert.equal(client.handRaised, true);
  assert.equal(client.hasFloor, false);
  assert.deepEqual(events.map((e) => e.type), ['meeting-state', 'dominant-speaker', 'chat']);
  assert.deepEqual(events[0].state.hands, ['p-a', 'p-self']);
  assert.equal(events[1].participantId, 'p-a');
  assert.equal(events[2].text, '<b>Chào</b>', 'text passed on as it came (pages render it as text)');
  assert.equal(events[2].self, false);

  client.sendChat(' Xin phát biểu ', 'chair');
  assert.deepEqual(ws.sent.at(-1), { type: 'chat', text: 'Xin phát biểu', to: 'chair' });
  assert.throws(() => client.sendChat(' '), (e) => e instanceof CauError && e.code === 'invalid_text');
  assert.throws(() => client.sendChat('x', 'everyone'), TypeError);

  ws.deliver({ type: 'meeting_state', floor: 'p-self', hands: ['p-a'], locked: false, self_unmute: false, chair_muted: [] });
  await settle();
  assert.equal(client.hasFloor, true);
  assert.equal(client.handRaised, false);
});

test('a chair sends every moderation message in the documented shape', async () => {
  const { client, ws } = await joined();
  const n = ws.sent.length;
  client.giveFloor('p-a');
  client.takeFloor();
  client.muteParticipant('p-a', 'audio');
  client.muteParticipant('p-a', 'video');
  client.muteAll();
  client.allowUnmute(false);
  client.removeParticipant('p-a');
  client.lock(true);
  client.endMeeting();
  assert.deepEqual(ws.sent.slice(n), [
    { type: 'give_floor', participant_id: 'p-a' },
    { type: 'take_floor' },
    { type: 'mute_participant', participant_id: 'p-a', kind: 'audio' },
    { type: 'mute_participant', participant_id: 'p-a', kind: 'video' },
    { type: 'mute_all' },
    { type: 'allow_unmute', allowed: false },
    { type: 'remove_participant', participant_id: 'p-a' },
    { type: 'lock', locked: true },
    { type: 'end_meeting' },
  ]);
  assert.throws(() => client.muteParticipant('p-a', 'screen'), TypeError);
});

test('muted by the chair: the client stops sending and cannot unmute until allowed', async () => {
  const { client, ws, pc, events } = await joined();
  const audio = client.track('audio');
  events.length = 0;
  ws.deliver({ type: 'muted_by_chair', kind: 'audio' });
  ws.deliver({ type: 'meeting_state', floor: null, hands: [], locked: false, self_unmute: false,
    chair_muted: [{ participant_id: 'p-self', kind: 'audio' }] });
  await settle();
  assert.deepEqual(events.filter((e) => e.type === 'muted-by-chair').map((e) => e.kind), ['audio'], 'once');
  assert.equal(audio.enabled, false);
  assert.equal(client.muted.audio, true);
  assert.equal(client.canUnmute('audio'), false);
  const n = ws.sent.length;
  await assert.rejects(client.setMuted('audio', false), (e) => e.code === 'muted_by_chair');
  assert.equal(ws.sent.length, n, 'no mute message sent');
  assert.equal(audio.enabled, false);

  // The camera, too.
  ws.deliver({ type: 'muted_by_chair', kind: 'video' });
  await settle();
  const sender = pc.transceivers.find((t) => t.kind === 'video').sender;
  assert.equal(sender.track, null, 'the camera is no longer sent');
  await assert.rejects(client.setTrack('video', new FakeTrack('video')), (e) => e.code === 'muted_by_chair');

  // The chair allows self-unmute: unmuting works.
  ws.deliver({ type: 'meeting_state', floor: null, hands: [], locked: false, self_unmute: true,
    chair_muted: [{ participant_id: 'p-self', kind: 'audio' }, { participant_id: 'p-self', kind: 'video' }] });
  await settle();
  await client.setMuted('audio', false);
  assert.deepEqual(ws.sent.at(-1), { type: 'mute', kind: 'audio', muted: false });
  assert.equal(audio.enabled, true);
  // …but the hub, which knew better, refuses: the client is muted again and says so.
  events.length = 0;
  ws.deliver({ type: 'error', code: 'forbidden', message: 'unmute not allowed' });
  await settle();
  assert.deepEqual(events.map((e) => [e.type, e.kind ?? e.context]), [['unmute-refused', 'audio'], ['error', 'mute']]);
  assert.equal(audio.enabled, false);
  assert.equal(client.muted.audio, true);
  assert.equal(client.state, 'joined', 'forbidden does not close the session');
});

test('bye and closing errors end the client with their reason', async () => {
  for (const [msgs, reason] of [
    [[{ type: 'bye', reason: 'removed' }], 'removed'],
    [[{ type: 'bye', reason: 'meeting_ended' }], 'meeting_ended'],
    [[{ type: 'error', code: 'media_failed', message: '' }], 'media_failed'],
    [[], 'connection_lost'],
  ]) {
    const { ws, events } = await joined({ slotsOffer: false });
    for (const m of msgs) ws.deliver(m);
    ws.drop();
    await settle();
    assert.equal(events.find((e) => e.type === 'closed')?.reason, reason);
  }
  // A join refused while locked.
  const client = new CauClient({ WebSocket: FakeWebSocket, RTCPeerConnection: FakePC });
  const p = client.connect({ url: 'ws://hub/ws', meeting: 7, name: 'An', token: 't' });
  await settle();
  FakeWebSocket.last.deliver({ type: 'error', code: 'session_locked', message: 'locked' });
  await assert.rejects(p, (e) => e.code === 'session_locked');
  // A join refused for an unknown meeting closes; a moderation message naming someone who
  // has just left (`not_found` once joined) does not.
  const lost = new CauClient({ WebSocket: FakeWebSocket, RTCPeerConnection: FakePC });
  const q = lost.connect({ url: 'ws://hub/ws', meeting: 7, name: 'An', token: 't' });
  await settle();
  FakeWebSocket.last.deliver({ type: 'error', code: 'not_found', message: 'no meeting' });
  await assert.rejects(q, (e) => e.code === 'not_found');
  assert.equal(isClosingError('not_found', 'connecting'), true);
  assert.equal(isClosingError('not_found', 'joined'), false);
  const { ws, events } = await joined({ slotsOffer: false });
  ws.deliver({ type: 'error', code: 'not_found', message: 'no participant e9' });
  await settle();
  const error = events.find((e) => e.type === 'error');
  assert.equal(error?.fatal, false);
  assert.equal(events.find((e) => e.type === 'closed'), undefined);
});

test('a dropped media connection is restarted in place first, and fails only if that does not help', async (t) => {
  const ice = (pc, state, connection = state) => {
    pc.iceConnectionState = state;
    pc.connectionState = connection;
    pc.oniceconnectionstatechange?.();
  };
  const restarts = (ws) => ws.sent.filter((m) => m.type === 'restart_ice').length;
  {
    const { ws, pc, events } = await joined();
    t.mock.timers.enable({ apis: ['setTimeout'] });
    ice(pc, 'connected');
    // A short `disconnected` heals by itself: nothing asked.
    ice(pc, 'disconnected');
    t.mock.timers.tick(1000);
    ice(pc, 'connected');
    t.mock.timers.tick(5000);
    assert.equal(restarts(ws), 0);
    // One that lasts: an ICE restart is asked once; back up, the same participant goes on.
    ice(pc, 'disconnected');
    t.mock.timers.tick(2100);
    assert.equal(restarts(ws), 1);
    ice(pc, 'failed');
    assert.equal(restarts(ws), 1, 'asked once');
    ice(pc, 'connected');
    t.mock.timers.tick(20_000);
    t.mock.timers.reset();
    await settle();
    assert.ok(!events.some((e) => e.type === 'closed'));
  }
  {
    // `failed` at once: asked at once; no recovery in 10 s: the media fails (the page rejoins).
    const { ws, pc, events } = await joined();
    t.mock.timers.enable({ apis: ['setTimeout'] });
    ice(pc, 'connected');
    ice(pc, 'failed');
    assert.deepEqual(ws.sent.at(-1), { type: 'restart_ice' });
    t.mock.timers.tick(9_000);
    assert.ok(!events.some((e) => e.type === 'closed'));
    t.mock.timers.tick(1_500);
    t.mock.timers.reset();
    await settle();
    assert.equal(events.find((e) => e.type === 'closed')?.reason, 'media_failed');
  }
});

// ------------------------------------------------------------------ sharing a screen

const state = (extra = {}) => ({ type: 'meeting_state', floor: null, hands: [], locked: false, self_unmute: true, chair_muted: [], screens: [], second_share: false, ...extra });
const shareEvents = (events) => events.filter((e) => e.type === 'screen-share').map((e) => [e.sharing, e.reason, e.code]);

test('screen rules: encodings, weak link, who may share, busy, the state and slot fields', () => {
  assert.deepEqual(SCREEN_ENCODINGS.map((e) => [e.rid, e.scaleResolutionDownBy, e.maxBitrate, e.maxFramerate]),
    [['h', 2, 300000, 5], ['f', 1, 1200000, 5]]);
  const two = SCREEN_ENCODINGS.map((e) => ({ ...e }));
  assert.deepEqual(screenActiveEncodings(two, false), [true, true], 'always both: layers are the camera’s');
  assert.deepEqual(screenActiveEncodings(two, true), [true, false], 'weak link: h only');
  assert.deepEqual(screenActiveEncodings([{}], true), [true], 'one encoding stays on');

  const s = normalizeMeetingState({ floor: 'p1', screens: ['p1', 'p1', '', 7, 'p2'], second_share: true });
  assert.deepEqual(s.screens, ['p1', 'p2']);
  assert.equal(s.secondShare, true);
  assert.deepEqual(normalizeMeetingState({}).screens, [], 'an older hub: nobody shares');
  assert.equal(normalizeMeetingState({ second_share: 'yes' }).secondShare, false);
  assert.deepEqual(emptyMeetingState().screens, []);

  assert.equal(mayShareScreen(s, 'p1', false), true, 'the floor holder');
  assert.equal(mayShareScreen(s, 'p3', true), true, 'a chair');
  assert.equal(mayShareScreen(s, 'p3', false), false, 'anyone else');
  const one = normalizeMeetingState({ screens: ['p1'] });
  assert.equal(shareBusy(one, 'p2'), true, 'one share, no second allowed');
  assert.equal(shareBusy(one, 'p1'), false, 'one’s own share');
  assert.equal(shareBusy({ ...one, secondShare: true }, 'p2'), false, 'a second allowed');
  assert.equal(shareBusy(normalizeMeetingState({ screens: ['p1', 'p2'], second_share: true }), 'p3'), true, 'two already');

  const slots = normalizeSlots([
    { mid: '3', kind: 'audio', participant_id: 'p1', reason: 'floor', layer: null, source: 'microphone' },
    { mid: '4', kind: 'audio', participant_id: 'p1', reason: 'floor', source: 'screen' },
    { mid: '5', kind: 'video', participant_id: 'p1', reason: 'screen', layer: 'f', source: 'screen' },
    { mid: '6', kind: 'video', participant_id: 'p1', reason: 'floor', layer: 'h' },
  ]);
  assert.deepEqual([...slots.values()].map((x) => [x.mid, x.source, x.reason]),
    [['3', 'microphone', 'floor'], ['4', 'microphone', 'floor'], ['5', 'screen', 'screen'], ['6', 'camera', 'floor']]);
});

test('the offer has three send m-lines: audio, the camera (q, h, f), the screen (h, f at 5 fps, no track)', async () => {
  const { client, ws, pc } = await joined({ slotsOffer: false });
  assert.deepEqual(pc.addInit.map((a) => a.kind), ['audio', 'video', 'video']);
  assert.equal(ws.sent.find((m) => m.type === 'offer').sdp, 'm=audio\nm=video\nm=video', 'in this order, one offer');
  const [audio, camera, screen] = pc.addInit.map((a) => a.init);
  assert.deepEqual(camera.sendEncodings.map((e) => e.rid), ['q', 'h', 'f']);
  assert.equal(screen.direction, 'sendonly');
  assert.deepEqual(screen.sendEncodings.map((e) => [e.rid, e.scaleResolutionDownBy, e.maxBitrate, e.maxFramerate, e.active]),
    [['h', 2, 300000, 5, true], ['f', 1, 1200000, 5, true]]);
  assert.equal(screen.streams.length, 1);
  assert.notEqual(screen.streams[0], camera.streams[0], 'the screen has a stream of its own');
  assert.equal(audio.streams[0], camera.streams[0]);
  assert.equal(pc.transceivers[2].sender.track, null, 'no track until the user shares');
  assert.equal(client.sharingScreen, false);

  // `layers` is the camera's only; weak link leaves the screen's h.
  const enc = (t) => t.sender.encodings.map((e) => `${e.rid}:${e.active ? 'on' : 'off'}`).join(' ');
  ws.deliver({ type: 'layers', rids: [] });
  await settle();
  assert.equal(enc(pc.transceivers[1]), 'q:off h:off f:off');
  assert.equal(enc(pc.transceivers[2]), 'h:on f:on', 'layers never pause the screen');
  await client.setWeakLink(true);
  assert.equal(enc(pc.transceivers[2]), 'h:on f:off');
  await client.setWeakLink(false);
  assert.equal(enc(pc.transceivers[2]), 'h:on f:on');
});

test('sharing: replaceTrack, then share_screen; the hub lists it; stopping sends sharing false', async () => {
  const { client, ws, pc, events } = await joined();
  const sender = pc.transceivers[2].sender;
  const screen = new FakeTrack('video');
  events.length = 0;
  await client.shareScreen(screen);
  assert.equal(sender.track, screen, 'on the screen’s sender');
  assert.equal(pc.transceivers[1].sender.track.kind, 'video', 'the camera goes on');
  assert.notEqual(pc.transceivers[1].sender.track, screen);
  assert.equal(screen.contentHint, 'detail');
  assert.deepEqual(ws.sent.at(-1), { type: 'share_screen', sharing: true });
  assert.equal(ws.types().filter((t) => t === 'offer').length, 1, 'no renegotiation');
  assert.equal(client.sharingScreen, true);

  // A state the hub sent before it read our message does not list us: nothing changes.
  ws.deliver(state({ hands: ['p-a'] }));
  await settle();
  assert.equal(sender.track, screen);
  assert.deepEqual(shareEvents(events), []);
  ws.deliver(state({ screens: ['p-self'] }));
  await settle();
  assert.deepEqual(shareEvents(events), [[true, 'started', null]]);
  assert.equal(client.isSharing(), true);
  assert.equal(client.meetingState.screens[0], 'p-self');

  await client.stopScreenShare();
  assert.deepEqual(ws.sent.at(-1), { type: 'share_screen', sharing: false });
  assert.equal(sender.track, null);
  assert.equal(screen.readyState, 'ended', 'the capture is stopped');
  assert.deepEqual(shareEvents(events).at(-1), [false, 'self', null]);
  assert.equal(client.sharingScreen, false);
  assert.equal(await client.stopScreenShare(), false, 'nothing left to stop');

  // Sharing again at once: the state still listing us from before is no confirmation.
  const again = new FakeTrack('video');
  await client.shareScreen(again);
  ws.deliver(state({ screens: ['p-self'] }));
  await settle();
  assert.equal(shareEvents(events).length, 2, 'not confirmed by a stale state');
  ws.deliver(state({ screens: [] }));
  await settle();
  assert.equal(sender.track, again, 'the stop of the first share does not end the second');
  ws.deliver(state({ screens: ['p-self'] }));
  await settle();
  assert.deepEqual(shareEvents(events).at(-1), [true, 'started', null]);

  await assert.rejects(client.shareScreen(new FakeTrack('audio')), TypeError);
});

test('a refused share is undone: forbidden (no floor) and share_busy', async () => {
  for (const code of ['forbidden', 'share_busy']) {
    const { client, ws, pc, events } = await joined();
    const screen = new FakeTrack('video');
    await client.shareScreen(screen);
    events.length = 0;
    ws.deliver({ type: 'error', code, message: 'no' });
    await settle();
    assert.equal(pc.transceivers[2].sender.track, null, `${code}: nothing sent any more`);
    assert.equal(screen.readyState, 'ended', `${code}: the capture is stopped`);
    assert.deepEqual(shareEvents(events), [[false, 'refused', code]]);
    assert.deepEqual(events.filter((e) => e.type === 'error').map((e) => [e.code, e.fatal, e.context]), [[code, false, 'share_screen']]);
    assert.equal(ws.sent.at(-1).type, 'share_screen', 'no sharing:false for a share the hub never took');
    assert.equal(ws.sent.at(-1).sharing, true);
    assert.equal(client.state, 'joined');
    assert.equal(client.sharingScreen, false);
  }
});

test('the hub ends the share (the chair stops it, the floor goes): the client stops sending', async () => {
  const { client, ws, pc, events } = await joined();
  const screen = new FakeTrack('video');
  await client.shareScreen(screen);
  ws.deliver(state({ floor: 'p-self', screens: ['p-self'] }));
  await settle();
  const n = ws.sent.length;
  events.length = 0;
  ws.deliver(state({ floor: null, screens: [] }));
  await settle();
  assert.equal(pc.transceivers[2].sender.track, null);
  assert.equal(screen.readyState, 'ended');
  assert.deepEqual(shareEvents(events), [[false, 'hub', null]]);
  assert.equal(ws.sent.length, n, 'nothing to tell the hub: it decided');
  assert.equal(client.sharingScreen, false);
});

test('the capture ends in the browser: share_screen false; closing ends a share too', async () => {
  const { client, ws, pc, events } = await joined();
  const screen = new FakeTrack('video');
  await client.shareScreen(screen);
  ws.deliver(state({ screens: ['p-self'] }));
  await settle();
  events.length = 0;
  screen.end();
  await settle();
  assert.deepEqual(ws.sent.at(-1), { type: 'share_screen', sharing: false });
  assert.equal(pc.transceivers[2].sender.track, null);
  assert.deepEqual(shareEvents(events), [[false, 'ended', null]]);

  const other = new FakeTrack('video');
  await client.shareScreen(other);
  ws.drop();
  await settle();
  assert.equal(other.readyState, 'ended', 'a rejoin does not resume a share');
  assert.deepEqual(shareEvents(events).at(-1), [false, 'closed', null]);
  await assert.rejects(client.shareScreen(new FakeTrack('video')), (e) => e.code === 'not_joined');
});

test('a chair stops a share and allows a second one', async () => {
  const { client, ws } = await joined();
  const n = ws.sent.length;
  client.stopShare('p-a');
  client.allowSecondShare(true);
  client.allowSecondShare(0);
  assert.deepEqual(ws.sent.slice(n), [
    { type: 'stop_share', participant_id: 'p-a' },
    { type: 'allow_second_share', allowed: true },
    { type: 'allow_second_share', allowed: false },
  ]);
});

test('slots with source: a screen gets its own stream and never joins the camera’s', async () => {
  const { client, ws, pc, events } = await joined();
  const trackOf = (mid) => pc.transceivers.find((t) => t.mid === mid).receiver.track;
  ws.deliver({ type: 'slots', slots: [
    { ...slot('3', 'audio', 'p-a', 'floor'), source: 'microphone' }, slot('4', 'audio', null, null),
    { ...slot('5', 'video', 'p-a', 'floor', 'f'), source: 'camera' }, slot('6', 'video', 'p-b', 'chair', 'h'), slot('7', 'video', null, null, null),
  ] });
  await settle();
  assert.equal(client.slotOf('p-a', 'video').mid, '5');
  assert.equal(client.slotOf('p-a', 'audio').source, 'microphone');

  // p-a shares: the screen takes the first video slot (reason "screen"), its camera moves on.
  events.length = 0;
  ws.deliver(state({ floor: 'p-a', screens: ['p-a'] }));
  ws.deliver({ type: 'slots', slots: [
    { ...slot('3', 'audio', 'p-a', 'floor'), source: 'microphone' }, slot('4', 'audio', null, null),
    { ...slot('5', 'video', 'p-a', 'screen', 'f'), source: 'screen' },
    { ...slot('6', 'video', 'p-a', 'floor', 'h'), source: 'camera' },
    { ...slot('7', 'video', 'p-b', 'chair', 'q'), source: 'camera' },
  ] });
  await settle();
  assert.deepEqual(client.meetingState.screens, ['p-a']);
  const seq = events.filter((e) => e.type === 'track' || e.type === 'track-removed')
    .map((e) => `${e.type}:${e.participantId}:${e.source}:${e.mid}:${e.from ?? ''}`);
  assert.deepEqual(seq, [
    'track-removed:p-a:camera:5:', 'track-removed:p-b:camera:6:',
    'track:p-a:screen:5:', 'track:p-a:camera:6:5', 'track:p-b:camera:7:6',
  ]);
  const screenEvent = events.find((e) => e.type === 'track' && e.source === 'screen');
  assert.equal(screenEvent.reason, 'screen');
  assert.equal(screenEvent.track, trackOf('5'));
  const screenStream = client.streamOf('p-a', 'screen');
  const cameraStream = client.streamOf('p-a', 'camera');
  assert.equal(screenEvent.stream, screenStream);
  assert.deepEqual(screenStream.getTracks(), [trackOf('5')], 'the screen alone');
  assert.deepEqual(cameraStream.getTracks(), [trackOf('6')], 'the camera without the screen');
  assert.ok(!client.streamOf('p-a', 'microphone').getTracks().includes(trackOf('5')));
  assert.equal(client.slotOf('p-a', 'video').mid, '6', 'its camera’s slot');
  assert.equal(client.slotOf('p-a', 'video', 'screen').mid, '5', 'its screen’s slot');

  // The share stops: the screen's slot goes back to a camera.
  events.length = 0;
  ws.deliver({ type: 'slots', slots: [
    { ...slot('3', 'audio', 'p-a', 'floor'), source: 'microphone' }, slot('4', 'audio', null, null),
    { ...slot('5', 'video', 'p-a', 'floor', 'f'), source: 'camera' },
    { ...slot('6', 'video', 'p-b', 'chair', 'h'), source: 'camera' }, slot('7', 'video', null, null, null),
  ] });
  await settle();
  const removed = events.filter((e) => e.type === 'track-removed').map((e) => `${e.participantId}:${e.source}:${e.mid}`);
  assert.ok(removed.includes('p-a:screen:5'), removed.join(' '));
  assert.equal(client.slotOf('p-a', 'video', 'screen'), null);
  assert.deepEqual(client.streamOf('p-a', 'camera').getTracks(), [trackOf('5')]);
  assert.equal(ws.types().filter((t) => t === 'answer').length, 1, 'no renegotiation');
});

// ------------------------------------------------------------------ the session's recording

test('meeting_state.recording: null, recording, stopped with its reason; odd shapes are null', () => {
  assert.equal(emptyMeetingState().recording, null, 'before any meeting_state: not recorded');
  assert.equal(normalizeMeetingState({}).recording, null, 'an older hub says nothing: not recorded');
  assert.equal(normalizeMeetingState({ recording: null }).recording, null);
  assert.deepEqual(normalizeRecording({ state: 'recording', reason: null }), { state: 'recording', reason: null });
  assert.deepEqual(normalizeRecording({ state: 'recording', reason: 'disk_low' }), { state: 'recording', reason: null },
    'no reason while recording');
  assert.deepEqual(RECORDING_STOP_REASONS, ['disk_low', 'failed', 'recorder_lost', 'recorder_unavailable']);
  for (const reason of RECORDING_STOP_REASONS) {
    assert.deepEqual(normalizeMeetingState({ recording: { state: 'stopped', reason } }).recording, { state: 'stopped', reason });
  }
  assert.deepEqual(normalizeRecording({ state: 'stopped', reason: 'quota' }), { state: 'stopped', reason: 'quota' },
    'a reason newer than the page is kept');
  assert.deepEqual(normalizeRecording({ state: 'stopped' }), { state: 'stopped', reason: null });
  assert.deepEqual(normalizeRecording({ state: 'stopped', reason: '' }), { state: 'stopped', reason: null });
  for (const odd of [undefined, false, 'recording', 1, [], {}, { state: 'paused' }, { state: null }]) {
    assert.equal(normalizeRecording(odd), null, JSON.stringify(odd));
  }
});

test('the recording arrives with meeting_state, its previous value beside it', async () => {
  const { client, ws, events } = await joined();
  assert.equal(client.meetingState.recording, null, 'the state at join said nothing of a recording');
  events.length = 0;
  ws.deliver(state({ recording: { state: 'recording', reason: null } }));
  ws.deliver(state({ recording: { state: 'stopped', reason: 'disk_low' } }));
  await settle();
  const seen = events.filter((e) => e.type === 'meeting-state');
  assert.deepEqual(seen.map((e) => [e.previous.recording?.state ?? null, e.state.recording?.state, e.state.recording?.reason]),
    [[null, 'recording', null], ['recording', 'stopped', 'disk_low']]);
  assert.deepEqual(client.meetingState.recording, { state: 'stopped', reason: 'disk_low' });
  // The chair's mute remembered before the next state keeps the recording as it was.
  ws.deliver({ type: 'muted_by_chair', kind: 'audio' });
  await settle();
  assert.deepEqual(client.meetingState.recording, { state: 'stopped', reason: 'disk_low' });
});
