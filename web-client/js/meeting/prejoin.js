// Before joining: checking the join link (GET /api/join), greeting the official with the
// meeting, the unit and the role the link gives, their name, and the device test (camera
// preview, microphone level, device pickers).

import { t, getLang } from '../i18n.js';
import { classifyMediaError, startLevelMeter } from '../media.js';
import { el, initials, avatarColour } from '../tiles.js';
import { $, S, MEETING_ID, TOKEN, NAME_MAX, on, load } from './state.js';
import { localTrack, mediaErrorText, setMic, setCamera, startMedia } from './devices.js';
import { setToggle } from './ui.js';

const TIME_ZONE = 'Asia/Ho_Chi_Minh';

/**
 * GET /api/join?meeting=ID&token=TOKEN (token left out for a staff chair: the session cookie
 * is sent). Resolves {info} — {meeting, unit, role} — or {error: CODE}; never rejects.
 */
export async function checkLink() {
  const q = new URLSearchParams({ meeting: String(MEETING_ID) });
  if (TOKEN) q.set('token', TOKEN);
  let res;
  try {
    res = await fetch(`/api/join?${q}`, {
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { Accept: 'application/json' },
    });
  } catch (err) {
    console.warn('cau: join check failed', err);
    return { error: 'connection_failed' };
  }
  let body = null;
  try {
    body = await res.json();
  } catch { /* not JSON */ }
  if (res.ok && body?.meeting && body?.unit) return { info: body };
  if (typeof body?.error === 'string' && body.error) {
    if (body.message) console.info(`cau: join refused: ${body.error}: ${body.message}`);
    return { error: body.error };
  }
  return { error: res.ok || res.status >= 500 ? 'internal' : `http_${res.status}` };
}

/** "09:00 – 11:00, Thứ Hai, 01/12/2025" in the province's time zone. */
export function formatRange(start, end) {
  const locale = getLang() === 'vi' ? 'vi-VN' : 'en-GB';
  const day = new Intl.DateTimeFormat(locale, { timeZone: TIME_ZONE, weekday: 'long', day: '2-digit', month: '2-digit', year: 'numeric' });
  const time = new Intl.DateTimeFormat(locale, { timeZone: TIME_ZONE, hour: '2-digit', minute: '2-digit', hour12: false });
  if (!Number.isFinite(start)) return '';
  if (!Number.isFinite(end)) return `${time.format(start)}, ${day.format(start)}`;
  if (day.format(start) === day.format(end)) return `${time.format(start)} – ${time.format(end)}, ${day.format(start)}`;
  return `${time.format(start)}, ${day.format(start)} – ${time.format(end)}, ${day.format(end)}`;
}

/** The greeting: meeting, time, unit, role, chair; from the join check (or welcome). */
export function renderGreeting() {
  const m = S.meeting ?? S.info?.meeting;
  if (!m) return;
  $('greeting-title').textContent = m.title ?? '';
  $('greeting-time').textContent = formatRange(m.start, m.end);
  $('greeting-unit').textContent = S.unit?.name ?? '';
  const role = S.role === 'chair' ? 'chair' : 'official';
  const badge = $('greeting-role');
  badge.textContent = t(`role.${role}`);
  badge.dataset.role = role;
  $('greeting-chair').textContent = m.chair_person ?? '';
  $('greeting-chair-row').hidden = !m.chair_person;
  $('greeting-live').hidden = (S.info?.meeting?.state ?? m.state) !== 'live';
  // Said before joining: the session will be recorded for the archive.
  $('greeting-recorded').hidden = !(S.info?.meeting?.recorded ?? m.recorded);
  const agenda = String(S.info?.meeting?.agenda ?? '').trim();
  $('greeting-agenda').hidden = !agenda;
  $('greeting-agenda-text').textContent = agenda;
}

// ------------------------------------------------------------------ the name

/** The name typed, checked as the hub checks it: {name} or {error: i18n key}. */
export function validateName(raw) {
  const name = String(raw ?? '').trim();
  if (!name) return { error: 'prejoin.nameRequired' };
  if ([...name].length > NAME_MAX) return { error: 'prejoin.nameTooLong' };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return { error: 'prejoin.nameInvalid' };
  return { name };
}

/** Takes the name from the field; shows what is wrong and focuses the field if anything is. */
export function takeName() {
  const input = $('display-name');
  const v = validateName(input.value);
  const err = $('name-error');
  if (v.error) {
    err.textContent = t(v.error);
    err.dataset.key = v.error;
    err.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    if (S.view === 'prejoin') input.focus();
    return null;
  }
  err.hidden = true;
  input.removeAttribute('aria-invalid');
  S.name = v.name;
  return v.name;
}

// ------------------------------------------------------------------ devices

let meterTrack = null;

function startMeter() {
  const track = localTrack('audio');
  if (S.meter && meterTrack === track) return;
  stopMeter();
  if (!track || S.view !== 'prejoin') return;
  const fill = $('meter-fill');
  const bar = fill.parentElement;
  meterTrack = track;
  S.meter = startLevelMeter(track, (level) => {
    fill.style.transform = `scaleX(${level.toFixed(3)})`;
    bar.setAttribute('aria-valuenow', String(Math.round(level * 100)));
  });
}

function stopMeter() {
  S.meter?.stop();
  S.meter = null;
  meterTrack = null;
  $('meter-fill').style.transform = 'scaleX(0)';
}

function renderPreviewVideo() {
  const track = localTrack('video');
  const v = $('preview-video');
  const cur = v.srcObject?.getVideoTracks?.()[0] ?? null;
  if (cur !== track) v.srcObject = track ? new MediaStream([track]) : null;
  if (track && S.view === 'prejoin') v.play().catch(() => {});
}

export function renderPrejoin() {
  const hasMic = !!localTrack('audio');
  const hasCam = !!localTrack('video');
  setToggle($('prejoin-mic'), !(S.micOn && hasMic), 'mic', 'micOff',
    t('control.micOff'), hasMic || !S.micError ? t('control.micOn') : t('control.noMic'), S.busy.audio);
  setToggle($('prejoin-camera'), !(S.camOn && hasCam), 'camera', 'cameraOff',
    t('control.cameraOff'), t('control.cameraOn'), S.busy.video);

  $('preview-placeholder').hidden = hasCam;
  const typed = $('display-name').value.trim();
  const avatar = $('preview-avatar');
  avatar.textContent = initials(typed);
  avatar.style.background = avatarColour(typed || '?');
  $('preview-status').textContent = S.busy.video ? t('prejoin.starting')
    : S.camError && !hasCam ? t('control.noCamera') : t('prejoin.cameraOff');

  $('mic-meter').classList.toggle('muted', !(S.micOn && hasMic));
  $('meter-text').textContent = !hasMic ? t('prejoin.noDevice') : S.micOn ? t('prejoin.levelHint') : t('prejoin.micIsOff');

  const err = $('name-error');
  if (!err.hidden && err.dataset.key) err.textContent = t(err.dataset.key);

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

export function initPrejoin() {
  const input = $('display-name');
  input.value = S.name || load('cau.name') || '';
  input.addEventListener('input', () => {
    $('name-error').hidden = true;
    input.removeAttribute('aria-invalid');
    renderPrejoin();
  });
  $('prejoin-mic').addEventListener('click', () => setMic(!(S.micOn && localTrack('audio'))));
  $('prejoin-camera').addEventListener('click', () => setCamera(!(S.camOn && localTrack('video'))));
  $('retry-media').addEventListener('click', async () => {
    S.camOn = true;
    await startMedia();
  });
  on('media', () => {
    renderPreviewVideo();
    renderPrejoin();
    if (S.view === 'prejoin') startMeter();
  });
  on('view', (view) => {
    if (view === 'prejoin') {
      renderPreviewVideo();
      startMeter();
    } else {
      stopMeter();
    }
  });
}
