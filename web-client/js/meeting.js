// The meeting page: pre-join (devices) and the meeting itself, in one page so that the
// camera stream carries over. Signalling and WebRTC live in protocol.js; this file is UI.
//
// URL: meeting.html?room=CODE&unit=CODE&name=NAME[&token=T][&lang=en][&autojoin=1]
//
// ---- Hooks for the automated browser tests (keep them stable) ----------------------------
//   document.body.dataset.view   'prejoin' | 'joining' | 'meeting' | 'left' | 'error'
//   #join                        pre-join Join button (?autojoin=1 joins without the click)
//   #toggle-mic, #toggle-camera  meeting controls; aria-pressed="true" (and data-state="off")
//                                when the microphone / camera is off
//   #leave                       leave the meeting (→ view 'left'; #rejoin joins again)
//   #retry                       on the error view: try joining again
//   .tile[data-participant-id]   one per remote participant, with data-audio-muted,
//                                data-video-muted, data-speaking ("true"/"false") and the
//                                class `speaking` while the hub says they speak
//   .tile[data-self="true"]      your own preview tile (mirrored)
//   #audio-sink audio[data-participant-id]  the <audio autoplay> playing each remote participant
//   #prejoin-mic, #prejoin-camera  pre-join toggles (aria-pressed="true" = will join with it off)
//   #camera-select, #mic-select  pre-join device pickers
//   window.cau.client            the current CauClient (window.cau.client.pc is the live
//                                RTCPeerConnection; a new client after rejoin/reconnect)
//   window.cau.lastError         the last error code shown, or null
// ------------------------------------------------------------------------------------------

import { CauClient } from './protocol.js';
import { t, applyI18n, bindLangSwitch, onLangChange, errorText, getLang } from './i18n.js';
import { fetchDirectory, describeUnit } from './directory.js';
import { icon, hydrateIcons } from './icons.js';
import { openDevices, openTrack, listDevices, classifyMediaError, startLevelMeter } from './media.js';
import { el, initials, avatarColour, makeTile, bestGrid } from './tiles.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const ROOM = (params.get('room') ?? '').trim();
const UNIT = (params.get('unit') ?? '').trim();
const NAME = (params.get('name') ?? '').trim();
const TOKEN = params.get('token');
const AUTOJOIN = ['1', 'true', 'yes'].includes(params.get('autojoin') ?? '');
const MEDIA_WAIT_MS = 5000;
const JOIN_TOASTS_MAX_PARTICIPANTS = 12; // beyond this, arrivals and departures are not announced
const RECONNECT_DELAYS_MS = [1000, 2000, 4000, 8000, 15000, 15000];
/** Reasons after which joining again cannot help (or would fight another window). */
const NO_RETRY = new Set(['left', 'replaced', 'unknown_unit', 'invalid_name', 'unsupported_version']);

function store(key, value) {
  try { if (value == null) localStorage.removeItem(key); else localStorage.setItem(key, value); } catch { /* blocked */ }
}
function load(key) {
  try { return localStorage.getItem(key); } catch { return null; }
}

const S = {
  view: 'prejoin',
  dir: null,
  roomName: ROOM,
  unitName: UNIT,
  stream: new MediaStream(), // local tracks: at most one audio, one video
  micOn: true,
  camOn: true,
  micError: null, // Error of the last failed attempt to open the microphone
  camError: null,
  audioDeviceId: load('cau.mic'),
  videoDeviceId: load('cau.camera'),
  busy: { audio: false, video: false },
  meter: null,
  client: new CauClient({ log: (...a) => console.debug('cau:', ...a) }),
  selfId: null,
  remotes: new Map(), // participantId → {p, tile, video, audio, videoTrack, audioTrack, speaking}
  reconnecting: false,
  reconnectAttempt: 0,
  reconnectTimer: null,
  errorCode: null,
  errorLost: false,
};

window.cau = {
  get client() { return S.client; },
  get lastError() { return S.errorCode; },
  state: S,
};

// ------------------------------------------------------------------ helpers

function setView(view) {
  S.view = view;
  document.body.dataset.view = view;
  if (view !== 'prejoin') stopMeter();
  if (view === 'meeting') layout();
}

function homeHref() {
  const q = new URLSearchParams();
  if (ROOM) q.set('room', ROOM);
  if (params.get('lang')) q.set('lang', getLang());
  const s = q.toString();
  return s ? `./?${s}` : './';
}

// ------------------------------------------------------------------ local media

function localTrack(kind) {
  return (kind === 'audio' ? S.stream.getAudioTracks() : S.stream.getVideoTracks())[0] ?? null;
}

function setLocalTrack(kind, track) {
  const old = localTrack(kind);
  if (old && old !== track) {
    old.onended = null;
    old.stop();
    S.stream.removeTrack(old);
  }
  if (track && track !== old) {
    S.stream.addTrack(track);
    track.onended = () => onLocalTrackEnded(kind, track);
  }
  if (kind === 'audio' && track) track.enabled = S.micOn;
  if (kind === 'video') renderLocalVideo();
  if (kind === 'audio' && S.view === 'prejoin') startMeter();
  // Joining or joined: the client sends what we have now (replaceTrack + `mute`).
  if (S.client.state === 'connecting' || S.client.state === 'joined') {
    S.client.setTrack(kind, track ?? null).catch((err) => console.warn('cau: setTrack', err));
  }
}

function onLocalTrackEnded(kind, track) {
  if (localTrack(kind) !== track) return;
  S.stream.removeTrack(track);
  if (kind === 'video') {
    S.camOn = false;
    renderLocalVideo();
  }
  if (S.client.state === 'joined') {
    S.client.setTrack(kind, null).catch(() => {});
    toast(t('media.ended', { device: t(kind === 'audio' ? 'device.microphone' : 'device.camera') }), 'error');
  }
  renderControls();
}

async function startMedia() {
  const want = { audio: true, video: S.camOn };
  const got = await openDevices({
    audio: want.audio && !localTrack('audio'),
    video: want.video && !localTrack('video'),
    audioDeviceId: S.audioDeviceId,
    videoDeviceId: S.videoDeviceId,
  });
  if (got.audio) setLocalTrack('audio', got.audio);
  if (got.video) setLocalTrack('video', got.video);
  S.micError = got.errors.audio;
  S.camError = got.errors.video;
  if (S.camError) S.camOn = false;
  await refreshDevices();
  renderPrejoin();
}

function stopLocalMedia() {
  for (const tr of S.stream.getTracks()) {
    tr.onended = null;
    tr.stop();
    S.stream.removeTrack(tr);
  }
  stopMeter();
  renderLocalVideo();
}

async function refreshDevices() {
  let devices;
  try {
    devices = await listDevices();
  } catch {
    devices = { audio: [], video: [] };
  }
  fillDeviceSelect($('camera-select'), devices.video, localTrack('video'), 'prejoin.cameraN');
  fillDeviceSelect($('mic-select'), devices.audio, localTrack('audio'), 'prejoin.microphoneN');
}

function fillDeviceSelect(sel, list, track, labelKey) {
  sel.replaceChildren();
  if (!list.length) {
    sel.append(new Option(t('prejoin.noDevice'), ''));
    sel.disabled = true;
    return;
  }
  sel.disabled = false;
  list.forEach((d, i) => sel.append(new Option(d.label || t(labelKey, { n: i + 1 }), d.deviceId)));
  const current = track?.getSettings?.().deviceId;
  if (current && list.some((d) => d.deviceId === current)) sel.value = current;
}

async function switchDevice(kind, deviceId) {
  if (kind === 'audio') {
    S.audioDeviceId = deviceId;
    store('cau.mic', deviceId);
  } else {
    S.videoDeviceId = deviceId;
    store('cau.camera', deviceId);
    if (!S.camOn) return; // used the next time the camera is turned on
  }
  S.busy[kind] = true;
  renderPrejoin();
  try {
    localTrack(kind)?.stop(); // some cameras cannot be opened twice
    const track = await openTrack(kind, deviceId);
    setLocalTrack(kind, track);
    if (kind === 'audio') S.micError = null; else S.camError = null;
  } catch (err) {
    if (kind === 'audio') S.micError = err; else S.camError = err;
    setLocalTrack(kind, null);
  } finally {
    S.busy[kind] = false;
    renderPrejoin();
  }
}

$('camera-select').addEventListener('change', (e) => switchDevice('video', e.target.value));
$('mic-select').addEventListener('change', (e) => switchDevice('audio', e.target.value));
navigator.mediaDevices?.addEventListener?.('devicechange', () => refreshDevices());

async function setCamera(on) {
  if (S.busy.video) return;
  if (!on) {
    S.camOn = false;
    const old = localTrack('video');
    if (old) {
      old.onended = null;
      old.stop(); // the camera light goes off
      S.stream.removeTrack(old);
    }
    renderLocalVideo();
    if (S.client.state === 'joined') await S.client.setTrack('video', null);
  } else {
    S.busy.video = true;
    renderControls();
    renderPrejoin();
    try {
      const track = await openTrack('video', S.videoDeviceId);
      S.camOn = true;
      S.camError = null;
      setLocalTrack('video', track);
      refreshDevices();
    } catch (err) {
      S.camError = err;
      if (S.view === 'meeting') toast(mediaErrorText('video', err), 'error');
    } finally {
      S.busy.video = false;
    }
  }
  renderControls();
  renderPrejoin();
  renderSelfTile();
}

async function setMic(on) {
  if (S.busy.audio) return;
  if (on && !localTrack('audio')) {
    S.busy.audio = true;
    try {
      const track = await openTrack('audio', S.audioDeviceId);
      S.micError = null;
      setLocalTrack('audio', track);
      refreshDevices();
    } catch (err) {
      S.micError = err;
      S.busy.audio = false;
      if (S.view === 'meeting') toast(mediaErrorText('audio', err), 'error');
      renderControls();
      renderPrejoin();
      return;
    }
    S.busy.audio = false;
  }
  S.micOn = on;
  const tr = localTrack('audio');
  if (tr) tr.enabled = on;
  if (S.client.state === 'joined') await S.client.setMuted('audio', !on);
  renderControls();
  renderPrejoin();
  renderSelfTile();
}

function mediaErrorText(kind, err) {
  const device = t(kind === 'audio' ? 'device.microphone' : kind === 'video' ? 'device.camera' : 'device.both');
  const cat = classifyMediaError(err);
  if (cat === 'insecure') return t('media.insecure');
  if (cat === 'unsupported') return t('media.unsupported');
  if (cat === 'other') return t('media.other', { device, detail: err?.name || String(err) });
  return t(`media.${cat}`, { device });
}

// ------------------------------------------------------------------ pre-join view

function startMeter() {
  stopMeter();
  const track = localTrack('audio');
  if (!track || S.view !== 'prejoin') return;
  const fill = $('meter-fill');
  const bar = fill.parentElement;
  S.meter = startLevelMeter(track, (level) => {
    fill.style.transform = `scaleX(${level.toFixed(3)})`;
    bar.setAttribute('aria-valuenow', String(Math.round(level * 100)));
  });
}

function stopMeter() {
  S.meter?.stop();
  S.meter = null;
  $('meter-fill').style.transform = 'scaleX(0)';
}

function renderLocalVideo() {
  const track = localTrack('video');
  for (const v of [$('preview-video'), document.querySelector('.tile[data-self="true"] video')]) {
    if (!v) continue;
    const cur = v.srcObject?.getVideoTracks?.()[0] ?? null;
    if (cur !== track) v.srcObject = track ? new MediaStream([track]) : null;
    if (track) v.play().catch(() => {});
  }
  renderPrejoin();
  renderSelfTile();
}

function setToggle(btn, off, iconOn, iconOff, labelOn, labelOff, disabled = false) {
  btn.setAttribute('aria-pressed', String(off));
  btn.dataset.state = off ? 'off' : 'on';
  btn.disabled = disabled;
  const label = off ? labelOff : labelOn;
  btn.title = label;
  btn.setAttribute('aria-label', label);
  const name = off ? iconOff : iconOn;
  const holder = btn.querySelector('.ctrl-face') ?? btn.querySelector('[data-icon]') ?? btn;
  if (holder.dataset.shown !== name) {
    holder.innerHTML = icon(name);
    holder.dataset.shown = name;
  }
  const text = btn.querySelector('.ctrl-label');
  if (text) text.textContent = label;
}

function renderPrejoin() {
  const hasMic = !!localTrack('audio');
  const hasCam = !!localTrack('video');
  // Buttons say what a click does: "Tắt micrô" while it is on.
  setToggle($('prejoin-mic'), !(S.micOn && hasMic), 'mic', 'micOff',
    t('control.micOff'), hasMic || !S.micError ? t('control.micOn') : t('control.noMic'), S.busy.audio);
  setToggle($('prejoin-camera'), !(S.camOn && hasCam), 'camera', 'cameraOff',
    t('control.cameraOff'), t('control.cameraOn'), S.busy.video);

  const placeholder = $('preview-placeholder');
  placeholder.hidden = hasCam;
  const avatar = $('preview-avatar');
  avatar.textContent = initials(NAME);
  avatar.style.background = avatarColour(NAME);
  $('preview-status').textContent = S.busy.video ? t('prejoin.starting')
    : S.camError && !hasCam ? t('control.noCamera') : t('prejoin.cameraOff');

  const meter = $('mic-meter');
  meter.classList.toggle('muted', !(S.micOn && hasMic));
  $('meter-text').textContent = !hasMic ? t('prejoin.noDevice') : S.micOn ? t('prejoin.levelHint') : t('prejoin.micIsOff');

  // The room and who joins.
  $('prejoin-room').textContent = S.roomName;
  const roomUnit = S.dir?.get(ROOM);
  if (roomUnit) {
    const d = describeUnit(S.dir, roomUnit);
    $('prejoin-room-sub').textContent = [t('meeting.room'), d.parent || d.tier].filter(Boolean).join(' · ');
  } else {
    $('prejoin-room-sub').textContent = t('meeting.room');
  }
  $('prejoin-identity').textContent = `${NAME} — ${S.unitName}`;
  $('prejoin-change').href = homeHref();

  // What could not be opened.
  const notice = $('media-notice');
  const micErr = hasMic ? null : S.micError;
  const camErr = hasCam ? null : S.camError;
  if (micErr || camErr) {
    const text = $('media-notice-text');
    text.replaceChildren();
    if (micErr && camErr && classifyMediaError(micErr) === classifyMediaError(camErr)) {
      text.append(el('p', null, mediaErrorText('both', micErr)));
    } else {
      if (micErr) text.append(el('p', null, mediaErrorText('audio', micErr)));
      if (camErr) text.append(el('p', null, mediaErrorText('video', camErr)));
    }
    const cats = [micErr, camErr].filter(Boolean).map(classifyMediaError);
    $('retry-media').hidden = cats.every((c) => c === 'insecure' || c === 'unsupported');
    notice.hidden = false;
  } else {
    notice.hidden = true;
  }
}

$('prejoin-mic').addEventListener('click', () => setMic(!(S.micOn && localTrack('audio'))));
$('prejoin-camera').addEventListener('click', () => setCamera(!(S.camOn && localTrack('video'))));
$('retry-media').addEventListener('click', async () => {
  S.camOn = true;
  await startMedia();
});
$('join').addEventListener('click', () => join());

// ------------------------------------------------------------------ joining and the client

function wire(client) {
  const mine = (fn) => (e) => { if (client === S.client) fn(e.detail); };
  client.addEventListener('participant-joined', mine(({ participant }) => {
    addRemote(participant);
    if (S.remotes.size < JOIN_TOASTS_MAX_PARTICIPANTS) toast(t('meeting.joined', { name: participant.name }));
  }));
  client.addEventListener('participant-left', mine(({ participantId, reason, participant }) => {
    const name = participant?.name ?? S.remotes.get(participantId)?.p.name;
    removeRemote(participantId);
    if (name && S.remotes.size < JOIN_TOASTS_MAX_PARTICIPANTS) toast(t(reason === 'left' ? 'meeting.left' : 'meeting.lostConnection', { name }));
  }));
  client.addEventListener('track', mine(attachTrack));
  client.addEventListener('track-removed', mine(detachTrack));
  client.addEventListener('mute-changed', mine(({ participantId, kind, muted, self }) => {
    if (self) return;
    const r = S.remotes.get(participantId);
    if (!r) return;
    r.p[`${kind}_muted`] = muted;
    renderRemote(r);
  }));
  client.addEventListener('speaking', mine(({ participantId, speaking, self }) => {
    const tile = self ? selfTile() : S.remotes.get(participantId)?.tile;
    if (!tile) return;
    tile.classList.toggle('speaking', speaking);
    tile.dataset.speaking = String(speaking);
  }));
  client.addEventListener('error', mine(({ code, fatal }) => {
    S.errorCode = code;
    // Errors that end the session surface through `closed` / connect(); the rest as a toast.
    if (!fatal && client.state === 'joined') toast(errorText(code), 'error');
  }));
  client.addEventListener('state', mine(renderStatus));
  // A client that never got `welcome` reports through connect()'s rejection instead.
  client.addEventListener('closed', mine(({ reason }) => { if (client.welcome) onClosed(reason); }));
}

async function join({ reconnect = false } = {}) {
  clearTimeout(S.reconnectTimer);
  if (S.client.state !== 'idle') S.client = new CauClient({ log: (...a) => console.debug('cau:', ...a) });
  const client = S.client;
  wire(client);
  if (!reconnect) setView('joining');
  renderStatus();
  client.setMuted('audio', !S.micOn);
  await client.publish(S.stream);
  let welcome;
  try {
    welcome = await client.connect({ room: ROOM, unit: UNIT, name: NAME, token: TOKEN });
  } catch (err) {
    if (client !== S.client) return;
    const code = err?.code ?? 'connection_failed';
    if (reconnect && !NO_RETRY.has(code)) scheduleReconnect();
    else showError(code, reconnect);
    return;
  }
  if (client !== S.client) return;
  S.reconnecting = false;
  S.reconnectAttempt = 0;
  S.errorCode = null;
  S.selfId = welcome.participant_id;
  if (welcome.room?.name) S.roomName = welcome.room.name;
  clearRemotes();
  for (const p of client.participants.values()) addRemote(p);
  ensureSelfTile();
  renderMeetingHeader();
  renderControls();
  setView('meeting');
  renderStatus();
}

function onClosed(reason) {
  if (S.view !== 'meeting') return; // joining: connect() rejects and says why; leave() shows 'left'
  clearRemotes();
  if (reason === 'left') {
    // The hub ended our session (`bye` "left") without us asking.
    $('left-body').textContent = t('left.body', { room: S.roomName });
    setView('left');
    stopLocalMedia();
    return;
  }
  if (NO_RETRY.has(reason)) {
    showError(reason, true);
    return;
  }
  scheduleReconnect();
}

function scheduleReconnect() {
  if (S.reconnectAttempt >= RECONNECT_DELAYS_MS.length) {
    S.reconnecting = false;
    showError('connection_lost', true);
    return;
  }
  S.reconnecting = true;
  const delay = RECONNECT_DELAYS_MS[S.reconnectAttempt++];
  renderStatus();
  renderStageNotice();
  clearTimeout(S.reconnectTimer);
  S.reconnectTimer = setTimeout(() => join({ reconnect: true }), delay);
}

function showError(code, lost = false) {
  clearTimeout(S.reconnectTimer);
  S.reconnecting = false;
  S.errorCode = code;
  S.errorLost = lost;
  clearRemotes();
  renderError();
  setView('error');
}

function renderError() {
  const code = S.errorCode;
  $('error-title').textContent = t(S.errorLost ? 'errorView.lostTitle' : 'errorView.title');
  $('error-message').textContent = code === 'missing_params' ? t('errorView.missingParams') : errorText(code);
  $('retry').hidden = ['missing_params', 'unknown_unit', 'invalid_name', 'unsupported_version'].includes(code);
}

$('retry').addEventListener('click', () => rejoin());
$('rejoin').addEventListener('click', () => rejoin());

async function rejoin() {
  S.reconnectAttempt = 0;
  setView('joining');
  const want = { audio: !localTrack('audio'), video: S.camOn && !localTrack('video') };
  if (want.audio || want.video) {
    const got = await openDevices({ ...want, audioDeviceId: S.audioDeviceId, videoDeviceId: S.videoDeviceId });
    if (got.audio) setLocalTrack('audio', got.audio);
    if (got.video) setLocalTrack('video', got.video);
    if (got.errors.video) S.camOn = false;
  }
  await join();
}

async function leave() {
  clearTimeout(S.reconnectTimer);
  S.reconnecting = false;
  const client = S.client;
  $('left-body').textContent = t('left.body', { room: S.roomName });
  clearRemotes();
  setView('left');
  stopLocalMedia();
  await client.leave();
}

$('leave').addEventListener('click', () => leave());
$('toggle-mic').addEventListener('click', () => setMic(!(S.micOn && localTrack('audio'))));
$('toggle-camera').addEventListener('click', () => setCamera(!(S.camOn && localTrack('video'))));

window.addEventListener('pagehide', () => {
  if (S.client.state === 'joined' || S.client.state === 'connecting') S.client.leave();
});

// ------------------------------------------------------------------ tiles

function selfTile() {
  return document.querySelector('.tile[data-self="true"]');
}

function ensureSelfTile() {
  if (selfTile()) return;
  const { tile } = makeTile({ self: true });
  tile.style.order = '100000';
  $('tiles').append(tile);
  renderLocalVideo();
  renderSelfTile();
}

function renderSelfTile() {
  const tile = selfTile();
  if (!tile) return;
  const hasCam = !!localTrack('video');
  const micOff = !(S.micOn && localTrack('audio'));
  tile.classList.toggle('has-video', hasCam);
  tile.dataset.videoMuted = String(!hasCam);
  tile.dataset.audioMuted = String(micOff);
  tile.querySelector('.mic-state').title = t('tile.micMuted');
  tile.querySelector('.tile-name').textContent = `${t('meeting.you')} · ${NAME}`;
  tile.querySelector('.tile-unit').textContent = S.unitName;
  const avatar = tile.querySelector('.avatar');
  avatar.textContent = initials(NAME);
  avatar.style.background = avatarColour(NAME);
}

let joinOrder = 0;
function addRemote(p) {
  if (!p?.id || p.id === S.selfId) return;
  let r = S.remotes.get(p.id);
  if (!r) {
    const { tile, video, avatar } = makeTile({ id: p.id });
    tile.style.order = String(++joinOrder);
    r = { p: { ...p }, tile, video, avatar, audio: null, videoTrack: null, audioTrack: null };
    S.remotes.set(p.id, r);
    $('tiles').append(tile);
  } else {
    r.p = { ...r.p, ...p };
  }
  renderRemote(r);
  layout();
  renderMeetingHeader();
}

function removeRemote(id) {
  const r = S.remotes.get(id);
  if (!r) return;
  S.remotes.delete(id);
  r.video.srcObject = null;
  r.tile.remove();
  if (r.audio) {
    r.audio.srcObject = null;
    r.audio.remove();
  }
  layout();
  renderMeetingHeader();
}

function clearRemotes() {
  for (const id of [...S.remotes.keys()]) removeRemote(id);
  for (const a of $('audio-sink').querySelectorAll('audio')) a.remove();
  $('audio-unlock').hidden = true;
}

function renderRemote(r) {
  const { p, tile } = r;
  const hasVideo = !!r.videoTrack && !p.video_muted && !r.videoTrack.muted && r.videoTrack.readyState === 'live';
  tile.classList.toggle('has-video', hasVideo);
  tile.dataset.audioMuted = String(!!p.audio_muted);
  tile.dataset.videoMuted = String(!!p.video_muted);
  tile.querySelector('.mic-state').title = t('tile.micMuted');
  const name = p.name || t('meeting.guest');
  tile.querySelector('.tile-name').textContent = name;
  tile.querySelector('.tile-unit').textContent = p.unit?.name ?? '';
  tile.title = p.unit?.name ? `${name} — ${p.unit.name}` : name;
  r.avatar.textContent = initials(name);
  r.avatar.style.background = avatarColour(p.id);
}

function attachTrack({ participantId, kind, track }) {
  let r = S.remotes.get(participantId);
  if (!r) {
    // Media before its participant_joined: show a tile now, the name follows.
    addRemote({ id: participantId, name: '', unit: null, audio_muted: false, video_muted: false });
    r = S.remotes.get(participantId);
    if (!r) return;
  }
  if (kind === 'video') {
    r.videoTrack = track;
    r.video.srcObject = new MediaStream([track]);
    r.video.play().catch(() => {});
    const update = () => { if (r.videoTrack === track) renderRemote(r); };
    track.addEventListener('mute', update);
    track.addEventListener('unmute', update);
    track.addEventListener('ended', update);
  } else if (kind === 'audio') {
    r.audioTrack = track;
    if (!r.audio) {
      r.audio = document.createElement('audio');
      r.audio.autoplay = true;
      r.audio.dataset.participantId = participantId;
      $('audio-sink').append(r.audio);
    }
    r.audio.srcObject = new MediaStream([track]);
    playAudio(r.audio);
  }
  renderRemote(r);
}

function detachTrack({ participantId, kind, track }) {
  const r = S.remotes.get(participantId);
  if (!r) return;
  if (kind === 'video' && r.videoTrack === track) {
    r.videoTrack = null;
    r.video.srcObject = null;
  } else if (kind === 'audio' && r.audioTrack === track) {
    r.audioTrack = null;
    if (r.audio) r.audio.srcObject = null;
  }
  renderRemote(r);
}

function playAudio(audio) {
  audio.play().catch((err) => {
    if (err?.name === 'NotAllowedError') $('audio-unlock').hidden = false;
  });
}

$('audio-unlock').addEventListener('click', () => {
  $('audio-unlock').hidden = true;
  for (const a of $('audio-sink').querySelectorAll('audio')) playAudio(a);
});

// ------------------------------------------------------------------ meeting chrome

/** Sizes the grid for the tiles in the stage; one remote participant → you in a corner. */
function layout() {
  if (S.view !== 'meeting') return;
  const tilesEl = $('tiles');
  const stage = $('stage');
  const self = selfTile();
  const pip = S.remotes.size === 1 && !!self;
  self?.classList.toggle('pip', pip);
  const n = S.remotes.size + (self && !pip ? 1 : 0);
  const cs = getComputedStyle(stage);
  const W = stage.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
  const H = stage.clientHeight - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom);
  if (n === 0 || W <= 0 || H <= 0) return;
  const gap = W < 500 ? 6 : 10;
  const best = bestGrid(n, W, H, gap);
  tilesEl.style.setProperty('--cols', String(best.cols));
  tilesEl.style.setProperty('--tile-w', `${Math.floor(best.w)}px`);
  tilesEl.style.setProperty('--tile-h', `${Math.floor(best.h)}px`);
  tilesEl.style.setProperty('--gap', `${gap}px`);
  for (const tile of tilesEl.querySelectorAll('.tile')) {
    tile.classList.toggle('small', !tile.classList.contains('pip') && best.w < 220);
  }
  renderStageNotice();
}

new ResizeObserver(() => layout()).observe($('stage'));

function renderStageNotice() {
  const notice = $('stage-notice');
  if (S.reconnecting) {
    notice.textContent = t('status.reconnecting');
    notice.hidden = false;
  } else if (S.view === 'meeting' && S.remotes.size === 0) {
    notice.textContent = t('meeting.waiting');
    notice.hidden = false;
  } else {
    notice.hidden = true;
  }
}

function renderMeetingHeader() {
  $('meeting-room').textContent = S.roomName;
  $('meeting-sub').textContent = `${NAME} — ${S.unitName}`;
  const count = S.remotes.size + 1;
  $('participant-count-text').textContent = t('meeting.participants', { count });
  $('participant-count-num').textContent = String(count);
  $('participant-count').title = t('meeting.participants', { count });
  $('participant-count').dataset.count = String(count);
  document.title = `${S.roomName} — ${t('app.name')}`;
}

function renderStatus() {
  const c = S.client;
  let status;
  if (S.reconnecting) status = 'reconnecting';
  else if (c.state === 'idle' || c.state === 'connecting') status = 'connecting';
  else if (c.state === 'closed') status = 'disconnected';
  else {
    const m = c.pc?.connectionState ?? c.pc?.iceConnectionState ?? 'new';
    status = { connected: 'connected', completed: 'connected', disconnected: 'unstable', failed: 'disconnected', closed: 'disconnected' }[m] ?? 'connecting';
  }
  const pill = $('conn-status');
  pill.dataset.status = status;
  $('conn-status-text').textContent = t(`status.${status}`);
  pill.title = t(`status.${status}`);
}

function renderControls() {
  const hasMic = !!localTrack('audio');
  const hasCam = !!localTrack('video');
  setToggle($('toggle-mic'), !(S.micOn && hasMic), 'mic', 'micOff',
    t('control.micOff'), hasMic || !S.micError ? t('control.micOn') : t('control.noMic'), S.busy.audio);
  setToggle($('toggle-camera'), !(S.camOn && hasCam), 'camera', 'cameraOff',
    t('control.cameraOff'), t('control.cameraOn'), S.busy.video);
}

function toast(text, kind = 'info') {
  const box = $('toasts');
  const item = el('div', `toast ${kind}`);
  item.innerHTML = icon(kind === 'error' ? 'alert' : 'users');
  item.append(el('span', null, text));
  const close = el('button', 'toast-close');
  close.type = 'button';
  close.setAttribute('aria-label', t('meeting.close'));
  close.innerHTML = icon('close');
  close.addEventListener('click', () => item.remove());
  item.append(close);
  box.append(item);
  while (box.children.length > 4) box.firstElementChild.remove();
  setTimeout(() => item.remove(), kind === 'error' ? 8000 : 4000);
}

// ------------------------------------------------------------------ language

function renderAll() {
  applyI18n();
  renderPrejoin();
  renderControls();
  renderSelfTile();
  for (const r of S.remotes.values()) renderRemote(r);
  renderMeetingHeader();
  if (S.view !== 'meeting') document.title = t('meeting.pageTitle');
  renderStatus();
  renderStageNotice();
  if (S.view === 'error') renderError();
  if (S.view === 'left') $('left-body').textContent = t('left.body', { room: S.roomName });
  for (const a of document.querySelectorAll('a.home-link, #brand-link')) a.href = homeHref();
}

// ------------------------------------------------------------------ start

async function loadNames() {
  try {
    S.dir = await fetchDirectory();
  } catch (err) {
    console.warn('cau: directory unavailable; showing codes', err);
    return;
  }
  const room = S.dir.get(ROOM);
  const unit = S.dir.get(UNIT);
  if (room && S.roomName === ROOM) S.roomName = room.name;
  if (unit) S.unitName = unit.name;
  renderAll();
}

async function main() {
  hydrateIcons();
  bindLangSwitch($('lang-switch'));
  bindLangSwitch($('lang-switch-meeting'));
  onLangChange(renderAll);
  renderAll();
  if (!ROOM || !UNIT || !NAME) {
    showError('missing_params');
    return;
  }
  const names = loadNames();
  // Join waits until the devices have been tried, or a few seconds if the browser's
  // permission prompt is left unanswered (tracks that arrive later are sent then).
  $('join').disabled = true;
  const media = startMedia().catch((err) => console.warn('cau: media', err));
  await Promise.race([media, new Promise((r) => setTimeout(r, MEDIA_WAIT_MS))]);
  $('join').disabled = false;
  if (AUTOJOIN && S.view === 'prejoin') {
    // Names for the header, but never wait long for them.
    await Promise.race([names, new Promise((r) => setTimeout(r, 3000))]);
    join();
  }
}

main();
