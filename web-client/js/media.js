// Local devices: opening the camera and microphone, naming what went wrong, listing
// devices, and a microphone level meter (WebAudio AnalyserNode). No page layout here.

/** Camera settings for a modest PC on a weak link (the hub forwards, it does not transcode). */
export const VIDEO_CONSTRAINTS = {
  width: { ideal: 640 },
  height: { ideal: 360 },
  frameRate: { ideal: 24, max: 30 },
};
export const AUDIO_CONSTRAINTS = {
  echoCancellation: true,
  noiseSuppression: true,
  autoGainControl: true,
};

/** Whether this page may use getUserMedia at all: 'ok', 'insecure' or 'unsupported'. */
export function mediaSupport() {
  if (navigator.mediaDevices?.getUserMedia) return 'ok';
  return window.isSecureContext === false ? 'insecure' : 'unsupported';
}

/**
 * The category of a getUserMedia failure: 'denied', 'notFound', 'busy', 'insecure',
 * 'unsupported' or 'other'.
 */
export function classifyMediaError(err) {
  switch (err?.name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
      return 'denied';
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return 'notFound';
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return 'busy';
    case 'Insecure':
      return 'insecure';
    case 'Unsupported':
      return 'unsupported';
    default:
      return 'other';
  }
}

function constraintsFor(kind, deviceId) {
  const base = kind === 'audio' ? AUDIO_CONSTRAINTS : VIDEO_CONSTRAINTS;
  return deviceId ? { ...base, deviceId: { exact: deviceId } } : { ...base };
}

/** Opens one device of `kind` ('audio'|'video'); falls back to any device if `deviceId` is gone. */
export async function openTrack(kind, deviceId = null) {
  const support = mediaSupport();
  if (support !== 'ok') {
    const e = new Error(support);
    e.name = support === 'insecure' ? 'Insecure' : 'Unsupported';
    throw e;
  }
  try {
    const s = await navigator.mediaDevices.getUserMedia({ [kind]: constraintsFor(kind, deviceId) });
    return s.getTracks()[0];
  } catch (err) {
    if (deviceId && (err.name === 'OverconstrainedError' || err.name === 'NotFoundError')) {
      const s = await navigator.mediaDevices.getUserMedia({ [kind]: constraintsFor(kind, null) });
      return s.getTracks()[0];
    }
    throw err;
  }
}

/**
 * Opens the microphone and/or camera with one permission prompt when possible.
 * Returns {audio: track|null, video: track|null, errors: {audio: Error|null, video: Error|null}}.
 */
export async function openDevices({ audio = true, video = true, audioDeviceId = null, videoDeviceId = null } = {}) {
  const out = { audio: null, video: null, errors: { audio: null, video: null } };
  if (!audio && !video) return out;
  const support = mediaSupport();
  if (support !== 'ok') {
    const e = new Error(support);
    e.name = support === 'insecure' ? 'Insecure' : 'Unsupported';
    if (audio) out.errors.audio = e;
    if (video) out.errors.video = e;
    return out;
  }
  if (audio && video) {
    try {
      const s = await navigator.mediaDevices.getUserMedia({
        audio: constraintsFor('audio', audioDeviceId),
        video: constraintsFor('video', videoDeviceId),
      });
      out.audio = s.getAudioTracks()[0] ?? null;
      out.video = s.getVideoTracks()[0] ?? null;
      if (out.audio && out.video) return out;
    } catch { /* find out which one failed, below */ }
  }
  // One at a time, so that a missing camera does not cost the microphone.
  if (audio && !out.audio) {
    try { out.audio = await openTrack('audio', audioDeviceId); } catch (err) { out.errors.audio = err; }
  }
  if (video && !out.video) {
    try { out.video = await openTrack('video', videoDeviceId); } catch (err) { out.errors.video = err; }
  }
  return out;
}

/** The input devices: {audio: MediaDeviceInfo[], video: MediaDeviceInfo[]}. */
export async function listDevices() {
  if (!navigator.mediaDevices?.enumerateDevices) return { audio: [], video: [] };
  const all = await navigator.mediaDevices.enumerateDevices();
  return {
    audio: all.filter((d) => d.kind === 'audioinput' && d.deviceId !== ''),
    video: all.filter((d) => d.kind === 'videoinput' && d.deviceId !== ''),
  };
}

/**
 * A level meter on an audio track: calls onLevel(0..1) about 20 times a second.
 * Returns {stop()}. The AudioContext is shared and resumed on the next user gesture if the
 * browser started it suspended.
 */
let sharedContext = null;
export function audioContext() {
  const AC = window.AudioContext || window.webkitAudioContext;
  if (!AC) return null;
  if (!sharedContext) {
    sharedContext = new AC();
    const resume = () => {
      if (sharedContext.state === 'suspended') sharedContext.resume().catch(() => {});
    };
    for (const ev of ['pointerdown', 'keydown']) document.addEventListener(ev, resume, { capture: true });
  }
  return sharedContext;
}

export function startLevelMeter(track, onLevel) {
  const ctx = audioContext();
  if (!ctx || !track) return { stop() {} };
  if (ctx.state === 'suspended') ctx.resume().catch(() => {});
  const source = ctx.createMediaStreamSource(new MediaStream([track]));
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 1024;
  analyser.smoothingTimeConstant = 0.3;
  source.connect(analyser);
  const buf = new Float32Array(analyser.fftSize);
  let smoothed = 0;
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(buf);
    let sum = 0;
    for (let i = 0; i < buf.length; i++) sum += buf[i] * buf[i];
    const rms = Math.sqrt(sum / buf.length);
    const db = rms > 0 ? 20 * Math.log10(rms) : -100;
    const level = Math.min(1, Math.max(0, (db + 60) / 50)); // -60 dBFS → 0, -10 dBFS → 1
    smoothed = level > smoothed ? level : smoothed * 0.8 + level * 0.2;
    onLevel(track.enabled ? smoothed : 0);
  }, 50);
  return {
    stop() {
      clearInterval(timer);
      try { source.disconnect(); } catch { /* already */ }
    },
  };
}
