// The Cầu websocket protocol (docs/protocol.md, version 3) and its RTCPeerConnection. No DOM,
// no UI: pages, browser tests and tools reuse it. Rules needing neither socket nor peer
// connection are in protocol-rules.js.
//
//   const client = new CauClient();
//   client.addEventListener('track', (e) => show(e.detail.participantId, e.detail.track));
//   await client.publish(localStream);       // before or after connect
//   const welcome = await client.connect({ meeting: 12, token: 'v1.…', name: 'Nguyễn Văn An' });
//   client.setMuted('audio', true); await client.setTrack('video', null);   // `mute` follows
//   client.setReceive({ mode: 'low', largeHeight: 540 }); client.setWeakLink(true);
//   client.raiseHand(true); client.sendChat('Xin chào', 'all');
//   await client.shareScreen(displayTrack); await client.stopScreenShare();   // chair or floor
//   client.giveFloor(id); client.muteParticipant(id, 'audio'); client.stopShare(id); …   // chairs only
//   await client.leave();
//
// `token`: the unit link's join token; null only for a staff login named as chair_user.
// Publishing: the one offer has three sendonly m-lines, in this order: audio, the camera's
// video with the simulcast encodings q, h, f (`layers`, and weak-link mode: q only, set which
// are active), and the screen's video with the encodings h and f at 5 fps (always active; in
// weak-link mode h only). The screen's sender has no track until the user shares: sharing
// starts and stops with replaceTrack plus `share_screen`, never a renegotiation. Receiving:
// the hub's one offer adds fixed receive slots; `slots` says whom each mid carries and from
// which source (microphone, camera, screen), turned here into per-participant events with one
// MediaStream per participant and source. The client offers once, after `welcome`; every
// later negotiation is the hub's; incoming messages are handled one after another (a promise
// queue), so SDP work never interleaves.
//
// Events (CustomEvent, payload in `event.detail`):
//   state               {signaling: 'idle'|'connecting'|'joined'|'closed', media: RTCPeerConnectionState}
//   participant-joined  {participant}   Participant = {id, name, unit, role, audio_muted, video_muted, tracks}
//   participant-left    {participantId, reason, participant}
//   track               {participantId, kind, source, track, stream, mid, reason, layer, from}: slot
//                       `mid` now carries it (from: the mid that carried this participant's same
//                       source before, or null); source: 'microphone' | 'camera' | 'screen';
//                       stream: one per participant and source (a screen never joins the camera's)
//   track-removed       {participantId, kind, source, track, mid}: slot `mid` no longer carries it
//                       (a move is track-removed for the old mid, then track for the new one)
//   slots               {slots: [{mid, kind, source, participantId, reason, layer}]} after every change
//   layers              {rids, active}  the hub's `layers`; active: what is sent now
//   mute-changed        {participantId, kind, muted, self}
//   track-published / track-unpublished  {participantId, mid, kind} (the publisher's own mid)
//   speaking            {participantId, speaking, self}
//   dominant-speaker    {participantId, previous}
//   meeting-state       {state: {floor, hands, locked, selfUnmute, chairMuted: [{participantId, kind}],
//                       screens: [participantId], secondShare, recording: null | {state:
//                       'recording'|'stopped', reason: null|'disk_low'|'failed'|…}}, previous}
//   screen-share        {sharing, reason, code}  this client's own share: sharing true once the hub
//                       lists it in `screens` (reason 'started'); false when it ended: 'self'
//                       (stopScreenShare), 'refused' (code: forbidden | share_busy), 'hub' (the
//                       chair stopped it, or the floor went), 'ended' (the capture ended, e.g.
//                       the browser's own "stop sharing"), 'closed' (the client closed). The
//                       client has already stopped sending and stopped the capture track
//   muted-by-chair      {kind}  the chair muted this client; it stopped sending that kind
//   unmute-refused      {kind}  the hub said `forbidden` to our unmute; muted again
//   chat                {from, name, unit, to, text, at, self}
//   roll-call           {units, connected, invited}   chairs only
//   error               {code, message, fatal, context}  context: the type of the message it
//                       probably refuses (sent in the last 10 s), or null
//   closed              {reason, closeCode}  'left', a `bye` reason, a closing error code,
//                       'connection_failed' or 'connection_lost'

import {
  SIMULCAST_ENCODINGS, RIDS, SINGLE, WEAK_SINGLE, RECEIVE_MODES, CHAT_TARGETS, JOIN_REFUSALS,
  SCREEN_ENCODINGS, SCREEN_SINGLE, SCREEN_WEAK_SINGLE, SCREEN_CONTENT_HINT, SHARE_REFUSALS, SOURCES,
  activeEncodings, screenActiveEncodings, defaultSource, normalizeSlots, emptyMeetingState,
  normalizeMeetingState, isChairMuted, mayUnmute, cleanChatText,
} from './protocol-rules.js';

export {
  JOIN_REFUSALS, NO_REJOIN, shouldRejoin, SIMULCAST_ENCODINGS, SCREEN_ENCODINGS, RECEIVE_MODES, CHAT_MAX_CHARS,
  cleanChatText, mayShareScreen, shareBusy,
} from './protocol-rules.js';

export const PROTOCOL_VERSION = 3;
export const MAX_MESSAGE_BYTES = 64 * 1024;
/** `offer` and `answer` may be larger: an answer grows with the meeting. */
export const MAX_SDP_MESSAGE_BYTES = 1024 * 1024;

/**
 * Hub error codes after which the hub closes the connection (protocol.md, "Error codes").
 * `forbidden` and `not_found` close it only when they refuse the `join` (see
 * isClosingError); after a moderation message from someone who is not a chair, one naming a
 * participant who has just left, or a refused unmute or share, the session goes on.
 */
export const CLOSING_ERROR_CODES = new Set([
  'too_large', 'unsupported_version', 'invalid_name',
  'unauthenticated', 'invalid_token', 'expired_token', 'revoked_token', 'wrong_meeting',
  'meeting_cancelled', 'meeting_ended', 'meeting_not_started', 'room_busy',
  'session_locked', 'meeting_full', 'removed', 'join_timeout', 'media_failed', 'internal',
]);

/** Codes that close the connection only when they answer the `join`. */
const JOIN_ONLY_CLOSING = new Set(['forbidden', 'not_found']);

/** Whether the hub closes the connection after `error` `code`, sent while in `state`. */
export function isClosingError(code, state) {
  return CLOSING_ERROR_CODES.has(code) || (JOIN_ONLY_CLOSING.has(code) && state === 'connecting');
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
/** How long after sending a message a non-fatal `error` is taken to refuse it. */
const CONTEXT_MS = 10_000;
const MAX_TILE_HEIGHT = 4320;

/** How long `disconnected` may last before the client asks for an ICE restart. */
const ICE_DISCONNECTED_GRACE_MS = 2000;
/** How long an ICE restart may take before the media counts as failed. */
const ICE_RESTART_WAIT_MS = 10000;

export class CauClient extends EventTarget {
  /**
   * @param {object} [options]
   * @param {typeof WebSocket} [options.WebSocket] injectable for tests
   * @param {typeof RTCPeerConnection} [options.RTCPeerConnection] injectable for tests
   * @param {number} [options.joinTimeoutMs] how long connect() waits for `welcome`
   * @param {boolean} [options.simulcast] publish three encodings (default true)
   * @param {(...args) => void} [options.log] debug logger
   */
  constructor(options = {}) {
    super();
    this._WS = options.WebSocket ?? globalThis.WebSocket;
    this._PC = options.RTCPeerConnection ?? globalThis.RTCPeerConnection;
    this._joinTimeoutMs = options.joinTimeoutMs ?? 15000;
    this._simulcast = options.simulcast ?? true;
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
    /** The latest `meeting_state`, normalised (see protocol-rules.js). */
    this.meetingState = emptyMeetingState();
    /** The latest `slots`: mid → {mid, kind, source, participantId, reason, layer}. */
    this.slots = new Map();
    /** The latest `dominant_speaker` (a participant id or null). */
    this.dominantSpeaker = null;
    /** The latest `layers.rids`, or null before any. */
    this.layers = null;
    /** Weak-link mode: only the `q` layer is sent. */
    this.weakLink = false;
    /** What this client asks to receive (sent as `receive`). */
    this.receivePrefs = { mode: 'auto', pinned: [], large_height: null, small_height: null };
    /** Why the connection closed, once it has. */
    this.closeReason = null;

    this._tracks = { audio: null, video: null };
    this._audioMutedByUser = false;
    this._transceivers = { audio: null, video: null, screen: null };
    this._sendStream = typeof MediaStream === 'function' ? new MediaStream() : null;
    /** The screen goes in a stream of its own, so that no receiver mistakes it for the camera. */
    this._screenStream = typeof MediaStream === 'function' ? new MediaStream() : null;
    /** This client's screen share: {track, confirmed, at, onEnded}, or null. */
    this._share = null;
    /** We told the hub to stop while it listed us: a later share waits for a state without us. */
    this._shareStopPending = false;
    this._queue = Promise.resolve();
    this._layerChain = Promise.resolve();
    this._offerSent = false;
    this._offerAnswered = false;
    this._pendingCandidates = [];
    this._sentEndOfCandidates = false;
    this._receiveSent = {};
    this._lastSent = null; // {type, kind, at}: for the context of a non-fatal error
    this._unmuteAttempt = null; // {kind, at}: an unmute sent while the chair's mute held
    this._remote = new Map(); // mid → {mid, participantId, kind, track}
    this._streams = new Map(); // `${participantId}/${source}` → MediaStream
    this._byeReason = null;
    this._closingError = null;
    this._leaving = false;
    this._connectWaiter = null;
    this._joinTimer = null;
  }

  // ---------------------------------------------------------------- public API

  /**
   * Opens the websocket, sends `join`, and on `welcome` sends the one offer. Resolves with
   * `welcome`; rejects with a CauError (a hub code, 'connection_failed' or 'timeout').
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
        this._emit('error', { code: 'timeout', message: 'no welcome from the hub', fatal: true, context: 'join' });
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
   * Puts `track` (or nothing: camera off) on the sender of `kind` with replaceTrack; `mute`
   * follows. Audio keeps the microphone's mute state. Turning the camera on while the chair's
   * mute holds (canUnmute) throws CauError 'muted_by_chair'. The caller owns the tracks.
   */
  async setTrack(kind, track) {
    if (!KINDS.includes(kind)) throw new TypeError(`unknown kind ${kind}`);
    if (kind === 'video' && track && !this._tracks.video && !this.canUnmute('video')) {
      throw new CauError('muted_by_chair', 'the chair turned this camera off and does not allow turning it on');
    }
    this._tracks[kind] = track ?? null;
    if (kind === 'audio' && track) track.enabled = !this._audioMutedByUser;
    const tr = this._transceivers[kind];
    if (tr && this.pc && this.pc.signalingState !== 'closed') {
      await tr.sender.replaceTrack(track ?? null);
    }
    this._updateMute(kind);
  }

  /**
   * Audio: `track.enabled = !muted` and `mute`. Video: muting is setTrack('video', null);
   * unmuting needs setTrack('video', track). Unmuting while the chair's mute holds throws
   * CauError 'muted_by_chair'.
   */
  async setMuted(kind, muted) {
    if (kind === 'audio') {
      if (!muted && this._audioMutedByUser && !this.canUnmute('audio')) {
        throw new CauError('muted_by_chair', 'the chair muted this microphone and does not allow unmuting');
      }
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

  /** Whether this client is muted by the chair for `kind` (from `meeting_state`). */
  isMutedByChair(kind) {
    return isChairMuted(this.meetingState, this.participantId, kind);
  }

  /** Whether this client may unmute `kind` now (not chair-muted, self-unmute allowed, or the floor). */
  canUnmute(kind) {
    return this.participantId == null || mayUnmute(this.meetingState, this.participantId, kind);
  }

  /** Whether this client has the floor. */
  get hasFloor() {
    return this.participantId != null && this.meetingState.floor === this.participantId;
  }

  /** Whether this client's hand is raised. */
  get handRaised() {
    return this.participantId != null && this.meetingState.hands.includes(this.participantId);
  }

  /** The current local track of `kind` ('audio', 'video', or 'screen' while sharing), or null. */
  track(kind) {
    if (kind === 'screen') return this._share?.track ?? null;
    return this._tracks[kind];
  }

  /**
   * The MediaStream holding the received track of participant `id`'s `source` ('microphone',
   * 'camera' or 'screen'; created on demand).
   */
  streamOf(id, source = 'camera') {
    return this._streamFor(id, source);
  }

  /**
   * The slot (from `slots`) carrying participant `id`'s `kind` now, or null; `source` defaults
   * to the kind's own device (a video slot carrying its screen is not its camera's slot).
   */
  slotOf(id, kind, source = defaultSource(kind)) {
    for (const s of this.slots.values()) {
      if (s.participantId === id && s.kind === kind && s.source === source) return s;
    }
    return null;
  }

  /** Whether participant `id` (default: this client) shares a screen now, as `meeting_state` says. */
  isSharing(id = this.participantId) {
    return id != null && this.meetingState.screens.includes(id);
  }

  /** Whether this client sends a screen now (asked, or accepted by the hub). */
  get sharingScreen() {
    return this._share != null;
  }

  /**
   * Shares `track` (from getDisplayMedia) as this client's screen: its contentHint becomes
   * 'detail', it goes on the screen's sender with replaceTrack, and `share_screen` tells the
   * hub. From here the client owns the track: it stops it when the share ends, however it
   * ends (see the `screen-share` event). A refusal (`forbidden`: neither chair nor floor;
   * `share_busy`) undoes it. Throws CauError 'not_joined' before `welcome`'s offer.
   */
  async shareScreen(track) {
    if (!track || track.kind !== 'video') throw new TypeError('shareScreen(track): a video track');
    const tr = this._transceivers.screen;
    if (this.state !== 'joined' || !tr || !this.pc || this.pc.signalingState === 'closed') {
      throw new CauError('not_joined', 'share a screen once joined');
    }
    if (this._share && this._share.track !== track) this._endShare('self', { tell: false, quiet: true });
    try {
      track.contentHint = SCREEN_CONTENT_HINT;
    } catch { /* read-only in an old browser */ }
    const onEnded = () => {
      if (this._share?.track !== track) return;
      this._log('the screen capture ended');
      this._endShare('ended');
    };
    track.addEventListener?.('ended', onEnded);
    this._share = { track, confirmed: false, at: Date.now(), onEnded };
    await tr.sender.replaceTrack(track);
    if (this._share?.track !== track) return; // refused or stopped meanwhile
    this._applyLayers();
    this._send({ type: 'share_screen', sharing: true });
  }

  /** Stops this client's screen share (`share_screen` false). Returns whether anything was shared. */
  async stopScreenShare() {
    if (!this._share) return false;
    await this._endShare('self');
    return true;
  }

  /** The receive transceiver of slot `mid`, or null (for getStats on one receiver). */
  transceiverOf(mid) {
    return this.pc?.getTransceivers().find((tr) => tr.mid === String(mid)) ?? null;
  }

  /**
   * `receive`: {mode: 'auto'|'low'|'audio_only', pinned: [ids], largeHeight, smallHeight}; fields
   * left out keep their value. Kept until joined, then only what changed is sent. Returns
   * whether a message went out.
   */
  setReceive({ mode, pinned, largeHeight, smallHeight } = {}) {
    const p = this.receivePrefs;
    if (mode !== undefined) {
      if (!RECEIVE_MODES.includes(mode)) throw new TypeError(`unknown receive mode ${mode}`);
      p.mode = mode;
    }
    if (pinned !== undefined) p.pinned = [...new Set((pinned ?? []).filter((id) => typeof id === 'string' && id))];
    const height = (h) => (h == null ? null : Math.min(MAX_TILE_HEIGHT, Math.max(1, Math.round(Number(h)) || 1)));
    if (largeHeight !== undefined) p.large_height = height(largeHeight);
    if (smallHeight !== undefined) p.small_height = height(smallHeight);
    return this._sendReceive();
  }

  /** Weak-link mode: only `q` is sent whatever `layers` says (one encoding: a quarter of the size). */
  async setWeakLink(on) {
    this.weakLink = !!on;
    await this._applyLayers();
  }

  /** Raises or lowers this client's hand (`raise_hand`). Returns whether it was sent. */
  raiseHand(raised = true) {
    return this._sendJoined({ type: 'raise_hand', raised: !!raised });
  }

  /** `chat` to 'all' or 'chair'; a text the hub would refuse throws CauError 'invalid_text'. */
  sendChat(text, to = 'all') {
    if (!CHAT_TARGETS.includes(to)) throw new TypeError(`chat to ${to}: 'all' or 'chair'`);
    const c = cleanChatText(text);
    if (c.error) throw new CauError('invalid_text', `chat text refused: ${c.error}`);
    return this._sendJoined({ type: 'chat', text: c.text, to });
  }

  // Chairs only (protocol.md, "Moderation"): anyone else gets a non-fatal `error` `forbidden`.
  // Each returns whether the message was sent.

  /** The participant gets the floor (replacing any earlier floor holder). */
  giveFloor(participantId) {
    return this._sendJoined({ type: 'give_floor', participant_id: String(participantId) });
  }

  /** Nobody has the floor. */
  takeFloor() {
    return this._sendJoined({ type: 'take_floor' });
  }

  /** Mutes that participant's microphone ('audio') or turns its camera off ('video'). */
  muteParticipant(participantId, kind) {
    if (!KINDS.includes(kind)) throw new TypeError(`unknown kind ${kind}`);
    return this._sendJoined({ type: 'mute_participant', participant_id: String(participantId), kind });
  }

  /** Mutes the microphone of everyone but the chairs. */
  muteAll() {
    return this._sendJoined({ type: 'mute_all' });
  }

  /** Whether participants the chair muted may unmute themselves. */
  allowUnmute(allowed) {
    return this._sendJoined({ type: 'allow_unmute', allowed: !!allowed });
  }

  /** Removes that participant (its link cannot rejoin this session). */
  removeParticipant(participantId) {
    return this._sendJoined({ type: 'remove_participant', participant_id: String(participantId) });
  }

  /** Stops that participant's screen share (`stop_share`). */
  stopShare(participantId) {
    return this._sendJoined({ type: 'stop_share', participant_id: String(participantId) });
  }

  /** Whether a second screen share may run alongside the first (`allow_second_share`). */
  allowSecondShare(allowed) {
    return this._sendJoined({ type: 'allow_second_share', allowed: !!allowed });
  }

  /** Locks or unlocks the session (while locked, new joins but chairs' are refused). */
  lock(locked) {
    return this._sendJoined({ type: 'lock', locked: !!locked });
  }

  /** Ends the meeting for everyone: all get `bye` meeting_ended. */
  endMeeting() {
    return this._sendJoined({ type: 'end_meeting' });
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

  /** ICE restart first, media failure after: see onconnectionstatechange. */
  _watchMedia(pc) {
    if (this.state === 'closed' || pc !== this.pc) return;
    const ice = pc.iceConnectionState;
    const up = ice === 'connected' || ice === 'completed';
    if (up) {
      clearTimeout(this._iceRestartTimer);
      clearTimeout(this._iceLossTimer);
      this._iceRestartTimer = this._iceLossTimer = null;
      if (this._iceRestartedAt) this._log('media connection restored');
      this._iceRestartedAt = 0;
      return;
    }
    const lost = ice === 'failed' || pc.connectionState === 'failed';
    if (ice !== 'disconnected' && !lost) return;
    if (this._iceRestartedAt) return; // a restart is under way; its timer decides
    const restart = () => {
      if (this.state !== 'joined' || pc !== this.pc) return;
      this._iceRestartedAt = Date.now();
      this._log('media connection lost: asking the hub for an ICE restart');
      this._send({ type: 'restart_ice' });
      this._iceRestartTimer = setTimeout(() => {
        if (pc !== this.pc || this.state === 'closed') return;
        this._emit('error', { code: 'media_failed', message: 'the media connection did not come back', fatal: true, context: null });
        this._finish('media_failed', 1000);
      }, ICE_RESTART_WAIT_MS);
    };
    clearTimeout(this._iceLossTimer);
    // `disconnected` often heals by itself within a second or two; `failed` never does.
    this._iceLossTimer = lost ? null : setTimeout(restart, ICE_DISCONNECTED_GRACE_MS);
    if (lost) restart();
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
    if (msg.type !== 'candidate') this._lastSent = { type: msg.type, kind: msg.kind ?? null, at: Date.now() };
    return true;
  }

  /** Sends `msg` only once joined (the hub refuses session messages before `welcome`). */
  _sendJoined(msg) {
    if (this.state !== 'joined') return false;
    return this._send(msg);
  }

  _sendReceive() {
    if (this.state !== 'joined' || !this._offerSent) return false;
    const p = this.receivePrefs;
    const msg = { type: 'receive' };
    const sent = this._receiveSent;
    if (sent.mode !== p.mode) msg.mode = p.mode;
    if (JSON.stringify(sent.pinned ?? []) !== JSON.stringify(p.pinned)) msg.pinned = [...p.pinned];
    if (p.large_height != null && sent.large_height !== p.large_height) msg.large_height = p.large_height;
    if (p.small_height != null && sent.small_height !== p.small_height) msg.small_height = p.small_height;
    if (Object.keys(msg).length === 1) return false;
    if (!this._send(msg)) return false;
    Object.assign(sent, { mode: p.mode, pinned: [...p.pinned] });
    if (msg.large_height != null) sent.large_height = msg.large_height;
    if (msg.small_height != null) sent.small_height = msg.small_height;
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
      case 'slots': return this._onSlots(msg);
      case 'layers': return this._onLayers(msg);
      case 'dominant_speaker': {
        const previous = this.dominantSpeaker;
        this.dominantSpeaker = typeof msg.participant_id === 'string' && msg.participant_id ? msg.participant_id : null;
        if (previous !== this.dominantSpeaker) {
          this._emit('dominant-speaker', { participantId: this.dominantSpeaker, previous });
        }
        return;
      }
      case 'meeting_state': return this._onMeetingState(msg);
      case 'muted_by_chair': return this._onMutedByChair(msg);
      case 'chat': return this._onChat(msg);
      case 'roll_call': return this._onRollCall(msg);
      case 'join_refused': {
        // To chairs: a unit was turned away (the host's cap on endpoints).
        this._emit('join-refused', {
          unit: msg.unit && typeof msg.unit === 'object' ? msg.unit : null,
          name: typeof msg.name === 'string' ? msg.name : '',
          code: String(msg.code ?? ''),
          maxEndpoints: Number.isFinite(msg.max_endpoints) ? msg.max_endpoints : null,
        });
        return;
      }
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
    // Receive slots are mapped after the hub's offer is answered and on every `slots`; a
    // track event in between (some browsers fire it late) maps what it can.
    pc.ontrack = () => {
      if (pc.signalingState === 'stable') this._enqueue(() => this._syncRemoteTracks());
    };
    // A dropped media connection is first restarted in place (`restart_ice`: the hub offers
    // new ICE credentials; same participant, same slots); only if that does not bring it
    // back in ICE_RESTART_WAIT does the media fail (and the page rejoin as a new participant).
    pc.onconnectionstatechange = () => {
      this._emitState();
      this._watchMedia(pc);
    };
    pc.oniceconnectionstatechange = () => {
      this._emitState();
      this._watchMedia(pc);
    };

    try {
      for (const kind of KINDS) {
        const track = this._tracks[kind];
        if (kind === 'audio' && track) track.enabled = !this._audioMutedByUser;
        this._transceivers[kind] = this._addSendTransceiver(pc, kind, track);
      }
      // The third m-line: the screen, with no track until the user shares (the hub takes an
      // endpoint's second sendonly video m-line as its screen).
      this._transceivers.screen = this._addScreenTransceiver(pc);
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
    } catch (err) {
      this._emit('error', { code: 'bad_sdp', message: `could not create the offer: ${err}`, fatal: true, context: 'offer' });
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
    this._sendReceive();
    const waiter = this._connectWaiter;
    this._connectWaiter = null;
    waiter?.resolve(msg);
  }

  /** A sendonly transceiver; video with the simulcast encodings if the browser takes them. */
  _addSendTransceiver(pc, kind, track) {
    const init = { direction: 'sendonly', streams: this._sendStream ? [this._sendStream] : [] };
    if (kind === 'video' && this._simulcast) {
      const encodings = SIMULCAST_ENCODINGS.map((e) => ({ ...e, active: !this.weakLink || e.rid === 'q' }));
      try {
        return pc.addTransceiver(track ?? kind, { ...init, sendEncodings: encodings });
      } catch (err) {
        this._log('no simulcast in this browser:', err);
      }
    }
    return pc.addTransceiver(track ?? kind, init);
  }

  /** The screen's sendonly transceiver, trackless: h and f at 5 fps, or one encoding if refused. */
  _addScreenTransceiver(pc) {
    const init = { direction: 'sendonly', streams: this._screenStream ? [this._screenStream] : [] };
    if (this._simulcast) {
      const active = screenActiveEncodings(SCREEN_ENCODINGS, this.weakLink);
      const encodings = SCREEN_ENCODINGS.map((e, i) => ({ ...e, active: active[i] }));
      try {
        return pc.addTransceiver('video', { ...init, sendEncodings: encodings });
      } catch (err) {
        this._log('no simulcast for the screen in this browser:', err);
      }
    }
    try {
      return pc.addTransceiver('video', { ...init, sendEncodings: [{ ...(this.weakLink ? SCREEN_WEAK_SINGLE : SCREEN_SINGLE) }] });
    } catch (err) {
      this._log('no encoding parameters for the screen in this browser:', err);
    }
    return pc.addTransceiver('video', init);
  }

  /**
   * Ends this client's screen share: the capture track stopped, nothing on the screen's
   * sender, `share_screen` false to the hub when it is this side's decision (`tell`), and
   * `screen-share` {sharing: false, reason, code} for the page.
   */
  async _endShare(reason, { tell = reason === 'self' || reason === 'ended', code = null, quiet = false } = {}) {
    const share = this._share;
    if (!share) return;
    this._share = null;
    share.track.removeEventListener?.('ended', share.onEnded);
    try {
      share.track.stop?.();
    } catch { /* already stopped */ }
    // The hub may still list us (a refusal never did): wait for a state without us before
    // a later share counts as confirmed.
    if (tell && this.isSharing()) this._shareStopPending = true;
    if (tell) this._sendJoined({ type: 'share_screen', sharing: false });
    if (!quiet) this._emit('screen-share', { sharing: false, reason, code });
    const tr = this._transceivers.screen;
    if (tr && this.pc && this.pc.signalingState !== 'closed' && !this._share) {
      try {
        await tr.sender.replaceTrack(null);
      } catch (err) {
        this._log('replaceTrack(null) on the screen', err);
      }
    }
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
      this._emit('error', { code: 'bad_sdp', message: `could not apply the hub's answer: ${err}`, fatal: true, context: 'offer' });
      this._finish('bad_sdp', 1000);
      return;
    }
    this._applyLayers(); // not awaited: setParameters must not hold up the message queue
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
    try {
      await pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
    } catch (err) {
      // Without an answer the hub would wait for ever (one offer in flight): start over.
      this._emit('error', { code: 'bad_sdp', message: `could not answer the hub's offer: ${err}`, fatal: true, context: 'answer' });
      this._finish('bad_sdp', 1000);
      return;
    }
    if (this.state === 'closed') return;
    this._send({ type: 'answer', sdp: pc.localDescription.sdp });
    this._syncRemoteTracks();
  }

  _onSlots(msg) {
    this.slots = normalizeSlots(msg.slots);
    this._syncRemoteTracks();
  }

  /** The latest `slots` as an array, in mid order as the hub listed them. */
  _slotList() {
    return [...this.slots.values()].map((s) => ({ ...s }));
  }

  /** Maps receive transceivers to participants by the latest `slots`: removals, additions, `slots`. */
  _syncRemoteTracks() {
    const pc = this.pc;
    if (!pc || this.state === 'closed') return;
    const own = new Set(Object.values(this._transceivers).filter(Boolean)); // our three send m-lines
    const want = new Map(); // mid → {participantId, kind, source, track}
    for (const tr of pc.getTransceivers()) {
      const mid = tr.mid;
      if (mid == null || own.has(tr)) continue;
      const dir = tr.currentDirection;
      const receiving = !(tr.stopped || dir === 'stopped' || dir === 'inactive' || dir === 'sendonly' || dir == null);
      const slot = this.slots.get(mid);
      const pid = receiving ? slot?.participantId : null;
      if (!pid || pid === this.participantId) continue;
      const track = tr.receiver.track;
      const kind = track?.kind ?? slot.kind;
      want.set(mid, { participantId: pid, kind, source: slot.kind === kind ? slot.source : defaultSource(kind), track });
    }
    // A participant's camera and its screen are two video sources: a move is keyed by all three.
    const key = (e) => `${e.participantId}/${e.kind}/${e.source}`;
    const moved = new Map(); // key → the mid it left
    for (const [mid, entry] of [...this._remote]) {
      const w = want.get(mid);
      if (w && w.participantId === entry.participantId && w.source === entry.source && w.track === entry.track) continue;
      moved.set(key(entry), mid);
      this._removeRemote(mid);
    }
    for (const [mid, w] of want) {
      if (this._remote.has(mid)) continue;
      const entry = { mid, participantId: w.participantId, kind: w.kind, source: w.source, track: w.track };
      this._remote.set(mid, entry);
      const stream = this._streamFor(w.participantId, w.source);
      if (stream && w.track && !stream.getTracks().includes(w.track)) stream.addTrack(w.track);
      const slot = this.slots.get(mid);
      this._emit('track', {
        participantId: w.participantId, kind: w.kind, source: w.source, track: w.track, stream, mid,
        reason: slot?.reason ?? null, layer: slot?.layer ?? null,
        from: moved.get(key(w)) ?? null,
      });
    }
    this._emit('slots', { slots: this._slotList() });
  }

  _removeRemote(mid) {
    const entry = this._remote.get(mid);
    if (!entry) return;
    this._remote.delete(mid);
    const streamKey = `${entry.participantId}/${entry.source}`;
    const stream = this._streams.get(streamKey);
    if (stream && entry.track) {
      stream.removeTrack(entry.track);
      if (stream.getTracks().length === 0) this._streams.delete(streamKey);
    }
    this._emit('track-removed', { participantId: entry.participantId, kind: entry.kind, source: entry.source, track: entry.track, mid });
  }

  _streamFor(id, source = 'camera') {
    const key = `${id}/${source}`;
    let s = this._streams.get(key);
    if (!s && typeof MediaStream === 'function') {
      s = new MediaStream();
      this._streams.set(key, s);
    }
    return s ?? null;
  }

  _onLayers(msg) {
    const rids = (Array.isArray(msg.rids) ? msg.rids : []).filter((r) => RIDS.includes(r));
    this.layers = [...new Set(rids)];
    this._applyLayers().then((active) => this._emit('layers', { rids: [...this.layers], active }));
  }

  /** Applies `layers` and weak-link mode to the encodings (chained); resolves with what is active. */
  _applyLayers() {
    this._layerChain = this._layerChain.then(() => this._applyLayersNow()).catch((err) => {
      this._log('could not set the simulcast layers', err);
      return [];
    });
    return this._layerChain;
  }

  async _applyLayersNow() {
    const active = await this._applyCameraLayersNow();
    try {
      await this._applyScreenLayersNow();
    } catch (err) {
      this._log('could not set the screen encodings', err);
    }
    return active;
  }

  /** The screen's encodings: all active, or `h` only in weak-link mode (layers do not apply). */
  async _applyScreenLayersNow() {
    const sender = this._transceivers.screen?.sender;
    if (!sender || !this.pc || this.pc.signalingState === 'closed' || !this._offerAnswered) return;
    const params = sender.getParameters();
    const encodings = params.encodings ?? [];
    if (!encodings.length) return;
    const active = screenActiveEncodings(encodings, this.weakLink);
    let changed = false;
    encodings.forEach((enc, i) => {
      if (enc.active !== active[i]) {
        enc.active = active[i];
        changed = true;
      }
      if (encodings.length === 1) {
        const want = this.weakLink ? SCREEN_WEAK_SINGLE : { scaleResolutionDownBy: 1, ...SCREEN_SINGLE };
        for (const [k, v] of Object.entries(want)) {
          const now = enc[k] ?? (k === 'scaleResolutionDownBy' ? 1 : undefined);
          if (now !== v) {
            enc[k] = v;
            changed = true;
          }
        }
      }
    });
    if (changed) await sender.setParameters(params);
  }

  async _applyCameraLayersNow() {
    const sender = this._transceivers.video?.sender;
    if (!sender || !this.pc || this.pc.signalingState === 'closed' || !this._offerAnswered) return [];
    const params = sender.getParameters();
    const encodings = params.encodings ?? [];
    if (!encodings.length) return [];
    const active = activeEncodings(encodings, this.layers, this.weakLink);
    let changed = false;
    encodings.forEach((enc, i) => {
      if (enc.active !== active[i]) {
        enc.active = active[i];
        changed = true;
      }
      if (encodings.length === 1) {
        // One encoding (no simulcast after all, or a browser without it): the full picture,
        // or the lowest layer's size and rate in weak-link mode.
        const want = this.weakLink ? WEAK_SINGLE : SINGLE;
        if ((enc.scaleResolutionDownBy ?? 1) !== want.scaleResolutionDownBy) {
          enc.scaleResolutionDownBy = want.scaleResolutionDownBy;
          changed = true;
        }
        if (enc.maxBitrate !== want.maxBitrate) {
          enc.maxBitrate = want.maxBitrate;
          changed = true;
        }
      }
    });
    if (changed) await sender.setParameters(params);
    return encodings.filter((_, i) => active[i]).map((e) => e.rid ?? 'single');
  }

  async _onMeetingState(msg) {
    const previous = this.meetingState;
    const state = normalizeMeetingState(msg);
    this.meetingState = state;
    // A chair's mute that arrives only through the state (e.g. after mute_all) is applied
    // too: this client stops sending what the hub no longer forwards.
    const newlyMuted = KINDS.filter((kind) =>
      !isChairMuted(previous, this.participantId, kind) && isChairMuted(state, this.participantId, kind));
    for (const kind of newlyMuted) this._applyChairMute(kind);
    const attempt = this._unmuteAttempt;
    if (attempt && !isChairMuted(state, this.participantId, attempt.kind)) this._unmuteAttempt = null;
    // Our own share: listed now → the hub took it; listed before and not now → the hub ended
    // it (the chair stopped it, or the floor went): stop sending. A state sent before the hub
    // read our `share_screen` does not list us yet, and says nothing.
    const listed = state.screens.includes(this.participantId);
    if (!listed) this._shareStopPending = false;
    const share = this._share;
    let started = false;
    let endedByHub = false;
    if (share && listed && !share.confirmed && !this._shareStopPending) {
      share.confirmed = true;
      started = true;
    } else if (share && !listed && share.confirmed) {
      endedByHub = true;
    }
    this._emit('meeting-state', { state, previous });
    for (const kind of newlyMuted) this._emit('muted-by-chair', { kind });
    if (started) this._emit('screen-share', { sharing: true, reason: 'started', code: null });
    if (endedByHub) await this._endShare('hub', { tell: false });
  }

  _onMutedByChair(msg) {
    const kind = msg.kind;
    if (!KINDS.includes(kind)) return;
    if (isChairMuted(this.meetingState, this.participantId, kind)) return; // the state said so first
    // Until the next meeting_state, remember it ourselves: canUnmute must say no at once.
    this.meetingState = {
      ...this.meetingState,
      chairMuted: [...this.meetingState.chairMuted, { participantId: this.participantId, kind }],
    };
    this._applyChairMute(kind);
    this._emit('muted-by-chair', { kind });
  }

  /** Stops sending `kind` after the chair's mute (no `mute` sent: the hub knows). */
  _applyChairMute(kind) {
    if (kind === 'audio') {
      this._audioMutedByUser = true;
      if (this._tracks.audio) this._tracks.audio.enabled = false;
    } else {
      this._tracks.video = null;
      const tr = this._transceivers.video;
      if (tr && this.pc && this.pc.signalingState !== 'closed') {
        tr.sender.replaceTrack(null).catch((err) => this._log('replaceTrack(null)', err));
      }
    }
    this.muted[kind] = true;
  }

  _onChat(msg) {
    if (typeof msg.text !== 'string') return;
    this._emit('chat', {
      from: typeof msg.from === 'string' ? msg.from : null,
      name: String(msg.name ?? ''),
      unit: String(msg.unit ?? ''),
      to: msg.to === 'chair' ? 'chair' : 'all',
      text: msg.text,
      at: Number.isFinite(msg.at) ? msg.at : Date.now(),
      self: msg.from != null && msg.from === this.participantId,
    });
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
    // Its slots are idle until the hub's next `slots` says who fills them.
    let touched = false;
    for (const s of this.slots.values()) {
      if (s.participantId === id) {
        s.participantId = null;
        s.reason = null;
        touched = true;
      }
    }
    for (const [mid, entry] of [...this._remote]) {
      if (entry.participantId === id) this._removeRemote(mid);
    }
    for (const source of SOURCES) this._streams.delete(`${id}/${source}`);
    if (this.dominantSpeaker === id) {
      this.dominantSpeaker = null;
      this._emit('dominant-speaker', { participantId: null, previous: id });
    }
    this._emit('participant-left', { participantId: id, reason: msg.reason ?? 'left', participant });
    if (touched) this._emit('slots', { slots: this._slotList() });
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

  async _onError(msg) {
    const code = String(msg.code ?? 'unknown');
    const closing = isClosingError(code, this.state);
    const last = this._lastSent;
    const context = last && Date.now() - last.at < CONTEXT_MS ? last.type : null;
    // A refused share: `share_busy` can only be that; `forbidden` is the share's unless an
    // unmute sent before it is still waiting (the hub answers in order).
    const attempt = this._unmuteAttempt;
    const share = this._share;
    const unmutePending = attempt && Date.now() - attempt.at < CONTEXT_MS;
    const sharePending = share && !share.confirmed && Date.now() - share.at < CONTEXT_MS;
    if (!closing && sharePending && SHARE_REFUSALS.includes(code) &&
        (code === 'share_busy' || !unmutePending || attempt.at > share.at)) {
      await this._endShare('refused', { tell: false, code });
      this._emit('error', { code, message: String(msg.message ?? ''), fatal: false, context: 'share_screen' });
      return;
    }
    // An unmute the chair does not allow: the hub keeps us muted, so do we.
    if (code === 'forbidden' && !closing && unmutePending) {
      this._unmuteAttempt = null;
      this._applyChairMute(attempt.kind);
      this._emit('unmute-refused', { kind: attempt.kind });
      this._emit('error', { code, message: String(msg.message ?? ''), fatal: false, context: 'mute' });
      return;
    }
    this._emit('error', { code, message: String(msg.message ?? ''), fatal: closing || this.state === 'connecting', context });
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
    if (this._offerSent && this.state === 'joined') {
      if (!muted && this.isMutedByChair(kind)) this._unmuteAttempt = { kind, at: Date.now() };
      this._send({ type: 'mute', kind, muted });
    }
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
      clearTimeout(this._iceRestartTimer);
      clearTimeout(this._iceLossTimer);
      try { this.pc.close(); } catch { /* already closed */ }
    }
    for (const mid of [...this._remote.keys()]) this._removeRemote(mid);
    this._endShare('closed', { tell: false }); // a rejoin does not resume a share
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
