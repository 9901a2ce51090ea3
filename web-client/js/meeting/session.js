// Joining, staying joined and leaving: the CauClient's events turned into page updates,
// reconnection with back-off, and the ways out (leave, the meeting ended, a refusal).

import { t, errorText } from '../i18n.js';
import { $, S, MEETING_ID, TOKEN, newClient, setView, emit, store } from './state.js';
import { reopenMedia, stopLocalMedia } from './devices.js';
import { takeName } from './prejoin.js';
import {
  addRemote, removeRemote, clearRemotes, attachTrack, detachTrack, setRemoteMuted, setSpeaking,
  ensureSelfTile, renderMeetingHeader, renderControls, renderStatus, renderStageNotice,
} from './stage.js';
import { toast } from './ui.js';
import { REFUSALS, showError, showLeft } from './errors.js';

const JOIN_TOASTS_MAX_PARTICIPANTS = 12; // beyond this, arrivals and departures are not announced
const RECONNECT_DELAYS_MS = [1000, 2000, 4000, 8000, 15000, 15000];
/** Reasons after which joining again by ourselves cannot help (or would fight another window). */
const NO_RECONNECT = new Set(['left', 'replaced', 'meeting_ended', ...REFUSALS]);

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
      toast(t(reason === 'left' ? 'meeting.left' : 'meeting.lostConnection', { name }));
    }
  }));
  client.addEventListener('track', mine(attachTrack));
  client.addEventListener('track-removed', mine(detachTrack));
  client.addEventListener('mute-changed', mine(({ participantId, kind, muted, self }) => {
    if (!self) setRemoteMuted(participantId, kind, muted);
  }));
  client.addEventListener('speaking', mine(({ participantId, speaking, self }) => setSpeaking(participantId, speaking, self)));
  client.addEventListener('roll-call', mine((rollCall) => emit('roll-call', rollCall)));
  client.addEventListener('error', mine(({ code, fatal }) => {
    S.errorCode = code;
    // Errors that end the session surface through `closed` / connect(); the rest as a toast.
    if (!fatal && client.state === 'joined') {
      toast(code === 'forbidden' ? t('error.forbidden_action') : errorText(code), 'error');
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
    else if (reconnect && !NO_RECONNECT.has(code)) scheduleReconnect();
    else fail(code, reconnect);
    return;
  }
  if (client !== S.client) return;
  S.reconnecting = false;
  S.reconnectAttempt = 0;
  S.errorCode = null;
  S.selfId = welcome.participant_id;
  S.role = client.role ?? S.role;
  S.unit = client.unit ?? S.unit;
  S.meeting = client.meeting ?? S.meeting;
  clearRemotes();
  for (const p of client.participants.values()) addRemote(p);
  ensureSelfTile();
  emit('welcome', welcome);
  renderMeetingHeader();
  renderControls();
  setView('meeting');
  renderStatus();
}

function onClosed(reason) {
  if (S.view !== 'meeting') return; // joining: connect() rejects and says why; leave() shows 'left'
  clearRemotes();
  if (reason === 'meeting_ended' || reason === 'left') {
    // `bye` meeting_ended: the chair ended the meeting; `bye` left: the hub ended our session.
    endSession(reason);
  } else if (NO_RECONNECT.has(reason)) {
    fail(reason, true);
  } else {
    scheduleReconnect();
  }
}

function endSession(reason) {
  clearTimeout(S.reconnectTimer);
  S.reconnecting = false;
  clearRemotes();
  stopLocalMedia();
  showLeft(reason);
}

/** The error view; the camera and microphone are released (Try again reopens them). */
function fail(code, lost) {
  clearRemotes();
  stopLocalMedia();
  showError(code, { lost, stage: 'join' });
}

function scheduleReconnect() {
  if (S.reconnectAttempt >= RECONNECT_DELAYS_MS.length) {
    S.reconnecting = false;
    fail('connection_lost', true);
    return;
  }
  S.reconnecting = true;
  const delay = RECONNECT_DELAYS_MS[S.reconnectAttempt++];
  renderStatus();
  renderStageNotice();
  clearTimeout(S.reconnectTimer);
  S.reconnectTimer = setTimeout(() => join({ reconnect: true }), delay);
}

/** Join again from the left or error view (the devices were released). */
export async function rejoin() {
  S.reconnectAttempt = 0;
  setView('joining');
  await reopenMedia();
  await join();
}

export async function leave() {
  clearTimeout(S.reconnectTimer);
  S.reconnecting = false;
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
  window.addEventListener('pagehide', () => {
    if (S.client.state === 'joined' || S.client.state === 'connecting') S.client.leave();
  });
}
