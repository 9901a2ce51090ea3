// What the chair has on the meeting page: the roll call panel (the RollCall component fed by
// the websocket's `roll_call`) and ending the meeting for everyone (`end_meeting`, after a
// confirmation dialog).
//
// Test hooks: #toggle-roll-call (aria-expanded), the panel #roll-call (hidden when closed),
// its rows tr[data-unit-id][data-status]; #end-meeting, then #end-meeting-confirm or
// #end-meeting-cancel in the dialog #end-meeting-dialog.

import { t, errorText } from '../i18n.js';
import { fetchDirectory } from '../directory.js';
import { RollCall } from '../rollcall.js';
import { $, S, on, load, store, meetingTitle } from './state.js';
import { toast } from './ui.js';

const SVG = 'viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false"';
const ICON_ROLL_CALL = `<svg class="icon" ${SVG}><path d="M9 6h11M9 12h11M9 18h11"/><path d="M3.5 6l1.2 1.2L7 5M3.5 12l1.2 1.2L7 11"/><circle cx="5" cy="18" r="1.3"/></svg>`;
const ICON_END = `<svg class="icon" ${SVG}><rect x="5.5" y="5.5" width="13" height="13" rx="2.5" fill="currentColor"/></svg>`;
const END_REENABLE_MS = 10000;

let rollCall = null;
let directory = null;
let latest = null;
let endTimer = null;

function isChair() {
  return S.role === 'chair';
}

/** The directory for parent names, fetched once, only for a chair. */
function getDirectory() {
  directory ??= fetchDirectory().then((dir) => {
    S.dir = dir;
    return dir;
  });
  return directory;
}

function ensureRollCall() {
  if (rollCall) return rollCall;
  rollCall = new RollCall($('roll-call-body'), { directory: getDirectory(), idPrefix: 'roll-call' });
  if (latest) rollCall.update(latest);
  return rollCall;
}

function setPanel(open, { focus = false } = {}) {
  const panel = $('roll-call');
  const toggle = $('toggle-roll-call');
  if (open) ensureRollCall();
  panel.hidden = !open;
  toggle.setAttribute('aria-expanded', String(open));
  store('cau.rollCallOpen', open ? '1' : '0');
  if (focus) (open ? panel.querySelector('input, select, button') : toggle)?.focus();
}

function renderBadge() {
  const toggle = $('toggle-roll-call');
  const badge = $('roll-call-badge');
  if (!latest) {
    badge.textContent = '';
    toggle.title = t('control.rollCall');
    toggle.setAttribute('aria-label', t('control.rollCall'));
    return;
  }
  const counts = { connected: latest.connected, invited: latest.invited };
  badge.textContent = `${counts.connected}/${counts.invited}`;
  const label = t('control.rollCallCount', counts);
  toggle.title = label;
  toggle.setAttribute('aria-label', label);
}

/** Shows or hides the chair's controls for the role `welcome` gave. */
function renderChairControls() {
  const chair = isChair();
  $('toggle-roll-call').hidden = !chair;
  $('end-meeting').hidden = !chair;
  if (!chair) {
    $('roll-call').hidden = true;
    return;
  }
  $('toggle-roll-call-icon').innerHTML = ICON_ROLL_CALL;
  $('end-meeting-icon').innerHTML = ICON_END;
  const end = $('end-meeting');
  end.title = t('chair.endConfirm');
  end.setAttribute('aria-label', t('chair.endConfirm'));
  renderBadge();
}

// ------------------------------------------------------------------ ending the meeting

function openEndDialog() {
  const dialog = $('end-meeting-dialog');
  $('end-meeting-body').textContent = t('chair.endBody', { title: meetingTitle() });
  if (typeof dialog.showModal === 'function') dialog.showModal();
  else dialog.setAttribute('open', '');
  $('end-meeting-cancel').focus();
}

function closeEndDialog() {
  const dialog = $('end-meeting-dialog');
  if (dialog.open) {
    if (typeof dialog.close === 'function') dialog.close();
    else dialog.removeAttribute('open');
  }
}

function confirmEnd() {
  closeEndDialog();
  S.endedBySelf = true;
  if (!S.client.endMeeting()) {
    S.endedBySelf = false;
    toast(errorText('connection_lost'), 'error');
    return;
  }
  // Everyone, us included, now gets `bye` meeting_ended; the session module shows the end.
  const end = $('end-meeting');
  end.disabled = true;
  end.querySelector('.ctrl-label').textContent = t('chair.ending');
  clearTimeout(endTimer);
  endTimer = setTimeout(resetEndButton, END_REENABLE_MS);
}

function resetEndButton() {
  clearTimeout(endTimer);
  const end = $('end-meeting');
  end.disabled = false;
  end.querySelector('.ctrl-label').textContent = t('control.endMeeting');
}

// ------------------------------------------------------------------ wiring

export function renderChair() {
  renderChairControls();
  if (!$('end-meeting').disabled) resetEndButton();
  if ($('end-meeting-dialog').open) $('end-meeting-body').textContent = t('chair.endBody', { title: meetingTitle() });
}

export function initChair() {
  on('welcome', () => {
    renderChairControls();
    resetEndButton();
    if (isChair()) {
      getDirectory().catch(() => {});
      if (load('cau.rollCallOpen') === '1') setPanel(true);
    }
  });
  on('roll-call', (rc) => {
    latest = rc;
    if (!isChair()) return;
    rollCall?.update(rc);
    renderBadge();
  });
  on('error-toast', (code) => {
    if (code === 'forbidden') {
      S.endedBySelf = false;
      resetEndButton();
    }
  });
  on('view', (view) => {
    if (view !== 'meeting') closeEndDialog();
  });
  $('toggle-roll-call').addEventListener('click', () => setPanel($('roll-call').hidden));
  $('roll-call-close').addEventListener('click', () => setPanel(false, { focus: true }));
  $('roll-call').addEventListener('keydown', (e) => {
    // Escape in a search box with text clears it (the browser does); otherwise it closes.
    if (e.key !== 'Escape' || (e.target.type === 'search' && e.target.value)) return;
    setPanel(false, { focus: true });
  });
  $('end-meeting').addEventListener('click', () => openEndDialog());
  $('end-meeting-cancel').addEventListener('click', () => closeEndDialog());
  $('end-meeting-confirm').addEventListener('click', () => confirmEnd());
}
