// The meeting page's local media: which microphone and camera tracks we hold, turning them
// on and off, switching devices, and handing them to the client. Every change emits 'media'
// so that the previews, the tiles and the controls re-render themselves.

import { t } from '../i18n.js';
import { openDevices, openTrack, listDevices, classifyMediaError } from '../media.js';
import { $, S, emit, store } from './state.js';
import { toast } from './ui.js';

export function localTrack(kind) {
  return (kind === 'audio' ? S.stream.getAudioTracks() : S.stream.getVideoTracks())[0] ?? null;
}

export function setLocalTrack(kind, track) {
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
  // Joining or joined: the client sends what we have now (replaceTrack + `mute`).
  if (S.client.state === 'connecting' || S.client.state === 'joined') {
    S.client.setTrack(kind, track ?? null).catch((err) => console.warn('cau: setTrack', err));
  }
  emit('media');
}

function onLocalTrackEnded(kind, track) {
  if (localTrack(kind) !== track) return;
  S.stream.removeTrack(track);
  if (kind === 'video') S.camOn = false;
  if (S.client.state === 'joined') {
    S.client.setTrack(kind, null).catch(() => {});
    toast(t('media.ended', { device: t(kind === 'audio' ? 'device.microphone' : 'device.camera') }), 'error');
  }
  emit('media');
}

/** Opens what the pre-join screen needs (both devices, or the microphone with the camera off). */
export async function startMedia() {
  const got = await openDevices({
    audio: !localTrack('audio'),
    video: S.camOn && !localTrack('video'),
    audioDeviceId: S.audioDeviceId,
    videoDeviceId: S.videoDeviceId,
  });
  if (got.audio) setLocalTrack('audio', got.audio);
  if (got.video) setLocalTrack('video', got.video);
  S.micError = got.errors.audio;
  S.camError = got.errors.video;
  if (S.camError) S.camOn = false;
  await refreshDevices();
  emit('media');
}

/** Reopens what is missing before joining again (after leaving, the devices were released). */
export async function reopenMedia() {
  const want = { audio: !localTrack('audio'), video: S.camOn && !localTrack('video') };
  if (!want.audio && !want.video) return;
  const got = await openDevices({ ...want, audioDeviceId: S.audioDeviceId, videoDeviceId: S.videoDeviceId });
  if (got.audio) setLocalTrack('audio', got.audio);
  if (got.video) setLocalTrack('video', got.video);
  if (got.errors.video) S.camOn = false;
}

/** Releases the camera and microphone (their lights go off). */
export function stopLocalMedia() {
  for (const tr of S.stream.getTracks()) {
    tr.onended = null;
    tr.stop();
    S.stream.removeTrack(tr);
  }
  emit('media');
}

export async function refreshDevices() {
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
  emit('media');
  try {
    localTrack(kind)?.stop(); // some cameras cannot be opened twice
    const track = await openTrack(kind, deviceId);
    if (kind === 'audio') S.micError = null; else S.camError = null;
    setLocalTrack(kind, track);
  } catch (err) {
    if (kind === 'audio') S.micError = err; else S.camError = err;
    setLocalTrack(kind, null);
  } finally {
    S.busy[kind] = false;
    emit('media');
  }
}

/** Whether the chair's mute keeps `kind` off now; says so kindly if it does. */
function heldByChair(kind) {
  if (S.client.state !== 'joined' || S.client.canUnmute(kind)) return false;
  toast(t(kind === 'audio' ? 'floor.micLockedToast' : 'floor.cameraLockedToast'), 'error');
  emit('media');
  return true;
}

/**
 * The chair muted this microphone or turned this camera off (or the hub refused our
 * unmute): the page follows — the microphone shows off, the camera is released.
 */
export function followChairMute(kind) {
  if (kind === 'audio') {
    S.micOn = false;
    const tr = localTrack('audio');
    if (tr) tr.enabled = false;
  } else {
    S.camOn = false;
    const old = localTrack('video');
    if (old) {
      old.onended = null;
      old.stop();
      S.stream.removeTrack(old);
    }
  }
  emit('media');
}

export async function setCamera(on) {
  if (S.busy.video) return;
  if (on && heldByChair('video')) return;
  if (!on) {
    S.camOn = false;
    const old = localTrack('video');
    if (old) {
      old.onended = null;
      old.stop(); // the camera light goes off
      S.stream.removeTrack(old);
    }
    emit('media');
    if (S.client.state === 'joined') await S.client.setTrack('video', null);
  } else {
    S.busy.video = true;
    emit('media');
    try {
      const track = await openTrack('video', S.videoDeviceId);
      if (S.client.state === 'joined' && !S.client.canUnmute('video')) {
        track.stop(); // the chair turned the camera off while it was opening
        return;
      }
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
  emit('media');
}

export async function setMic(on) {
  if (S.busy.audio) return;
  if (on && heldByChair('audio')) return;
  if (on && !localTrack('audio')) {
    S.busy.audio = true;
    try {
      const track = await openTrack('audio', S.audioDeviceId);
      S.micError = null;
      S.busy.audio = false;
      setLocalTrack('audio', track);
      refreshDevices();
    } catch (err) {
      S.micError = err;
      S.busy.audio = false;
      if (S.view === 'meeting') toast(mediaErrorText('audio', err), 'error');
      emit('media');
      return;
    }
  }
  S.micOn = on;
  const tr = localTrack('audio');
  if (tr) tr.enabled = on;
  if (S.client.state === 'joined') {
    try {
      await S.client.setMuted('audio', !on);
    } catch (err) {
      if (err?.code !== 'muted_by_chair') throw err;
      followChairMute('audio');
      toast(t('floor.micLockedToast'), 'error');
    }
  }
  emit('media');
}

/** Whether the microphone / camera is on, as the buttons show it. */
export const micIsOn = () => S.micOn && !!localTrack('audio');
export const camIsOn = () => S.camOn && !!localTrack('video');

export function mediaErrorText(kind, err) {
  const device = t(kind === 'audio' ? 'device.microphone' : kind === 'video' ? 'device.camera' : 'device.both');
  const cat = classifyMediaError(err);
  if (cat === 'insecure') return t('media.insecure');
  if (cat === 'unsupported') return t('media.unsupported');
  if (cat === 'other') return t('media.other', { device, detail: err?.name || String(err) });
  return t(`media.${cat}`, { device });
}

export function initDevices() {
  $('camera-select').addEventListener('change', (e) => switchDevice('video', e.target.value));
  $('mic-select').addEventListener('change', (e) => switchDevice('audio', e.target.value));
  navigator.mediaDevices?.addEventListener?.('devicechange', () => refreshDevices());
}
