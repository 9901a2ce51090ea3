// The meeting on screen: the tiles (yours and the others', and shared screens), one <audio>
// per audio receive slot, the layout (grid, speaker or presentation, layout.js), the header
// and the mic / camera controls. Up to GRID_MAX participants everyone has a tile; beyond,
// those in a receive slot, the floor holder, the chairs and the dominant speaker. While a
// receive slot carries a shared screen (or you share yours) the stage is in the presentation
// layout: the screen large, the speaker beside it, the rest in a strip; your own screen is a
// small labelled preview. A screen can be pinned full screen (requestFullscreen where the
// browser allows, and in any case a tile that fills the window; Esc or its button leave).
// After each layout the tiles' pixel heights go to the hub in `receive` (debounced): the
// large height is the screen's while one is shown.
//
// Test hooks: #stage[data-layout=grid|speaker|presentation][data-pinned];
// .tile[data-screen-of=ID] (a shared screen: data-size, data-video-mid, data-layer,
// data-pinned, button.screen-pin, button.screen-exit); .tile[data-self-screen="true"] (your
// own screen's preview); .tile[data-participant-id] (data-audio-muted,
// data-video-muted, data-speaking, class `speaking`, data-size=large|side|small|grid, data-floor,
// data-dominant, data-hand, data-chair-muted, data-video-mid, .net-quality[data-quality]);
// .tile[data-self="true"]; #tiles-overflow ("+N"); #audio-sink audio[data-mid] with
// data-participant-id while it carries someone; #toggle-mic, #toggle-camera (aria-pressed and
// data-state="off" while off; data-chair-muted="true" while the chair's mute holds).

import { t, getLang } from '../i18n.js';
import { initials, avatarColour, makeTile, makeScreenTile } from '../tiles.js';
import { GRID_MAX, gridLayout, speakerLayout, presentationLayout } from '../layout.js';
import { isChairMuted } from '../protocol-rules.js';
import { $, S, on, emit, meetingTitle } from './state.js';
import { localTrack, setMic, setCamera } from './devices.js';
import { setToggle } from './ui.js';

/** The layout key of your own tile. */
export const SELF = '\u0000self';
/** The layout key of your own screen's preview, and of participant `id`'s shared screen. */
export const SELF_SCREEN = '\u0000self-screen';
const screenKey = (id) => `\u0000screen:${id}`;
const RECEIVE_DEBOUNCE_MS = 600;

let joinOrder = 0;
let renderQueued = false;
let receiveTimer = null;
const watched = new WeakSet(); // remote tracks whose mute/unmute re-render the stage
const audioSlots = new Map(); // mid → <audio>

// ------------------------------------------------------------------ the model

function remote(id) {
  return S.remotes.get(id) ?? null;
}

export function addRemote(p) {
  if (!p?.id || p.id === S.selfId) return;
  let r = S.remotes.get(p.id);
  if (!r) {
    r = {
      p: { ...p }, order: ++joinOrder, tile: null, video: null, avatar: null, shownTrack: null,
      videoTrack: null, videoMid: null, audioMid: null, speaking: false, quality: null,
      screenTrack: null, screenMid: null, screenTile: null, screenVideo: null, shownScreenTrack: null, screenAspect: null,
    };
    S.remotes.set(p.id, r);
  } else {
    r.p = { ...r.p, ...p };
  }
  scheduleRender();
  renderMeetingHeader();
  emit('roster');
}

export function removeRemote(id) {
  const r = S.remotes.get(id);
  if (!r) return;
  S.remotes.delete(id);
  dropTile(r);
  dropScreenTile(r);
  for (const a of audioSlots.values()) if (a.dataset.participantId === id) delete a.dataset.participantId;
  if (S.dominant === id) S.dominant = null;
  scheduleRender();
  renderMeetingHeader();
  emit('roster');
}

/** Everyone's tiles and every slot's <audio> go (the client closed; a rejoin starts afresh). */
export function clearRemotes() {
  for (const id of [...S.remotes.keys()]) removeRemote(id);
  for (const a of audioSlots.values()) {
    a.srcObject = null;
    a.remove();
  }
  audioSlots.clear();
  S.dominant = null;
  $('audio-unlock').hidden = true;
}

export function setRemoteMuted(participantId, kind, muted) {
  const r = remote(participantId);
  if (!r) return;
  r.p[`${kind}_muted`] = muted;
  scheduleRender();
  emit('roster');
}

export function setSpeaking(participantId, speaking, self) {
  if (self) S.selfSpeaking = speaking;
  else {
    const r = remote(participantId);
    if (!r) return;
    r.speaking = speaking;
  }
  const tile = self ? selfTile() : remote(participantId).tile;
  if (tile) {
    tile.classList.toggle('speaking', speaking);
    tile.dataset.speaking = String(speaking);
  }
}

export function setDominant(participantId) {
  S.dominant = participantId;
  scheduleRender();
}

/** Mute, unmute and end of a remote track re-render the stage. */
function watch(track) {
  if (!track || watched.has(track)) return;
  watched.add(track);
  for (const ev of ['mute', 'unmute', 'ended']) track.addEventListener(ev, scheduleRender);
}

/** A receive slot now carries `participantId`'s `kind` from `source` (protocol.js `track`). */
export function attachTrack({ participantId, kind, source, track, mid }) {
  if (!remote(participantId)) {
    // Media before its participant_joined: a tile now, the name follows.
    addRemote({ id: participantId, name: '', unit: null, audio_muted: false, video_muted: false });
  }
  const r = remote(participantId);
  if (!r) return;
  if (kind === 'video' && source === 'screen') {
    r.screenTrack = track;
    r.screenMid = mid;
    watch(track);
  } else if (kind === 'video') {
    r.videoTrack = track;
    r.videoMid = mid;
    watch(track);
  } else if (kind === 'audio') {
    r.audioMid = mid;
    const audio = audioFor(mid, track);
    audio.dataset.participantId = participantId;
  }
  scheduleRender();
}

/** That slot no longer carries `participantId`'s `kind` from `source` (protocol.js `track-removed`). */
export function detachTrack({ participantId, kind, source, mid }) {
  const r = remote(participantId);
  if (kind === 'audio') {
    const audio = audioSlots.get(mid);
    if (audio?.dataset.participantId === participantId) delete audio.dataset.participantId;
  }
  if (!r) return;
  if (kind === 'video' && source === 'screen') {
    if (r.screenMid === mid) {
      r.screenTrack = null;
      r.screenMid = null;
    }
  } else if (kind === 'video' && r.videoMid === mid) {
    r.videoTrack = null;
    r.videoMid = null;
  } else if (kind === 'audio' && r.audioMid === mid) {
    r.audioMid = null;
  }
  scheduleRender();
}

/** One <audio autoplay> per audio slot, playing whoever the slot carries. */
function audioFor(mid, track) {
  let audio = audioSlots.get(mid);
  if (!audio) {
    audio = document.createElement('audio');
    audio.autoplay = true;
    audio.dataset.mid = mid;
    audioSlots.set(mid, audio);
    $('audio-sink').append(audio);
  }
  if (track && audio.srcObject?.getAudioTracks?.()[0] !== track) {
    audio.srcObject = new MediaStream([track]);
    playAudio(audio);
  }
  return audio;
}

function playAudio(audio) {
  audio.play().catch((err) => {
    if (err?.name === 'NotAllowedError') $('audio-unlock').hidden = false;
  });
}

/** Network quality for a tile: `id` a participant id or SELF; q from netquality.js. */
export function setQuality(id, q) {
  if (id === SELF) S.selfQuality = q;
  else if (remote(id)) remote(id).quality = q;
  const tile = id === SELF ? selfTile() : remote(id)?.tile;
  if (tile) renderQuality(tile, q, id === SELF);
}

// ------------------------------------------------------------------ tiles

export function selfTile() {
  return document.querySelector('.tile[data-self="true"]');
}

export function ensureSelfTile() {
  if (selfTile()) return;
  const { tile } = makeTile({ self: true });
  $('tiles').append(tile);
  renderSelfTile();
  scheduleRender();
}

function dropTile(r) {
  if (!r.tile) return;
  r.video.srcObject = null;
  r.tile.remove();
  r.tile = r.video = r.avatar = r.shownTrack = null;
}

function ensureTile(r) {
  if (r.tile) return;
  const { tile, video, avatar } = makeTile({ id: r.p.id });
  Object.assign(r, { tile, video, avatar, shownTrack: null });
  $('tiles').append(tile);
}

function ensureScreenTile(r) {
  if (r.screenTile) return;
  const { tile, video } = makeScreenTile({ id: r.p.id });
  // The layout gives the screen its own shape once the picture's size is known.
  const measure = () => {
    const aspect = video.videoWidth > 0 && video.videoHeight > 0 ? video.videoWidth / video.videoHeight : null;
    if (aspect && Math.abs(aspect - (r.screenAspect ?? 0)) > 0.01) {
      r.screenAspect = aspect;
      scheduleRender();
    }
  };
  video.addEventListener('loadedmetadata', measure);
  video.addEventListener('resize', measure);
  Object.assign(r, { screenTile: tile, screenVideo: video, shownScreenTrack: null });
  $('tiles').append(tile);
}

function dropScreenTile(r) {
  if (!r.screenTile) return;
  if (S.pinnedScreen === r.p.id) unpinScreen({ focus: false });
  r.screenVideo.srcObject = null;
  r.screenTile.remove();
  r.screenTile = r.screenVideo = r.shownScreenTrack = null;
}

export function selfScreenTile() {
  return document.querySelector('.tile[data-self-screen="true"]');
}

/** "Màn hình của Lê Văn An (Phường Quán Triều)". */
function screenLabel(p) {
  const name = p.name || t('meeting.guest');
  return p.unit?.name ? t('screen.tileOf', { name, unit: p.unit.name }) : t('screen.tileOfNoUnit', { name });
}

function renderScreenTile(r) {
  const tile = r.screenTile;
  const track = r.screenTrack;
  const slot = r.screenMid != null ? S.client.slots.get(r.screenMid) : null;
  const flowing = !!track && track.readyState === 'live' && !track.muted && !!slot && slot.layer != null;
  if (track && r.shownScreenTrack !== track) {
    r.screenVideo.srcObject = new MediaStream([track]);
    r.shownScreenTrack = track;
    r.screenVideo.play().catch(() => {});
  } else if (!track && r.shownScreenTrack) {
    r.screenVideo.srcObject = null;
    r.shownScreenTrack = null;
  }
  tile.classList.toggle('has-video', flowing);
  tile.dataset.videoMid = r.screenMid ?? '';
  tile.dataset.layer = slot?.layer ?? '';
  const label = screenLabel(r.p);
  tile.querySelector('.tile-name').textContent = label;
  tile.title = label;
  tile.setAttribute('role', 'group');
  tile.setAttribute('aria-label', label);
  tile.querySelector('.screen-waiting').textContent = t('screen.waiting');
  const pinned = S.pinnedScreen === r.p.id;
  tile.dataset.pinned = String(pinned);
  tile.classList.toggle('screen-pinned', pinned);
  const pin = tile.querySelector('.screen-pin');
  pin.hidden = pinned;
  pin.title = t('screen.pin', { what: label });
  pin.setAttribute('aria-label', t('screen.pin', { what: label }));
  const exit = tile.querySelector('.screen-exit');
  exit.hidden = !pinned;
  exit.title = t('screen.exitFull');
  exit.setAttribute('aria-label', t('screen.exitFull'));
  exit.querySelector('.screen-exit-text').textContent = t('screen.exitFull');
}

/** Your own screen's preview while you share (small, labelled, never mirrored). */
function renderSelfScreenTile(tile) {
  const track = S.client.track('screen');
  const v = tile.querySelector('video');
  const cur = v.srcObject?.getVideoTracks?.()[0] ?? null;
  if (cur !== track) v.srcObject = track ? new MediaStream([track]) : null;
  if (track) v.play().catch(() => {});
  tile.classList.toggle('has-video', !!track && track.readyState === 'live');
  tile.querySelector('.tile-name').textContent = t('screen.yours');
  tile.title = t('screen.yours');
  tile.setAttribute('role', 'group');
  tile.setAttribute('aria-label', t('screen.yours'));
  tile.querySelector('.screen-waiting').textContent = t('screen.waiting');
}

// ------------------------------------------------------------------ a screen full screen

let fullscreenOn = false; // the browser's fullscreen is ours (a pinned screen)

/**
 * Shows participant `id`'s shared screen full screen: the browser's fullscreen where it
 * allows it, and in any case the tile filling the window (Esc or the exit button leave).
 */
export function pinScreen(id) {
  const r = remote(id);
  if (!r?.screenTile) return;
  S.pinnedScreen = id;
  const tile = r.screenTile;
  if (typeof tile.requestFullscreen === 'function' && !document.fullscreenElement) {
    tile.requestFullscreen().catch(() => { /* refused: the tile fills the window instead */ });
  }
  renderTiles();
  tile.querySelector('.screen-exit')?.focus();
}

export function unpinScreen({ focus = true } = {}) {
  const id = S.pinnedScreen;
  if (id == null) return;
  S.pinnedScreen = null;
  if (document.fullscreenElement && fullscreenOn) document.exitFullscreen?.().catch(() => {});
  fullscreenOn = false;
  scheduleRender();
  if (focus) queueMicrotask(() => remote(id)?.screenTile?.querySelector('.screen-pin')?.focus());
}

/** "Chủ trì · Tỉnh Thái Nguyên" for the chair, the unit's name for everyone else. */
export function unitLine(role, unit) {
  const name = unit?.name ?? '';
  return role === 'chair' ? [t('meeting.chairTag'), name].filter(Boolean).join(' · ') : name;
}

/** The badges and states a tile shows for participant `id` (yours too). */
function renderCommon(tile, id) {
  const ms = S.meetingState;
  const floor = ms.floor != null && ms.floor === id;
  const handAt = ms.hands.indexOf(id);
  tile.dataset.floor = String(floor);
  tile.classList.toggle('floor', floor);
  tile.dataset.hand = String(handAt >= 0);
  tile.dataset.dominant = String(S.dominant != null && S.dominant === id);
  tile.classList.toggle('dominant', S.dominant != null && S.dominant === id && !floor);
  const chairMuted = ['audio', 'video'].filter((k) => isChairMuted(ms, id, k));
  tile.dataset.chairMuted = chairMuted.join(' ');
  // Hidden badges keep no text: a tile's textContent is its name and unit (tests read it).
  const badgeFloor = tile.querySelector('.badge-floor');
  badgeFloor.hidden = !floor;
  badgeFloor.title = floor ? t('floor.hasFloor') : '';
  badgeFloor.querySelector('.badge-text').textContent = floor ? t('floor.hasFloor') : '';
  const badgeHand = tile.querySelector('.badge-hand');
  badgeHand.hidden = handAt < 0;
  badgeHand.title = handAt >= 0 ? t('floor.handAt', { n: handAt + 1 }) : '';
  badgeHand.querySelector('.badge-text').textContent = handAt >= 0 ? String(handAt + 1) : '';
  tile.querySelector('.mic-state').title = t(chairMuted.includes('audio') ? 'tile.micMutedByChair' : 'tile.micMuted');
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
  tile.querySelector('.tile-name').textContent = `${t('meeting.you')} · ${S.name}`;
  tile.querySelector('.tile-unit').textContent = unitLine(S.role, S.unit);
  const avatar = tile.querySelector('.avatar');
  avatar.textContent = initials(S.name);
  avatar.style.background = avatarColour(S.name);
  renderCommon(tile, S.selfId);
  tile.classList.toggle('speaking', S.selfSpeaking);
  tile.dataset.speaking = String(S.selfSpeaking);
  renderQuality(tile, S.selfQuality, true);
}

function renderRemoteTile(r) {
  const { p, tile } = r;
  const track = r.videoTrack;
  const slot = r.videoMid != null ? S.client.slots.get(r.videoMid) : null;
  const flowing = !!track && track.readyState === 'live' && !track.muted && !!slot && slot.layer != null;
  const hasVideo = flowing && !p.video_muted;
  if (hasVideo && r.shownTrack !== track) {
    r.video.srcObject = new MediaStream([track]);
    r.shownTrack = track;
    r.video.play().catch(() => {});
  } else if (!track && r.shownTrack) {
    r.video.srcObject = null;
    r.shownTrack = null;
  }
  tile.classList.toggle('has-video', hasVideo);
  tile.dataset.audioMuted = String(!!p.audio_muted);
  tile.dataset.videoMuted = String(!!p.video_muted);
  tile.dataset.videoMid = r.videoMid ?? '';
  tile.dataset.layer = slot?.layer ?? '';
  tile.dataset.role = p.role ?? 'official';
  tile.dataset.speaking = String(r.speaking);
  tile.classList.toggle('speaking', r.speaking);
  const name = p.name || t('meeting.guest');
  tile.querySelector('.tile-name').textContent = name;
  tile.querySelector('.tile-unit').textContent = unitLine(p.role, p.unit);
  tile.title = p.unit?.name ? `${name} — ${p.unit.name}` : name;
  r.avatar.textContent = initials(name);
  r.avatar.style.background = avatarColour(p.id);
  renderCommon(tile, p.id);
  renderQuality(tile, r.quality, false);
}

const pct = (x) => new Intl.NumberFormat(getLang() === 'vi' ? 'vi-VN' : 'en-GB', { style: 'percent', maximumFractionDigits: 1 }).format(x);
const num = (x) => new Intl.NumberFormat(getLang() === 'vi' ? 'vi-VN' : 'en-GB', { maximumFractionDigits: 0 }).format(x);

/** The bars and their tooltip: "Kết nối: tốt · mất gói 0,4 % · …". */
function renderQuality(tile, q, self) {
  const elq = tile.querySelector('.net-quality');
  const level = q?.level ?? 'unknown';
  elq.dataset.quality = level;
  const parts = [t(`quality.${level}`)];
  if (q) {
    if (q.rttMs != null) parts.push(t('quality.rtt', { ms: num(q.rttMs) }));
    if (q.loss != null) parts.push(t('quality.loss', { pct: pct(q.loss) }));
    if (q.jitterMs != null) parts.push(t('quality.jitter', { ms: num(q.jitterMs) }));
    if (q.fps != null && q.fps > 0) parts.push(t('quality.fps', { fps: num(q.fps) }));
    if (q.kbps != null) parts.push(t(self ? 'quality.sent' : 'quality.received', { kbps: num(q.kbps) }));
    if (q.limitation) parts.push(t(`quality.limited.${q.limitation}`));
  }
  const text = `${t(self ? 'quality.selfTitle' : 'quality.title')}: ${parts.join(' · ')}`;
  elq.title = text;
  elq.setAttribute('aria-label', text);
}

// ------------------------------------------------------------------ layout

/** The remote participants whose shared screen a receive slot carries, in the order they started. */
function sharers() {
  const order = S.meetingState.screens;
  const rank = (r) => (order.includes(r.p.id) ? order.indexOf(r.p.id) : order.length);
  return [...S.remotes.values()].filter((r) => r.screenMid != null && r.screenTrack)
    .sort((a, b) => rank(a) - rank(b) || a.order - b.order);
}

/** Whether the stage shows the presentation layout: a screen is received, or you share yours. */
export function presenting() {
  return sharers().length > 0 || S.client.sharingScreen;
}

/**
 * 'presentation' while a screen is shared; otherwise 'speaker' or 'grid': the setting, or by
 * itself (speaker beyond GRID_MAX or while someone has the floor).
 */
export function layoutMode() {
  if (presenting()) return 'presentation';
  const pref = S.settings.layout;
  if (pref === 'grid' || pref === 'speaker') return pref;
  return S.remotes.size + 1 > GRID_MAX || S.meetingState.floor ? 'speaker' : 'grid';
}

/** The remote participants on the stage, in the order they joined. */
function onStage() {
  const all = [...S.remotes.values()].sort((a, b) => a.order - b.order);
  if (all.length + 1 <= GRID_MAX) return all;
  const floor = S.meetingState.floor;
  return all.filter((r) => r.videoMid != null || r.audioMid != null || r.screenMid != null || r.p.id === floor ||
    r.p.role === 'chair' || r.p.id === S.dominant);
}

/** Who is shown beside the screens: the floor holder, else the dominant speaker, else a sharer, else a chair. */
function presentationSpeaker(visible, shown) {
  const ids = new Set(visible.map((r) => r.p.id));
  const floor = S.meetingState.floor;
  if (floor && ids.has(floor)) return floor;
  if (S.dominant && ids.has(S.dominant)) return S.dominant;
  const sharer = shown.find((r) => ids.has(r.p.id));
  if (sharer) return sharer.p.id;
  return visible.find((r) => r.p.role === 'chair')?.p.id ?? visible.find((r) => r.videoTrack)?.p.id ?? null;
}

/** Coalesces the changes of one burst of messages into one layout. */
export function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  queueMicrotask(() => {
    renderQueued = false;
    renderTiles();
  });
}

function renderTiles() {
  if (S.view !== 'meeting') return;
  const tilesEl = $('tiles');
  const stage = $('stage');
  const cs = getComputedStyle(stage);
  const W = stage.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
  const H = stage.clientHeight - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom);
  const gap = W < 500 ? 6 : 10;
  const mode = layoutMode();
  stage.dataset.layout = mode;
  const visible = onStage();
  const self = selfTile() ? SELF : null;
  const floor = S.meetingState.floor;
  let result;
  const selfScreen = S.client.sharingScreen && S.client.track('screen');
  const shown = mode === 'presentation' ? sharers().slice(0, 2) : [];
  if (mode === 'presentation') {
    const screens = shown.map((r) => screenKey(r.p.id));
    const speaker = presentationSpeaker(visible, shown);
    const thumbs = visible.map((r) => r.p.id).filter((id) => id !== speaker);
    if (selfScreen) thumbs.push(SELF_SCREEN);
    if (self) thumbs.push(SELF);
    const aspects = Object.fromEntries(shown.filter((r) => r.screenAspect).map((r) => [screenKey(r.p.id), r.screenAspect]));
    result = presentationLayout({ W, H, screens, speaker, thumbs, selfId: self, keep: [SELF_SCREEN], aspects, gap });
  } else if (mode === 'speaker') {
    const large = [];
    const floorR = visible.find((r) => r.p.id === floor);
    if (floorR) large.push(floorR.p.id);
    for (const r of visible) if (r.p.role === 'chair' && r.p.id !== floor) large.push(r.p.id);
    if (!large.length) {
      const dom = visible.find((r) => r.p.id === S.dominant) ?? visible.find((r) => r.videoTrack) ?? null;
      if (dom) large.push(dom.p.id);
    }
    const thumbs = visible.map((r) => r.p.id).filter((id) => !large.includes(id));
    if (self) thumbs.push(SELF);
    result = speakerLayout({ W, H, large, thumbs, selfId: self, spotlight: !!floorR, gap });
  } else {
    const rank = (r) => (r.p.id === floor ? 0 : r.p.role === 'chair' ? 1 : 2);
    const ids = [...visible].sort((a, b) => rank(a) - rank(b) || a.order - b.order).map((r) => r.p.id);
    if (self) ids.push(SELF);
    result = gridLayout({ W, H, ids, selfId: self, gap });
  }
  const { boxes } = result;
  const byScreenKey = new Map(shown.map((r) => [screenKey(r.p.id), r]));
  for (const r of S.remotes.values()) {
    if (boxes.has(r.p.id)) ensureTile(r);
    else dropTile(r);
    if (boxes.has(screenKey(r.p.id))) ensureScreenTile(r);
    else dropScreenTile(r);
  }
  let ownScreen = selfScreenTile();
  if (boxes.has(SELF_SCREEN) && !ownScreen) {
    ownScreen = makeScreenTile({ self: true }).tile;
    tilesEl.append(ownScreen);
  } else if (!boxes.has(SELF_SCREEN) && ownScreen) {
    ownScreen.querySelector('video').srcObject = null;
    ownScreen.remove();
    ownScreen = null;
  }
  for (const [id, box] of boxes) {
    const sharer = byScreenKey.get(id);
    const tile = id === SELF ? selfTile() : id === SELF_SCREEN ? ownScreen : sharer ? sharer.screenTile : remote(id)?.tile;
    if (!tile) continue;
    place(tile, box);
    if (id === SELF) renderSelfTile();
    else if (id === SELF_SCREEN) renderSelfScreenTile(tile);
    else if (sharer) renderScreenTile(sharer);
    else renderRemoteTile(remote(id));
  }
  if (S.pinnedScreen != null && !shown.some((r) => r.p.id === S.pinnedScreen)) unpinScreen({ focus: false });
  stage.dataset.pinned = String(S.pinnedScreen != null);
  const over = $('tiles-overflow');
  if (result.overflow) {
    place(over, result.overflow);
    over.querySelector('.overflow-count').textContent = `+${result.overflow.count}`;
    const label = t('stage.more', { count: result.overflow.count });
    over.title = label;
    over.setAttribute('aria-label', label);
    over.hidden = false;
  } else {
    over.hidden = true;
  }
  tilesEl.classList.toggle('empty', !boxes.size);
  renderStageNotice();
  // A screen pinned full screen is as tall as the window.
  const large = S.pinnedScreen != null ? Math.max(result.largeHeight, window.innerHeight) : result.largeHeight;
  scheduleReceive(large, result.smallHeight);
  emit('stage');
}

function place(node, box) {
  const s = node.style;
  if (node.classList.contains('screen-pinned')) {
    // Filling the window (position: fixed in the CSS); the box is where it goes back to.
    s.left = s.top = '0px';
    s.width = s.height = '100%';
    node.dataset.size = box.size;
    return;
  }
  s.left = `${Math.round(box.x)}px`;
  s.top = `${Math.round(box.y)}px`;
  s.width = `${Math.round(box.w)}px`;
  s.height = `${Math.round(box.h)}px`;
  if (node.classList.contains('tile')) {
    node.dataset.size = box.size;
    node.classList.toggle('pip', !!box.pip);
    node.classList.toggle('small', !box.pip && box.w < 220);
    node.classList.toggle('tiny', box.h < 100);
  }
}

/** Tells the hub the tiles' real heights (device pixels), once the layout has settled. */
function scheduleReceive(largeCss, smallCss) {
  if (!(largeCss > 0)) return;
  const dpr = Math.min(2, window.devicePixelRatio || 1);
  const large = Math.round(largeCss * dpr);
  const small = Math.round((smallCss || largeCss) * dpr);
  clearTimeout(receiveTimer);
  receiveTimer = setTimeout(() => {
    const sent = S.client.receivePrefs;
    const far = (a, b) => b == null || Math.abs(a - b) / b > 0.1;
    if (far(large, sent.large_height) || far(small, sent.small_height)) {
      S.client.setReceive({ largeHeight: large, smallHeight: small });
    }
  }, RECEIVE_DEBOUNCE_MS);
}

/** Sizes the stage again (the window or a side panel changed its size). */
export function layout() {
  scheduleRender();
}

export function renderStageNotice() {
  const notice = $('stage-notice');
  if (S.view === 'meeting' && !S.reconnecting && S.remotes.size === 0) {
    notice.textContent = t('meeting.waiting');
    notice.hidden = false;
  } else {
    notice.hidden = true;
  }
}

// ------------------------------------------------------------------ header and controls

export function renderMeetingHeader() {
  const title = meetingTitle();
  $('meeting-room').textContent = title;
  $('meeting-sub').textContent = [S.name, S.unit?.name].filter(Boolean).join(' — ');
  const pill = $('role-pill');
  pill.hidden = S.role !== 'chair';
  pill.textContent = t('role.chair');
  const lock = $('lock-pill');
  lock.hidden = !S.meetingState.locked;
  lock.title = t('chair.lockedPill');
  $('lock-pill-text').textContent = t('chair.lockedPill');
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
  const joined = S.client.state === 'joined';
  const micLocked = joined && !S.client.canUnmute('audio') && !(S.micOn && hasMic);
  const camLocked = joined && !S.client.canUnmute('video') && !(S.camOn && hasCam);
  const mic = $('toggle-mic');
  setToggle(mic, !(S.micOn && hasMic), 'mic', 'micOff',
    t('control.micOff'), micLocked ? t('floor.micLocked') : hasMic || !S.micError ? t('control.micOn') : t('control.noMic'), S.busy.audio);
  mic.dataset.chairMuted = String(micLocked);
  const cam = $('toggle-camera');
  setToggle(cam, !(S.camOn && hasCam), 'camera', 'cameraOff',
    t('control.cameraOff'), camLocked ? t('floor.cameraLocked') : t('control.cameraOn'), S.busy.video);
  cam.dataset.chairMuted = String(camLocked);
}

/** Everything on the meeting view that carries text (after a language change). */
export function renderStage() {
  renderControls();
  renderSelfTile();
  renderMeetingHeader();
  renderStatus();
  renderStageNotice();
  scheduleRender();
}

export function initStage() {
  $('toggle-mic').addEventListener('click', () => setMic(!(S.micOn && localTrack('audio'))));
  $('toggle-camera').addEventListener('click', () => setCamera(!(S.camOn && localTrack('video'))));
  $('audio-unlock').addEventListener('click', () => {
    $('audio-unlock').hidden = true;
    for (const a of $('audio-sink').querySelectorAll('audio')) playAudio(a);
  });
  $('tiles-overflow').addEventListener('click', () => emit('open-panel', 'people'));
  $('tiles').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-action]');
    if (b?.dataset.action === 'pin-screen') pinScreen(b.closest('.tile')?.dataset.screenOf);
    else if (b?.dataset.action === 'unpin-screen') unpinScreen();
  });
  // A double click on a shared screen pins it too, as in a video player.
  $('tiles').addEventListener('dblclick', (e) => {
    const tile = e.target.closest('.tile[data-screen-of]');
    if (!tile) return;
    if (S.pinnedScreen === tile.dataset.screenOf) unpinScreen();
    else pinScreen(tile.dataset.screenOf);
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && S.pinnedScreen != null) {
      e.preventDefault();
      unpinScreen();
    }
  });
  document.addEventListener('fullscreenchange', () => {
    if (document.fullscreenElement) fullscreenOn = true;
    else if (fullscreenOn) {
      // Left the browser's fullscreen (Esc, F11, its own UI): leave the pinned mode with it.
      fullscreenOn = false;
      unpinScreen();
    }
  });
  new ResizeObserver(() => scheduleRender()).observe($('stage'));
  on('media', () => {
    renderControls();
    renderSelfTile();
  });
  on('view', (view) => { if (view === 'meeting') scheduleRender(); });
  on('meeting-state', () => {
    renderControls();
    renderMeetingHeader();
    scheduleRender();
  });
  on('settings', () => scheduleRender());
  on('screen-share', () => scheduleRender());
}
