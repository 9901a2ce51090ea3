// The meeting page's shared state: the URL parameters, the state object, view switching, and
// a small event bus so that the page's modules do not need to import each other to say
// "something changed" (devices → previews and controls; views → meter and layout).

import '../strings/meeting.js';
import '../strings/floor.js';
import '../strings/screen.js';
import { CauClient, RECEIVE_MODES } from '../protocol.js';
import { emptyMeetingState } from '../protocol-rules.js';

export const $ = (id) => document.getElementById(id);

export const params = new URLSearchParams(location.search);
const rawMeeting = (params.get('meeting') ?? '').trim();
/** The meeting id from `?meeting=`, or null when absent or not an integer. */
export const MEETING_ID = /^\d{1,15}$/.test(rawMeeting) ? Number(rawMeeting) : null;
/** The join token from `?token=` (null: a staff chair's session cookie is used instead). */
export const TOKEN = (params.get('token') ?? '').trim() || null;
/** `?name=` prefills the name (tests use it with ?autojoin=1). */
export const NAME_PARAM = (params.get('name') ?? '').trim();
export const AUTOJOIN = ['1', 'true', 'yes'].includes(params.get('autojoin') ?? '');
export const NAME_MAX = 64;

export function store(key, value) {
  try { if (value == null) localStorage.removeItem(key); else localStorage.setItem(key, value); } catch { /* blocked */ }
}
export function load(key) {
  try { return localStorage.getItem(key); } catch { return null; }
}

/** The settings menu's choices, remembered in localStorage (see meeting/settings.js). */
export const LAYOUTS = ['auto', 'speaker', 'grid'];
function loadSettings() {
  const mode = load('cau.receiveMode');
  const layout = load('cau.layout');
  return {
    /** `receive.mode`: 'auto' | 'low' | 'audio_only'. */
    receiveMode: RECEIVE_MODES.includes(mode) ? mode : 'auto',
    /** Weak-link mode: only the lowest simulcast layer is sent. */
    weakLink: load('cau.weakLink') === '1',
    /** 'auto' (grid up to GRID_MAX participants and while nobody has the floor), 'speaker', 'grid'. */
    layout: LAYOUTS.includes(layout) ? layout : 'auto',
  };
}

/** A client for the next join, with the receive and weak-link settings applied. */
export function newClient() {
  const client = new CauClient({ log: (...a) => console.debug('cau:', ...a) });
  client.setReceive({ mode: S.settings.receiveMode });
  client.setWeakLink(S.settings.weakLink);
  return client;
}

export const S = {
  view: 'checking',
  /** GET /api/join's answer: {meeting: {id, title, agenda, start, end, state, host_unit, chair_person}, unit, role} */
  info: null,
  /** From `welcome` (falls back to `info` until then). */
  role: null,
  unit: null,
  meeting: null,
  name: NAME_PARAM,
  dir: null,
  stream: new MediaStream(), // local tracks: at most one audio, one video
  micOn: true,
  camOn: true,
  micError: null, // Error of the last failed attempt to open the microphone
  camError: null,
  audioDeviceId: load('cau.mic'),
  videoDeviceId: load('cau.camera'),
  busy: { audio: false, video: false },
  meter: null,
  settings: loadSettings(),
  client: null, // set below: newClient() reads S.settings
  selfId: null,
  /**
   * participantId → {p, order, tile, video, avatar, videoTrack, videoMid, audioMid, speaking, quality,
   * screenTrack, screenMid, screenTile, screenVideo, screenAspect} (screen*: its shared screen, when a slot carries it)
   */
  remotes: new Map(),
  /** The participant whose shared screen is pinned full screen, or null. */
  pinnedScreen: null,
  /** Your own share: the screen picker is open (getDisplayMedia pending). */
  choosingScreen: false,
  /** The latest meeting_state (protocol-rules.js normalizeMeetingState). */
  meetingState: emptyMeetingState(),
  /** The latest dominant_speaker. */
  dominant: null,
  /** Whether you speak now (the hub's `speaking` about yourself). */
  selfSpeaking: false,
  /** Your own link's quality (netquality.js outboundQuality), or null. */
  selfQuality: null,
  /** Chat: the messages received (newest last) and how many arrived while the panel was closed. */
  chat: { messages: [], unread: 0 },
  /** The side panel open: null, 'chat', 'people' or 'roll-call'. */
  panel: null,
  reconnecting: false,
  reconnectAttempt: 0,
  reconnectTimer: null,
  /** When the next automatic rejoin is due (ms since the epoch), for the banner's countdown. */
  reconnectAt: 0,
  /** Why the connection was lost ('connection_lost', 'media_failed', …), for the banner. */
  lostReason: null,
  errorCode: null,
  errorLost: false,
  /** What the error view's "Try again" does: 'check' (the link) or 'join'. */
  errorStage: 'join',
  /** Why the left view is shown: 'left' or 'meeting_ended'. */
  leftReason: 'left',
  endedBySelf: false,
};

S.client = newClient();

// Test hooks: window.cau.client (its .pc is the live RTCPeerConnection), window.cau.lastError.
window.cau = {
  get client() { return S.client; },
  get lastError() { return S.errorCode; },
  state: S,
};

const listeners = new Map();
/**
 * Subscribes to a page event: 'view' (view), 'media' (), 'welcome' (welcome), 'roll-call'
 * (rollCall), 'error-toast' (code), 'meeting-state' ({state, previous}), 'roster' (),
 * 'chat' (message), 'panel' (name|null), 'open-panel' (name), 'settings' (), 'stage' (),
 * 'screen-share' (the client's screen-share detail: {sharing, reason, code}).
 */
export function on(event, fn) {
  if (!listeners.has(event)) listeners.set(event, new Set());
  listeners.get(event).add(fn);
}
export function emit(event, detail) {
  for (const fn of listeners.get(event) ?? []) fn(detail);
}

/** Views: 'checking' | 'prejoin' | 'joining' | 'meeting' | 'left' | 'error' (body[data-view]). */
export function setView(view) {
  S.view = view;
  document.body.dataset.view = view;
  emit('view', view);
}

/** The meeting's title as best known (welcome, then the join check). */
export function meetingTitle() {
  return S.meeting?.title ?? S.info?.meeting?.title ?? '';
}

/** The start page, keeping an explicit ?lang=. */
export function homeHref(lang) {
  return params.get('lang') ? `./?lang=${encodeURIComponent(lang)}` : './';
}
