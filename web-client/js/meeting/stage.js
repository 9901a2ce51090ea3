// The meeting itself on screen: your own tile and one tile per remote participant (video,
// initials, name, unit, mute and speaking state), the <audio> elements that play them, the
// grid layout, the header and the control bar.
//
// Test hooks: .tile[data-participant-id] with data-audio-muted, data-video-muted,
// data-speaking and the class `speaking`; .tile[data-self="true"];
// #audio-sink audio[data-participant-id]; #toggle-mic, #toggle-camera (aria-pressed="true"
// and data-state="off" while off).

import { t } from '../i18n.js';
import { initials, avatarColour, makeTile, bestGrid } from '../tiles.js';
import { $, S, on, meetingTitle } from './state.js';
import { localTrack, setMic, setCamera } from './devices.js';
import { setToggle } from './ui.js';

// ------------------------------------------------------------------ your own tile

export function selfTile() {
  return document.querySelector('.tile[data-self="true"]');
}

export function ensureSelfTile() {
  if (selfTile()) return;
  const { tile } = makeTile({ self: true });
  tile.style.order = '100000';
  $('tiles').append(tile);
  renderSelfTile();
}

export function renderSelfTile() {
  const tile = selfTile();
  if (!tile) return;
  const track = localTrack('video');
  const v = tile.querySelector('video');
  const cur = v.srcObject?.getVideoTracks?.()[0] ?? null;
  if (cur !== track) v.srcObject = track ? new MediaStream([track]) : null;
  if (track) v.play().catch(() => {});
  const micOff = !(S.micOn && localTrack('audio'));
  tile.classList.toggle('has-video', !!track);
  tile.dataset.videoMuted = String(!track);
  tile.dataset.audioMuted = String(micOff);
  tile.dataset.role = S.role ?? 'official';
  tile.querySelector('.mic-state').title = t('tile.micMuted');
  tile.querySelector('.tile-name').textContent = `${t('meeting.you')} · ${S.name}`;
  tile.querySelector('.tile-unit').textContent = unitLine(S.role, S.unit);
  const avatar = tile.querySelector('.avatar');
  avatar.textContent = initials(S.name);
  avatar.style.background = avatarColour(S.name);
}

/** "Chủ trì · Tỉnh Thái Nguyên" for the chair, the unit's name for everyone else. */
function unitLine(role, unit) {
  const name = unit?.name ?? '';
  return role === 'chair' ? [t('meeting.chairTag'), name].filter(Boolean).join(' · ') : name;
}

// ------------------------------------------------------------------ remote participants

let joinOrder = 0;

export function addRemote(p) {
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

export function removeRemote(id) {
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

export function clearRemotes() {
  for (const id of [...S.remotes.keys()]) removeRemote(id);
  for (const a of $('audio-sink').querySelectorAll('audio')) a.remove();
  $('audio-unlock').hidden = true;
}

export function renderRemote(r) {
  const { p, tile } = r;
  const hasVideo = !!r.videoTrack && !p.video_muted && !r.videoTrack.muted && r.videoTrack.readyState === 'live';
  tile.classList.toggle('has-video', hasVideo);
  tile.dataset.audioMuted = String(!!p.audio_muted);
  tile.dataset.videoMuted = String(!!p.video_muted);
  tile.dataset.role = p.role ?? 'official';
  tile.querySelector('.mic-state').title = t('tile.micMuted');
  const name = p.name || t('meeting.guest');
  tile.querySelector('.tile-name').textContent = name;
  tile.querySelector('.tile-unit').textContent = unitLine(p.role, p.unit);
  tile.title = p.unit?.name ? `${name} — ${p.unit.name}` : name;
  r.avatar.textContent = initials(name);
  r.avatar.style.background = avatarColour(p.id);
}

export function setRemoteMuted(participantId, kind, muted) {
  const r = S.remotes.get(participantId);
  if (!r) return;
  r.p[`${kind}_muted`] = muted;
  renderRemote(r);
}

export function setSpeaking(participantId, speaking, self) {
  const tile = self ? selfTile() : S.remotes.get(participantId)?.tile;
  if (!tile) return;
  tile.classList.toggle('speaking', speaking);
  tile.dataset.speaking = String(speaking);
}

export function attachTrack({ participantId, kind, track }) {
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

export function detachTrack({ participantId, kind, track }) {
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

// ------------------------------------------------------------------ layout and chrome

/** Sizes the grid for the tiles in the stage; one remote participant → you in a corner. */
export function layout() {
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

export function renderStageNotice() {
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

export function renderMeetingHeader() {
  const title = meetingTitle();
  $('meeting-room').textContent = title;
  $('meeting-sub').textContent = [S.name, S.unit?.name].filter(Boolean).join(' — ');
  const pill = $('role-pill');
  pill.hidden = S.role !== 'chair';
  pill.textContent = t('role.chair');
  const count = S.remotes.size + 1;
  $('participant-count-text').textContent = t('meeting.participants', { count });
  $('participant-count-num').textContent = String(count);
  $('participant-count').title = t('meeting.participants', { count });
  $('participant-count').dataset.count = String(count);
  if (S.view === 'meeting' && title) document.title = `${title} — ${t('app.name')}`;
}

export function renderStatus() {
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

export function renderControls() {
  const hasMic = !!localTrack('audio');
  const hasCam = !!localTrack('video');
  setToggle($('toggle-mic'), !(S.micOn && hasMic), 'mic', 'micOff',
    t('control.micOff'), hasMic || !S.micError ? t('control.micOn') : t('control.noMic'), S.busy.audio);
  setToggle($('toggle-camera'), !(S.camOn && hasCam), 'camera', 'cameraOff',
    t('control.cameraOff'), t('control.cameraOn'), S.busy.video);
}

/** Everything on the meeting view that carries text (after a language change). */
export function renderStage() {
  renderControls();
  renderSelfTile();
  for (const r of S.remotes.values()) renderRemote(r);
  renderMeetingHeader();
  renderStatus();
  renderStageNotice();
}

export function initStage() {
  $('toggle-mic').addEventListener('click', () => setMic(!(S.micOn && localTrack('audio'))));
  $('toggle-camera').addEventListener('click', () => setCamera(!(S.camOn && localTrack('video'))));
  $('audio-unlock').addEventListener('click', () => {
    $('audio-unlock').hidden = true;
    for (const a of $('audio-sink').querySelectorAll('audio')) playAudio(a);
  });
  new ResizeObserver(() => layout()).observe($('stage'));
  on('media', () => {
    renderControls();
    renderSelfTile();
  });
  on('view', (view) => { if (view === 'meeting') layout(); });
}

