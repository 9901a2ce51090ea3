// Sharing your screen from the meeting page: the control bar's button (for the chair, or
// whoever has the floor, where the browser can capture a screen), the browser's screen
// picker, and what the page says when a share starts, is refused (`forbidden`, `share_busy`),
// or ends — by you, from the browser's own "stop sharing", by the chair, or because your
// floor ended. The presentation layout is meeting/stage.js's; the chair's "stop this share"
// and "allow a second share" are in meeting/people.js.
//
// Test hooks: #share-screen (aria-pressed="true" and data-state="sharing" while you share;
// disabled, with a title that says why, while you may not share; hidden where the browser
// has no getDisplayMedia).

import { t, errorText } from '../i18n.js';
import { mayShareScreen, shareBusy } from '../protocol.js';
import { $, S, on, emit } from './state.js';
import { setToggle, toast } from './ui.js';

/**
 * What the page asks the browser for: a sharp picture at a low frame rate (protocol.md,
 * "Sharing a screen"); the client sends it as `h` and `f` at 5 fps.
 */
export const DISPLAY_CONSTRAINTS = Object.freeze({
  video: Object.freeze({ width: { ideal: 1920 }, height: { ideal: 1080 }, frameRate: { ideal: 5, max: 15 } }),
  audio: false,
});

const canCapture = () => typeof globalThis.navigator?.mediaDevices?.getDisplayMedia === 'function';

/** Why you may not start a share now ('notAllowed' | 'busy'), or null when you may. */
function refusal() {
  const ms = S.meetingState;
  if (!mayShareScreen(ms, S.selfId, S.role === 'chair')) return 'notAllowed';
  if (shareBusy(ms, S.selfId)) return 'busy';
  return null;
}

export function renderShareButton() {
  const btn = $('share-screen');
  btn.hidden = !canCapture();
  if (btn.hidden) return;
  const joined = S.client.state === 'joined';
  const sharing = S.client.sharingScreen;
  const why = sharing || !joined ? null : refusal();
  const disabled = S.choosingScreen || (!sharing && (!joined || why != null));
  setToggle(btn, sharing, 'screen', 'screenOff', t('screen.share'), t('screen.stop'), disabled);
  btn.dataset.state = sharing ? 'sharing' : 'idle';
  if (S.choosingScreen) {
    btn.title = t('screen.choosing');
  } else if (why) {
    // The label stays "Share screen"; the reason is in the tooltip and the accessible description.
    btn.title = t(`screen.${why}`);
  }
  btn.dataset.refusal = why ?? '';
  if (why) btn.setAttribute('aria-description', t(`screen.${why}`));
  else btn.removeAttribute('aria-description');
}

/** The button: stop your share, or pick a screen and share it. */
async function toggleShare() {
  const client = S.client;
  if (client.sharingScreen) {
    await client.stopScreenShare();
    renderShareButton();
    return;
  }
  if (S.choosingScreen || client.state !== 'joined') return;
  S.choosingScreen = true;
  renderShareButton();
  let track = null;
  try {
    const stream = await navigator.mediaDevices.getDisplayMedia(DISPLAY_CONSTRAINTS);
    for (const a of stream.getAudioTracks()) a.stop();
    track = stream.getVideoTracks()[0] ?? null;
  } catch (err) {
    // Cancelled in the picker: nothing to say. Anything else: say what failed.
    if (err?.name !== 'NotAllowedError' && err?.name !== 'AbortError') {
      toast(t('screen.failed', { error: err?.name ?? String(err) }), 'error');
    }
  } finally {
    S.choosingScreen = false;
  }
  if (!track || client !== S.client || client.state !== 'joined') {
    track?.stop();
    renderShareButton();
    return;
  }
  try {
    await client.shareScreen(track);
  } catch (err) {
    track.stop();
    toast(t('screen.failed', { error: err?.code ?? err?.name ?? String(err) }), 'error');
  }
  renderShareButton();
  emit('screen-share', { sharing: client.sharingScreen, reason: 'asked', code: null });
}

/** The page's word on the client's `screen-share` events (the stage re-lays itself out). */
function announce({ sharing, reason, code }) {
  if (sharing && reason === 'started') {
    toast(t('screen.started'));
  } else if (!sharing && reason === 'refused') {
    const key = `screen.refused.${code}`;
    toast(code === 'forbidden' || code === 'share_busy' ? t(key) : errorText(code), 'error');
  } else if (!sharing && reason === 'hub') {
    const floorWent = S.role !== 'chair' && S.meetingState.floor !== S.selfId;
    toast(t(floorWent ? 'screen.stoppedFloor' : 'screen.stoppedByChair'));
  } else if (!sharing && reason === 'ended') {
    toast(t('screen.endedByBrowser'));
  } else if (!sharing && reason === 'self') {
    toast(t('screen.stoppedSelf'));
  }
}

export function initScreen() {
  $('share-screen').addEventListener('click', () => {
    toggleShare().catch((err) => console.warn('cau: screen share', err));
  });
  on('screen-share', (detail) => {
    if (detail.reason !== 'asked') announce(detail);
    renderShareButton();
  });
  on('meeting-state', renderShareButton);
  on('welcome', renderShareButton);
  on('view', renderShareButton);
}
