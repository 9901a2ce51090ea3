// The Cầu websocket protocol (docs/protocol.md, version 2) and the RTCPeerConnection that
// goes with it. No DOM and no UI here: pages, browser tests and later tools reuse it.
//
//   const client = new CauClient();
//   client.addEventListener('track', (e) => show(e.detail.participantId, e.detail.track));
//   client.publish(localStream);              // before or after connect
//   const welcome = await client.connect({ meeting: 12, token: 'v1.…', name: 'Nguyễn Văn An' });
//   client.role, client.unit, client.meeting, client.room   // from `welcome`
//   client.setMuted('audio', true);           // track.enabled = false + `mute`
//   await client.setTrack('video', null);     // camera off: replaceTrack(null) + `mute`
//   await client.setTrack('video', newTrack); // camera on
//   client.endMeeting();                      // chairs only: everyone gets `bye` meeting_ended
//   await client.leave();
//
// `token` is the join token of the unit's link; null only for a staff login named as the
// meeting's chair_user (its session cookie goes with the websocket upgrade). The unit and
// the role come from the token: `join` carries neither.
//
// Events (CustomEvent; the payload is in `event.detail`):
//   state               {signaling: 'idle'|'connecting'|'joined'|'closed', media: RTCPeerConnectionState}
//   participant-joined  {participant}                  Participant = {id, name, unit: UnitRef, role, audio_muted, video_muted, tracks}
//   participant-left    {participantId, reason, participant}
//   track               {participantId, kind, track, stream, mid}   stream: one MediaStream per participant
//   track-removed       {participantId, kind, track, mid}
//   mute-changed        {participantId, kind, muted, self}
//   track-published     {participantId, mid, kind}     the participant publishes this track (its own mid)
//   track-unpublished   {participantId, mid, kind}
//   speaking            {participantId, speaking, self}
//   roll-call           {units, connected, invited}    chairs only; units: RollCallEntry[] (protocol.md)
//   error               {code, message, fatal}           an `error` from the hub, or a client-side failure
//   closed              {reason, closeCode}              reason: 'left', a `bye` reason (e.g.
//                                                        'meeting_ended'), a closing error code,
//                                                        'connection_failed' or 'connection_lost'
// UnitRef = {id, code, name, tier}; `id` is "TIER:CODE".
//
// Rules kept here (see protocol.md): the client offers exactly once, right after `welcome`,
// with a sendonly audio and a sendonly video transceiver; every later negotiation is the
// hub's. Incoming messages are handled strictly one after another (a promise queue), so
// SDP operations never interleave.

export const PROTOCOL_VERSION = 2;
export const MAX_MESSAGE_BYTES = 64 * 1024;
/** `offer` and `answer` may be larger: an answer grows with the meeting. */
export const MAX_SDP_MESSAGE_BYTES = 1024 * 1024;

/**
 * Hub error codes after which the hub closes the connection (protocol.md, "Error codes").
 * `forbidden` closes it only when it refuses the `join` (see isClosingError); after an
 * `end_meeting` from someone who is not the chair the session goes on.
 */
export const CLOSING_ERROR_CODES = new Set([
  'too_large', 'unsupported_version', 'invalid_name',
  'unauthenticated', 'invalid_token', 'expired_token', 'revoked_token', 'wrong_meeting',
  'not_found', 'meeting_cancelled', 'meeting_ended', 'meeting_not_started', 'room_busy',
  'join_timeout', 'media_failed', 'internal',
]);

/**
 * Refusals of a `join` that would only repeat if the client joined again (protocol.md,
 * "No resume"): the token and meeting refusals, `invalid_name`, `unsupported_version`.
 * `room_busy` is not among them: the other meeting may end.
 */
export const JOIN_REFUSALS = new Set([
  'invalid_name', 'unsupported_version',
  'unauthenticated', 'invalid_token', 'expired_token', 'revoked_token', 'wrong_meeting',
  'not_found', 'forbidden', 'meeting_cancelled', 'meeting_ended', 'meeting_not_started',
]);

/** Whether the hub closes the connection after `error` `code`, sent while in `state`. */
export function isClosingError(code, state) {
  return CLOSING_ERROR_CODES.has(code) || (code === 'forbidden' && state === 'connecting');
}

/** `ws://HOST/ws` or `wss://HOST/ws` for the page's own origin. */
export function defaultSignalingUrl(loc = globalThis.location) {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/ws`;
}

/** A failure with a protocol error code (a hub code, or one of the client's own). */
export class CauError extends Error {
  constructor(code, message = code, { fatal = false } = {}) {
    super(message);
    this.name = 'CauError';
    this.code = code;
    this.fatal = fatal;
  }
}

const KINDS = ['audio', 'video'];
const WS_OPEN = 1;

export class CauClient extends EventTarget {
  /**
   * @param {object} [options]
   * @param {typeof WebSocket} [options.WebSocket] injectable for tests
   * @param {typeof RTCPeerConnection} [options.RTCPeerConnection] injectable for tests
   * @param {number} [options.joinTimeoutMs] how long connect() waits for `welcome`
   * @param {(...args) => void} [options.log] debug logger
   */
  constructor(options = {}) {
    super();
    this._WS = options.WebSocket ?? globalThis.WebSocket;
    this._PC = options.RTCPeerConnection ?? globalThis.RTCPeerConnection;
    this._joinTimeoutMs = options.joinTimeoutMs ?? 15000;
    this._log = options.log ?? (() => {});

    /** 'idle' | 'connecting' | 'joined' | 'closed' */
    this.state = 'idle';
    /** @type {RTCPeerConnection|null} created after `welcome` */
    this.pc = null;
    /** @type {WebSocket|null} */
    this.ws = null;
    this.welcome = null;
    this.participantId = null;
    this.sessionId = null;
    /** From `welcome`: 'official' | 'chair'. */
    this.role = null;
    /** From `welcome`: the UnitRef this participant speaks for. */
    this.unit = null;
    /** From `welcome`: {id, title, start, end, chair_person}. */
    this.meeting = null;
    /** From `welcome`: the host unit (UnitRef), whose standing room the meeting runs in. */
    this.room = null;
    /** The latest `roll_call` (chairs only): {units, connected, invited}, or null. */
    this.rollCall = null;
    /** The other participants, by id (Participant objects as the hub sent them, kept up to date). */
    this.participants = new Map();
    /** The mute state this client reports to the hub. */
    this.muted = { audio: true, video: true };
    /** Why the connection closed, once it has. */
    this.closeReason = null;

    this._tracks = { audio: null, video: null };
    this._audioMutedByUser = false;
    this._transceivers = { audio: null, video: null };
    this._sendStream = typeof MediaStream === 'function' ? new MediaStream() : null;
    this._queue = Promise.resolve();
    this._offerSent = false;
    this._offerAnswered = false;
    this._pendingCandidates = [];
    this._sentEndOfCandidates = false;
    this._midInfo = new Map(); // mid → {mid, participant_id, kind} from the latest hub offer
    this._msidByMid = new Map(); // mid → stream id from RTCTrackEvent.streams[0].id
    this._remote = new Map(); // mid → {mid, participantId, kind, track}
    this._streams = new Map(); // participantId → MediaStream
    this._byeReason = null;
    this._closingError = null;
    this._leaving = false;
    this._connectWaiter = null;
    this._joinTimer = null;
  }

  // ---------------------------------------------------------------- public API

  /**
   * Opens the websocket, sends `join` {v: 2, meeting, name, token}, and on `welcome` creates
   * the peer connection and sends the one client offer. Resolves with the `welcome` message;
   * rejects with a CauError (the hub's error code, or 'connection_failed' / 'timeout').
   * @param {{url?: string, meeting: number|string, name: string, token?: string|null}} opts
   */
  connect({ url = defaultSignalingUrl(), meeting, name, token = null } = {}) {
    if (this.state !== 'idle') {
      return Promise.reject(new CauError('out_of_order', 'connect() may be called once per client'));
    }
    const meetingId = typeof meeting === 'string' && /^\d+$/.test(meeting.trim()) ? Number(meeting) : meeting;
    if (!Number.isSafeInteger(meetingId) || meetingId < 0) {
      return Promise.reject(new TypeError(`connect(): meeting must be an integer id, not ${meeting}`));
    }
    this._setState('connecting');
    return new Promise((resolve, reject) => {
      this._connectWaiter = { resolve, reject };
      let ws;
      try {
        ws = new this._WS(url);
      } catch (err) {
        this._finish('connection_failed', 0, String(err));
        return;
      }
      this.ws = ws;
      this._joinTimer = setTimeout(() => {
        if (this.state !== 'connecting') return;
        this._emit('error', { code: 'timeout', message: 'no welcome from the hub', fatal: true });
        this._finish('timeout', 0);
      }, this._joinTimeoutMs);
      ws.onopen = () => {
        this._send({
          type: 'join', v: PROTOCOL_VERSION, meeting: meetingId,
          name: String(name ?? '').trim(), token: token || null,
        });
      };
      ws.onmessage = (ev) => this._onFrame(ev.data);
      ws.onerror = () => this._log('websocket error');
      ws.onclose = (ev) => {
        this._log('websocket closed', ev.code, ev.reason);
        this._enqueue(() => this._onSocketClosed(ev));
      };
    });
  }

  /** Sends `stream`'s first audio and first video track (either may be missing). */
  async publish(stream) {
    await Promise.all([
      this.setTrack('audio', stream?.getAudioTracks?.()[0] ?? null),
      this.setTrack('video', stream?.getVideoTracks?.()[0] ?? null),
    ]);
  }

  /**
   * Puts `track` (or nothing) on the sender of `kind` with replaceTrack, which needs no
   * renegotiation. For video, null means "camera off" and a track "camera on"; the `mute`
   * message follows. An audio track keeps the microphone mute state (see setMuted).
   * The caller owns the tracks (stopping an old camera track is the page's job).
   */
  async setTrack(kind, track) {
    if (!KINDS.includes(kind)) throw new TypeError(`unknown kind ${kind}`);
    this._tracks[kind] = track ?? null;
    if (kind === 'audio' && track) track.enabled = !this._audioMutedByUser;
    const tr = this._transceivers[kind];
    if (tr && this.pc && this.pc.signalingState !== 'closed') {
      await tr.sender.replaceTrack(track ?? null);
    }
    this._updateMute(kind);
  }

  /**
   * Mutes or unmutes. Audio: `track.enabled = !muted` (the sender keeps sending silence) and
   * a `mute` message. Video: muting is setTrack('video', null); unmuting needs a track, so
   * use setTrack('video', track) (it throws when no camera track is set).
   */
  async setMuted(kind, muted) {
    if (kind === 'audio') {
      this._audioMutedByUser = !!muted;
      if (this._tracks.audio) this._tracks.audio.enabled = !muted;
      this._updateMute('audio');
    } else if (kind === 'video') {
      if (muted) await this.setTrack('video', null);
      else if (!this._tracks.video) throw new CauError('no_track', 'call setTrack("video", track) to turn the camera on');
    } else {
      throw new TypeError(`unknown kind ${kind}`);
    }
  }

  /** The current local track of `kind`, or null. */
  track(kind) {
    return this._tracks[kind];
  }

  /** The MediaStream holding the received tracks of participant `id` (created on demand). */
  streamOf(id) {
    return this._streamFor(id);
  }

  /**
   * Chairs only: asks the hub to end the meeting for everyone (`end_meeting`). Everyone,
   * this client included, then gets `bye` `meeting_ended` and `closed` with that reason;
   * a client that is not the chair gets a non-fatal `error` `forbidden`. Returns whether
   * the message was sent.
   */
  endMeeting() {
    if (this.state !== 'joined') return false;
    return this._send({ type: 'end_meeting' });
  }

  /** Sends `leave`, waits briefly for the hub to close the socket, then closes everything. */
  async leave() {
    if (this.state === 'closed') return;
    if (this.state === 'idle') {
      this._finish('left', 0);
      return;
    }
    this._leaving = true;
    const ws = this.ws;
    if (ws && ws.readyState === WS_OPEN) {
      this._send({ type: 'leave' });
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, 1500);
        this.addEventListener('closed', () => { clearTimeout(timer); resolve(); }, { once: true });
      });
    }
    this._finish('left', 1000);
  }

  /** Closes at once without `leave` (the hub sees a disconnect). */
  close(reason = 'closed') {
    this._finish(reason, 1000);
  }

  // ---------------------------------------------------------------- internals

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  _setState(state) {
    this.state = state;
    this._emitState();
  }

  _emitState() {
    this._emit('state', {
      signaling: this.state,
      media: this.pc ? (this.pc.connectionState ?? this.pc.iceConnectionState) : 'new',
    });
  }

  _send(msg) {
    const ws = this.ws;
    if (!ws || ws.readyState !== WS_OPEN) {
      this._log('not sent (socket not open)', msg.type);
      return false;
    }
    const text = JSON.stringify(msg);
    const limit = msg.type === 'offer' || msg.type === 'answer' ? MAX_SDP_MESSAGE_BYTES : MAX_MESSAGE_BYTES;
    if (text.length > limit / 4 && new TextEncoder().encode(text).length > limit) {
      console.warn(`cau: ${msg.type} is over ${limit} bytes; the hub will refuse it`);
    }
    this._log('→', msg.type);
    ws.send(text);
    return true;
  }

  _enqueue(fn) {
    this._queue = this._queue.then(fn).catch((err) => {
      console.error('cau: error while handling a message', err);
    });
    return this._queue;
  }

  _onFrame(data) {
    if (typeof data !== 'string') {
      this._log('ignored a binary frame');
      return;
    }
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      this._log('ignored a frame that is not JSON');
      return;
    }
    if (!msg || typeof msg.type !== 'string') return;
    this._log('←', msg.type);
    // Remember at once why the hub is about to close, whatever is still queued.
    if (msg.type === 'bye') this._byeReason = String(msg.reason ?? 'left');
    if (msg.type === 'error' && isClosingError(msg.code, this.state)) this._closingError = msg.code;
    this._enqueue(() => this._handle(msg));
  }

  async _handle(msg) {
    if (this.state === 'closed') return;
    switch (msg.type) {
      case 'welcome': return this._onWelcome(msg);
      case 'answer': return this._onAnswer(msg);
      case 'offer': return this._onHubOffer(msg);
      case 'candidate': return this._onRemoteCandidate(msg);
      case 'participant_joined': return this._onParticipantJoined(msg);
      case 'participant_left': return this._onParticipantLeft(msg);
      case 'mute_changed': return this._onMuteChanged(msg);
      case 'track_published':
      case 'track_removed': return this._onTrackAnnounced(msg);
      case 'speaking': {
        const id = msg.participant_id;
        const p = this.participants.get(id);
        if (p) p.speaking = !!msg.speaking;
        this._emit('speaking', { participantId: id, speaking: !!msg.speaking, self: id === this.participantId });
        return;
      }
      case 'roll_call': return this._onRollCall(msg);
      case 'error': return this._onError(msg);
      case 'bye': return; // reason recorded in _onFrame; the hub closes the socket next
      default:
        this._log('ignored unknown message type', msg.type);
    }
  }

  async _onWelcome(msg) {
    if (this.state !== 'connecting') {
      this._log('ignored a second welcome');
      return;
    }
    clearTimeout(this._joinTimer);
    this.welcome = msg;
    this.participantId = msg.participant_id;
    this.sessionId = msg.session_id ?? null;
    this.role = msg.role ?? 'official';
    this.unit = msg.unit ?? null;
    this.meeting = msg.meeting ?? null;
    this.room = msg.room ?? null;
    for (const p of msg.participants ?? []) this.participants.set(p.id, { ...p });

    const pc = new this._PC({
      iceServers: Array.isArray(msg.ice_servers) ? msg.ice_servers : [],
      bundlePolicy: 'max-bundle',
      rtcpMuxPolicy: 'require',
    });
    this.pc = pc;
    pc.onicecandidate = (ev) => this._onLocalCandidate(ev.candidate);
    pc.ontrack = (ev) => {
      const mid = ev.transceiver?.mid;
      const sid = ev.streams?.[0]?.id;
      if (mid != null && sid && sid !== '-') this._msidByMid.set(mid, sid);
    };
    pc.onconnectionstatechange = () => {
      this._emitState();
      if (pc.connectionState === 'failed' && this.state !== 'closed') {
        this._emit('error', { code: 'media_failed', message: 'the peer connection failed', fatal: true });
        this._finish('media_failed', 1000);
      }
    };
    pc.oniceconnectionstatechange = () => this._emitState();

    try {
      for (const kind of KINDS) {
        const track = this._tracks[kind];
        if (kind === 'audio' && track) track.enabled = !this._audioMutedByUser;
        this._transceivers[kind] = pc.addTransceiver(track ?? kind, {
          direction: 'sendonly',
          streams: this._sendStream ? [this._sendStream] : [],
        });
      }
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
    } catch (err) {
      this._emit('error', { code: 'bad_sdp', message: `could not create the offer: ${err}`, fatal: true });
      this._finish('bad_sdp', 1000);
      return;
    }
    if (this.state !== 'connecting') return; // closed meanwhile
    this._send({ type: 'offer', sdp: pc.localDescription.sdp });
    this._offerSent = true;
    for (const c of this._pendingCandidates.splice(0)) this._send(c);
    // Tell the hub the starting state of both kinds (it cannot know a camera is absent).
    for (const kind of KINDS) {
      this.muted[kind] = this._effectiveMuted(kind);
      this._send({ type: 'mute', kind, muted: this.muted[kind] });
    }
    this._setState('joined');
    const waiter = this._connectWaiter;
    this._connectWaiter = null;
    waiter?.resolve(msg);
  }

  async _onAnswer(msg) {
    if (!this.pc || !this._offerSent || this._offerAnswered) {
      this._log('ignored an answer with no offer of ours pending');
      return;
    }
    try {
      await this.pc.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
      this._offerAnswered = true;
    } catch (err) {
      this._emit('error', { code: 'bad_sdp', message: `could not apply the hub's answer: ${err}`, fatal: true });
      this._finish('bad_sdp', 1000);
    }
  }

  async _onHubOffer(msg) {
    const pc = this.pc;
    if (!pc) {
      this._log('ignored an offer before welcome');
      return;
    }
    if (pc.signalingState !== 'stable') {
      // The hub never offers while our offer is unanswered (protocol.md, rule 3).
      this._log('ignored a hub offer in signaling state', pc.signalingState);
      return;
    }
    for (const t of Array.isArray(msg.tracks) ? msg.tracks : []) {
      if (t && t.mid != null) this._midInfo.set(String(t.mid), t);
    }
    this._listedMids = new Set((msg.tracks ?? []).map((t) => String(t?.mid)));
    try {
      await pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
    } catch (err) {
      // Without an answer the hub would wait for ever (one offer in flight): start over.
      this._emit('error', { code: 'bad_sdp', message: `could not answer the hub's offer: ${err}`, fatal: true });
      this._finish('bad_sdp', 1000);
      return;
    }
    if (this.state === 'closed') return;
    this._send({ type: 'answer', sdp: pc.localDescription.sdp });
    this._syncRemoteTracks();
  }

  /** Brings the mid → participant mapping in line with the transceivers after a hub offer. */
  _syncRemoteTracks() {
    const pc = this.pc;
    const present = new Set();
    for (const tr of pc.getTransceivers()) {
      const mid = tr.mid;
      if (mid == null || tr === this._transceivers.audio || tr === this._transceivers.video) continue;
      present.add(mid);
      const prev = this._remote.get(mid);
      const dir = tr.currentDirection;
      const receiving = !(tr.stopped || dir === 'stopped' || dir === 'inactive' || dir === 'sendonly');
      const listed = this._listedMids?.has(mid);
      const pid = (listed ? this._midInfo.get(mid)?.participant_id : null) ??
        this._msidByMid.get(mid) ?? prev?.participantId ?? null;
      if (!receiving || !pid) {
        if (prev) this._removeRemote(mid);
        continue;
      }
      const track = tr.receiver.track;
      if (prev && prev.participantId === pid && prev.track === track) continue;
      if (prev) this._removeRemote(mid);
      const entry = { mid, participantId: pid, kind: track.kind, track };
      this._remote.set(mid, entry);
      const stream = this._streamFor(pid);
      if (!stream.getTracks().includes(track)) stream.addTrack(track);
      this._emit('track', { participantId: pid, kind: track.kind, track, stream, mid });
    }
    for (const mid of [...this._remote.keys()]) {
      if (!present.has(mid)) this._removeRemote(mid);
    }
  }

  _removeRemote(mid) {
    const entry = this._remote.get(mid);
    if (!entry) return;
    this._remote.delete(mid);
    const stream = this._streams.get(entry.participantId);
    if (stream) {
      stream.removeTrack(entry.track);
      if (stream.getTracks().length === 0) this._streams.delete(entry.participantId);
    }
    this._emit('track-removed', { participantId: entry.participantId, kind: entry.kind, track: entry.track, mid });
  }

  _streamFor(id) {
    let s = this._streams.get(id);
    if (!s && typeof MediaStream === 'function') {
      s = new MediaStream();
      this._streams.set(id, s);
    }
    return s ?? null;
  }

  _onLocalCandidate(c) {
    let msg;
    if (!c) {
      if (this._sentEndOfCandidates) return;
      this._sentEndOfCandidates = true;
      msg = { type: 'candidate', candidate: '', sdp_mid: null };
    } else if (!c.candidate) {
      return; // Chrome's per-section end marker; the null event above covers it
    } else {
      msg = { type: 'candidate', candidate: c.candidate, sdp_mid: c.sdpMid ?? null };
    }
    if (this._offerSent) this._send(msg);
    else this._pendingCandidates.push(msg);
  }

  async _onRemoteCandidate(msg) {
    // protocol.md lists `candidate` as client → hub only (the hub is ICE-lite and puts its
    // candidates in the SDP); accepted anyway in case a hub trickles.
    if (!this.pc?.remoteDescription || !msg.candidate) return;
    try {
      await this.pc.addIceCandidate({ candidate: msg.candidate, sdpMid: msg.sdp_mid ?? null, sdpMLineIndex: msg.sdp_mid == null ? 0 : null });
    } catch (err) {
      this._log('could not add a remote candidate', err);
    }
  }

  _onParticipantJoined(msg) {
    const p = msg.participant;
    if (!p?.id || p.id === this.participantId) return;
    this.participants.set(p.id, { ...p });
    this._emit('participant-joined', { participant: this.participants.get(p.id) });
  }

  /** `track_published` / `track_removed`: keep the participant's `tracks` list current. */
  _onTrackAnnounced(msg) {
    const p = this.participants.get(msg.participant_id);
    const track = msg.track;
    if (!p || !track?.mid) return;
    const others = (p.tracks ?? []).filter((t) => t.mid !== track.mid);
    p.tracks = msg.type === 'track_published' ? [...others, track] : others;
    const event = msg.type === 'track_published' ? 'track-published' : 'track-unpublished';
    this._emit(event, { participantId: msg.participant_id, mid: track.mid, kind: track.kind });
  }

  _onParticipantLeft(msg) {
    const id = msg.participant_id;
    const participant = this.participants.get(id) ?? null;
    this.participants.delete(id);
    for (const [mid, entry] of [...this._remote]) {
      if (entry.participantId === id) this._removeRemote(mid);
    }
    this._streams.delete(id);
    this._emit('participant-left', { participantId: id, reason: msg.reason ?? 'left', participant });
  }

  _onMuteChanged(msg) {
    const id = msg.participant_id;
    const kind = msg.kind;
    const muted = !!msg.muted;
    const p = this.participants.get(id);
    if (p && KINDS.includes(kind)) p[`${kind}_muted`] = muted;
    this._emit('mute-changed', { participantId: id, kind, muted, self: id === this.participantId });
  }

  _onRollCall(msg) {
    const units = Array.isArray(msg.units) ? msg.units : [];
    this.rollCall = {
      units,
      connected: Number.isFinite(msg.connected) ? msg.connected : units.filter((u) => u?.status === 'connected').length,
      invited: Number.isFinite(msg.invited) ? msg.invited : units.length,
    };
    this._emit('roll-call', this.rollCall);
  }

  _onError(msg) {
    const code = String(msg.code ?? 'unknown');
    const closing = isClosingError(code, this.state);
    this._emit('error', { code, message: String(msg.message ?? ''), fatal: closing || this.state === 'connecting' });
    if (this.state === 'connecting') {
      // The join was refused: nothing useful can follow on this socket.
      this._finish(code, 1000);
    }
  }

  _onSocketClosed(ev) {
    if (this.state === 'closed') return;
    let reason;
    if (this._leaving) reason = 'left';
    else if (this._byeReason) reason = this._byeReason;
    else if (this._closingError) reason = this._closingError;
    else reason = this.state === 'connecting' ? 'connection_failed' : 'connection_lost';
    this._finish(reason, ev?.code ?? 0);
  }

  _effectiveMuted(kind) {
    return kind === 'audio' ? (!this._tracks.audio || this._audioMutedByUser) : !this._tracks.video;
  }

  _updateMute(kind) {
    const muted = this._effectiveMuted(kind);
    if (this.muted[kind] === muted) return;
    this.muted[kind] = muted;
    if (this._offerSent && this.state === 'joined') this._send({ type: 'mute', kind, muted });
  }

  /** The one way out: closes socket and peer connection, settles connect(), emits `closed`. */
  _finish(reason, closeCode, detail = '') {
    if (this.state === 'closed') return;
    clearTimeout(this._joinTimer);
    this.closeReason = reason;
    const ws = this.ws;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
      if (ws.readyState <= WS_OPEN) {
        try { ws.close(1000); } catch { /* already closing */ }
      }
    }
    if (this.pc) {
      this.pc.onicecandidate = this.pc.ontrack = null;
      this.pc.onconnectionstatechange = this.pc.oniceconnectionstatechange = null;
      try { this.pc.close(); } catch { /* already closed */ }
    }
    for (const mid of [...this._remote.keys()]) this._removeRemote(mid);
    this.state = 'closed';
    const waiter = this._connectWaiter;
    this._connectWaiter = null;
    if (waiter) {
      waiter.reject(new CauError(reason, detail || `could not join: ${reason}`, { fatal: true }));
    }
    this._emitState();
    this._emit('closed', { reason, closeCode });
  }
}
