// Joining, staying joined and leaving: the client's events turned into page updates,
// reconnection, and the ways out (leave, the meeting ended, removed, a refusal).
//
// Reconnection: when the websocket drops or the media fails, #conn-banner says so and the
// page joins again by itself (a new participant: new websocket and RTCPeerConnection, the
// same camera and microphone tracks) after 1, 2, 4, 8, 15, then every 30 s (±25 %, so that
// endpoints cut off together do not return together), at once when the browser is back
// online or on #reconnect-now. Never after `bye` left / replaced / removed / meeting_ended
// or a refusal that would repeat (protocol.js shouldRejoin); the error view after 30 min.
//
// Test hooks: #conn-banner (data-attempt), #reconnect-now;
// #view-left[data-reason=left|meeting_ended|removed].

import { t, errorText } from '../i18n.js';
import { shouldRejoin } from '../protocol.js';
import { $, S, MEETING_ID, TOKEN, newClient, setView, emit, store } from './state.js';
import { reopenMedia, stopLocalMedia, followChairMute } from './devices.js';
import { takeName } from './prejoin.js';
import {
  addRemote, removeRemote, clearRemotes, attachTrack, detachTrack, setRemoteMuted, setSpeaking,
  setDominant, ensureSelfTile, renderMeetingHeader, renderControls, renderStatus, renderStageNotice,
  scheduleRender,
} from './stage.js';
import { toast } from './ui.js';
import { REFUSALS, showError, showLeft } from './errors.js';

const JOIN_TOASTS_MAX_PARTICIPANTS = 12; // beyond this, arrivals and departures are not announced
const RECONNECT_DELAYS_MS = [1000, 2000, 4000, 8000, 15000, 30000];
const RECONNECT_GIVE_UP_MS = 30 * 60_000;
const JITTER = 0.25;

/** Whether to join again by ourselves after the client closed with `reason`. */
const mayRejoin = (reason) => shouldRejoin(reason) && !REFUSALS.has(reason);

let lostAt = 0;
let bannerTimer = null;

function wire(client) {
  const mine = (fn) => (e) => { if (client === S.client) fn(e.detail); };
  client.addEventListener('participant-joined', mine(({ participant }) => {
    addRemote(participant);
    if (S.remotes.size < JOIN_TOASTS_MAX_PARTICIPANTS) toast(t('meeting.joined', { name: participant.name }));
  }));
  client.addEventListener('participant-left', mine(({ participantId, reason, participant }) => {
    const name = participant?.name ?? S.remotes.get(participantId)?.p.name;
    removeRemote(participantId);
    if (name && S.remotes.size < JOIN_TOASTS_MAX_PARTICIPANTS) {
      const key = reason === 'left' ? 'meeting.left' : reason === 'removed' ? 'meeting.removedOther' : 'meeting.lostConnection';
      toast(t(key, { name }));
    }
  }));
  client.addEventListener('track', mine(attachTrack));
  client.addEventListener('track-removed', mine(detachTrack));
  client.addEventListener('slots', mine(() => scheduleRender()));
  client.addEventListener('mute-changed', mine(({ participantId, kind, muted, self }) => {
    if (!self) setRemoteMuted(participantId, kind, muted);
  }));
  client.addEventListener('speaking', mine(({ participantId, speaking, self }) => setSpeaking(participantId, speaking, self)));
  client.addEventListener('dominant-speaker', mine(({ participantId }) => setDominant(participantId)));
  client.addEventListener('meeting-state', mine((detail) => {
    S.meetingState = detail.state;
    emit('meeting-state', detail);
  }));
  client.addEventListener('muted-by-chair', mine(({ kind }) => {
    followChairMute(kind);
    emit('muted-by-chair', kind);
  }));
  client.addEventListener('unmute-refused', mine(({ kind }) => {
    followChairMute(kind);
    toast(t(kind === 'audio' ? 'floor.micLockedToast' : 'floor.cameraLockedToast'), 'error');
  }));
  client.addEventListener('screen-share', mine((detail) => emit('screen-share', detail)));
  client.addEventListener('chat', mine((message) => emit('chat', message)));
  client.addEventListener('roll-call', mine((rollCall) => emit('roll-call', rollCall)));
  client.addEventListener('join-refused', mine((refusal) => emit('join-refused', refusal)));
  client.addEventListener('error', mine(({ code, fatal, context }) => {
    S.errorCode = code;
    // Errors that end the session surface through `closed` / connect(); the rest as a toast
    // (a refused unmute or screen share has its own, from unmute-refused / screen-share).
    if (!fatal && client.state === 'joined') {
      // Once joined, `not_found` answers a moderation message naming someone who just left.
      const own = { forbidden: 'error.forbidden_action', not_found: 'error.not_found_participant' }[code];
      if (context !== 'mute' && context !== 'share_screen') toast(own ? t(own) : errorText(code), 'error');
      emit('error-toast', code);
    }
  }));
  client.addEventListener('state', mine(renderStatus));
  // A client that never got `welcome` reports through connect()'s rejection instead.
  client.addEventListener('closed', mine(({ reason }) => { if (client.welcome) onClosed(reason); }));
}

/** The Join button: takes the typed name (or says what is wrong with it), then joins. */
export function requestJoin() {
  if (S.view !== 'prejoin') return;
  const name = takeName();
  if (!name) return;
  store('cau.name', name);
  join();
}

export async function join({ reconnect = false } = {}) {
  clearTimeout(S.reconnectTimer);
  if (S.client.state !== 'idle') S.client = newClient();
  const client = S.client;
  wire(client);
  if (!reconnect) setView('joining');
  renderStatus();
  client.setMuted('audio', !S.micOn);
  await client.publish(S.stream);
  let welcome;
  try {
    welcome = await client.connect({ meeting: MEETING_ID, name: S.name, token: TOKEN });
  } catch (err) {
    if (client !== S.client) return;
    const code = err?.code ?? 'connection_failed';
    if (code === 'meeting_ended' && reconnect) endSession('meeting_ended'); // ended while we were away
    else if (reconnect && mayRejoin(code)) scheduleReconnect();
    else fail(code, reconnect);
    return;
  }
  if (client !== S.client) return;
  const wasReconnecting = S.reconnecting;
  S.reconnecting = false;
  S.reconnectAttempt = 0;
  S.errorCode = null;
  lostAt = 0;
  S.selfId = welcome.participant_id;
  S.role = client.role ?? S.role;
  S.unit = client.unit ?? S.unit;
  S.meeting = client.meeting ?? S.meeting;
  S.meetingState = client.meetingState;
  clearRemotes();
  for (const p of client.participants.values()) addRemote(p);
  ensureSelfTile();
  emit('welcome', welcome);
  renderMeetingHeader();
  renderControls();
  setView('meeting');
  renderStatus();
  renderBanner();
  if (wasReconnecting) toast(t('reconnect.back'));
}

function onClosed(reason) {
  if (S.view !== 'meeting') return; // joining: connect() rejects and says why; leave() shows 'left'
  clearRemotes();
  if (reason === 'meeting_ended' || reason === 'left' || reason === 'removed') {
    // `bye` meeting_ended: the chair ended the meeting; `bye` removed: the chair removed us;
    // `bye` left: the hub ended our session.
    endSession(reason);
  } else if (!mayRejoin(reason)) {
    fail(reason, true);
  } else {
    scheduleReconnect(reason);
  }
}

function endSession(reason) {
  stopReconnecting();
  clearRemotes();
  stopLocalMedia();
  showLeft(reason);
}

/** The error view; the camera and microphone are released (Try again reopens them). */
function fail(code, lost) {
  stopReconnecting();
  clearRemotes();
  stopLocalMedia();
  showError(code, { lost, stage: 'join' });
}

function stopReconnecting() {
  clearTimeout(S.reconnectTimer);
  S.reconnecting = false;
  S.reconnectAt = 0;
  lostAt = 0;
  renderBanner();
}

function scheduleReconnect(reason = null) {
  if (!lostAt) lostAt = Date.now();
  if (Date.now() - lostAt > RECONNECT_GIVE_UP_MS) {
    fail('connection_lost', true);
    return;
  }
  if (reason) S.lostReason = reason;
  S.reconnecting = true;
  const base = RECONNECT_DELAYS_MS[Math.min(S.reconnectAttempt, RECONNECT_DELAYS_MS.length - 1)];
  S.reconnectAttempt++;
  const delay = Math.round(base * (1 - JITTER + Math.random() * 2 * JITTER));
  S.reconnectAt = Date.now() + delay;
  renderStatus();
  renderStageNotice();
  renderBanner();
  clearTimeout(S.reconnectTimer);
  S.reconnectTimer = setTimeout(() => reconnectNow(), delay);
}

/** Joins again now (the timer, the banner's button, or the browser back online). */
function reconnectNow() {
  if (!S.reconnecting) return;
  clearTimeout(S.reconnectTimer);
  S.reconnectAt = 0;
  renderBanner();
  join({ reconnect: true });
}

/** The banner over the stage while the page reconnects: why, and when it tries again. */
export function renderBanner() {
  const banner = $('conn-banner');
  clearTimeout(bannerTimer);
  if (!S.reconnecting || S.view !== 'meeting') {
    banner.hidden = true;
    return;
  }
  banner.hidden = false;
  banner.dataset.attempt = String(S.reconnectAttempt);
  // Why the hub went: a restart (SIGTERM) says so; lost media and a lost hub say theirs.
  const title = { server_shutdown: 'error.server_shutdown', media_failed: 'reconnect.mediaLost' }[S.lostReason] ?? 'reconnect.lost';
  $('conn-banner-title').textContent = t(title);
  const left = Math.ceil((S.reconnectAt - Date.now()) / 1000);
  $('conn-banner-text').textContent = S.reconnectAt && left > 0
    ? t('reconnect.in', { s: left, n: S.reconnectAttempt })
    : t('reconnect.trying', { n: S.reconnectAttempt });
  if (S.reconnectAt && left > 0) bannerTimer = setTimeout(renderBanner, 1000);
}

/** Join again from the left or error view (the devices were released). */
export async function rejoin() {
  S.reconnectAttempt = 0;
  setView('joining');
  await reopenMedia();
  await join();
}

export async function leave() {
  stopReconnecting();
  const client = S.client;
  clearRemotes();
  showLeft('left');
  stopLocalMedia();
  await client.leave();
}

export function initSession() {
  $('join').addEventListener('click', () => requestJoin());
  $('display-name').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !$('join').disabled) {
      e.preventDefault();
      requestJoin();
    }
  });
  $('leave').addEventListener('click', () => leave());
  $('rejoin').addEventListener('click', () => rejoin());
  $('reconnect-now').addEventListener('click', () => reconnectNow());
  window.addEventListener('online', () => { if (S.reconnecting) reconnectNow(); });
  window.addEventListener('pagehide', () => {
    if (S.client.state === 'joined' || S.client.state === 'connecting') S.client.leave();
  });
}
