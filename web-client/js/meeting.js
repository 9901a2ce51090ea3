// The meeting page, opened from a join link: check the link, greet, test the devices, join,
// meet, leave. One page, so that the camera stream carries over from the pre-join test.
// Signalling and WebRTC live in protocol.js; this module starts the page, the parts are in
// js/meeting/ (state, devices, prejoin, stage, session, floor, chat, people, chair, settings,
// screen, quality, recording, errors, ui).
//
// URL: meeting.html?meeting=ID&token=TOKEN[&name=NAME][&autojoin=1][&lang=en]
//   token    the join token of the unit's link; left out, the page relies on a staff login
//            (session cookie) named as the meeting's chair_user
//   name     prefills the name field; with autojoin=1 the page joins without a click once
//            the devices have been tried (tests)
//
// Before anything else the page asks GET /api/join whether the link is good; a refused link
// shows the error view and never opens the camera or microphone.
//
// ---- Hooks for the automated browser tests (keep them stable) ----------------------------
//   document.body.dataset.view   'checking' | 'prejoin' | 'joining' | 'meeting' | 'left' | 'error'
//   #display-name                the name field on the pre-join screen
//   #greeting-title, #greeting-unit, #greeting-role[data-role=chair|official]  the greeting
//   #join                        pre-join Join button (?autojoin=1 joins without the click)
//   #toggle-mic, #toggle-camera  meeting controls; aria-pressed="true" (and data-state="off")
//                                when the microphone / camera is off; data-chair-muted="true"
//                                while the chair's mute keeps it off
//   #leave                       leave the meeting (→ view 'left'; #rejoin joins again)
//   #view-left[data-reason]      'left', 'meeting_ended' (the chair ended it) or 'removed'
//   #error-message[data-error-code]  the code behind the error view
//   #retry                       on the error view: try again (hidden for refusals)
//   #stage[data-layout]          'grid' | 'speaker' | 'presentation' (a shared screen large);
//                                data-pinned="true" while a screen is pinned full screen
//   #share-screen                share your screen / stop sharing (aria-pressed="true" while
//                                sharing; disabled unless chair or floor; meeting/screen.js)
//   .tile[data-screen-of=ID]     someone's shared screen (data-size, data-video-mid,
//                                data-pinned; button.screen-pin, button.screen-exit);
//                                .tile[data-self-screen="true"] the preview of your own
//   .tile[data-participant-id]   one per remote participant on the stage, with data-audio-muted,
//                                data-video-muted, data-speaking ("true"/"false"), the class
//                                `speaking` while the hub says they speak, data-size
//                                (large|small|grid), data-floor, data-dominant, data-hand,
//                                data-video-mid and .net-quality[data-quality] (meeting/stage.js)
//   .tile[data-self="true"]      your own preview tile (mirrored)
//   #audio-sink audio[data-mid]  one <audio autoplay> per audio receive slot; data-participant-id
//                                while it carries someone
//   #prejoin-mic, #prejoin-camera  pre-join toggles (aria-pressed="true" = will join with it off)
//   #camera-select, #mic-select  pre-join device pickers
//   #raise-hand, #floor-notice, #chair-mute-notice   (meeting/floor.js)
//   #toggle-chat, #chat-badge, #chat-log, #chat-to, #chat-input, #chat-send   (meeting/chat.js)
//   #toggle-people, #people-list, #hands-queue, #take-floor, #mute-all, #allow-unmute,
//   #lock-meeting, #allow-second-share, #remove-dialog, #remove-confirm; chairs:
//   button[data-action=stop-share] on a sharer's row   (meeting/people.js)
//   #toggle-settings, input[name=receive-mode], #weak-link, input[name=layout]   (meeting/settings.js)
//   #conn-banner, #reconnect-now  while the page rejoins by itself (meeting/session.js)
//   #recording-indicator[data-state=recording|stopped]  in the header, hidden when the meeting
//                                is not recorded; chairs: #recording-warning[data-reason],
//                                #recording-warning-close   (meeting/recording.js)
//   chair only: #toggle-roll-call, #roll-call (tr[data-unit-id][data-status]), #end-meeting,
//                #end-meeting-confirm (see meeting/chair.js and rollcall.js)
//   window.cau.client            the current CauClient (window.cau.client.pc is the live
//                                RTCPeerConnection, .slots the receive slots; a new client
//                                after rejoin/reconnect)
//   window.cau.lastError         the last error code shown, or null
// ------------------------------------------------------------------------------------------

import { t, applyI18n, bindLangSwitch, onLangChange, getLang } from './i18n.js';
import { hydrateIcons } from './icons.js';
import { $, S, MEETING_ID, AUTOJOIN, setView, homeHref } from './meeting/state.js';
import { initDevices, startMedia } from './meeting/devices.js';
import { checkLink, initPrejoin, renderGreeting, renderPrejoin } from './meeting/prejoin.js';
import { initStage, renderStage } from './meeting/stage.js';
import { initSession, requestJoin, rejoin, renderBanner } from './meeting/session.js';
import { initChair, renderChair } from './meeting/chair.js';
import { initFloor, renderFloor } from './meeting/floor.js';
import { initChat, renderChat } from './meeting/chat.js';
import { initPeople, renderPeople } from './meeting/people.js';
import { initSettings } from './meeting/settings.js';
import { initScreen, renderShareButton } from './meeting/screen.js';
import { initQuality } from './meeting/quality.js';
import { initRecording, renderRecording } from './meeting/recording.js';
import { showError, renderError, renderLeft } from './meeting/errors.js';

const MEDIA_WAIT_MS = 5000;

function renderAll() {
  applyI18n();
  renderGreeting();
  renderPrejoin();
  renderStage();
  renderChair();
  renderFloor();
  renderChat();
  renderPeople();
  renderShareButton();
  renderBanner();
  renderRecording();
  if (S.view === 'error') renderError();
  if (S.view === 'left') renderLeft();
  if (S.view !== 'meeting') document.title = t('meeting.pageTitle');
  for (const a of document.querySelectorAll('a.home-link, #brand-link')) a.href = homeHref(getLang());
}

/** Checks the link, then shows the greeting and tests the devices; joins if ?autojoin=1. */
async function prepare() {
  setView('checking');
  const result = await checkLink();
  if (result.error) {
    showError(result.error, { stage: 'check' });
    return;
  }
  S.info = result.info;
  S.role = result.info.role === 'chair' ? 'chair' : 'official';
  S.unit = result.info.unit;
  renderGreeting();
  renderPrejoin();
  setView('prejoin');
  // Join waits until the devices have been tried, or a few seconds if the browser's
  // permission prompt is left unanswered (tracks that arrive later are sent then).
  $('join').disabled = true;
  const media = startMedia().catch((err) => console.warn('cau: media', err));
  await Promise.race([media, new Promise((r) => setTimeout(r, MEDIA_WAIT_MS))]);
  $('join').disabled = false;
  if (AUTOJOIN && S.view === 'prejoin') requestJoin();
}

function main() {
  hydrateIcons();
  bindLangSwitch($('lang-switch'));
  bindLangSwitch($('lang-switch-meeting'));
  initDevices();
  initPrejoin();
  initStage();
  initSession();
  initChair();
  initFloor();
  initChat();
  initPeople();
  initSettings();
  initScreen();
  initQuality();
  initRecording();
  $('retry').addEventListener('click', () => (S.errorStage === 'check' ? prepare() : rejoin()));
  onLangChange(renderAll);
  renderAll();
  if (MEETING_ID == null) {
    showError('missing_params', { stage: 'check' });
    return;
  }
  prepare();
}

main();
