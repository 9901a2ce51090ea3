// What the chair has on the meeting page besides the participant list (meeting/people.js):
// the roll call panel (the RollCall component fed by the websocket's `roll_call`) and ending
// the meeting for everyone (`end_meeting`, after a confirmation dialog), and under the roll
// call the meeting's record — notes and decisions — with the link to the printable record
// (meeting/record-panel.js).
//
// The roll call and the directory are loaded only for a chair (import()), so that the
// officials' page stays small.
//
// Test hooks: #toggle-roll-call (aria-expanded), the panel #roll-call (hidden when closed),
// its rows tr[data-unit-id][data-status]; #end-meeting, then #end-meeting-confirm or
// #end-meeting-cancel in the dialog #end-meeting-dialog.

import { t, errorText } from '../i18n.js';
import { $, S, on, load, store, meetingTitle } from './state.js';
import { toast, setPanel, togglePanel, closeOnEscape, openDialog, closeDialog } from './ui.js';

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
  directory ??= import('../directory.js').then(({ fetchDirectory }) => fetchDirectory()).then((dir) => {
    S.dir = dir;
    return dir;
  });
  return directory;
}

let recordPanel = null;
/** The chair's notes and decisions under the roll call, loaded the first time. */
function ensureRecordPanel() {
  recordPanel ??= import('./record-panel.js').then(({ RecordPanel }) => {
    const root = $('record-editor');
    root.hidden = false;
    return new RecordPanel(root);
  });
  return recordPanel;
}

let loading = null;
/** The RollCall component in the panel, loaded the first time a chair needs it. */
function ensureRollCall() {
  loading ??= import('../rollcall.js').then(({ RollCall }) => {
    rollCall = new RollCall($('roll-call-body'), { directory: getDirectory(), idPrefix: 'roll-call' });
    if (latest) rollCall.update(latest);
    return rollCall;
  });
  return loading;
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
    if (S.panel === 'roll-call') setPanel(null);
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
  $('end-meeting-body').textContent = t('chair.endBody', { title: meetingTitle() });
  openDialog($('end-meeting-dialog'));
  $('end-meeting-cancel').focus();
}

function closeEndDialog() {
  closeDialog($('end-meeting-dialog'));
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
  recordPanel?.then((p) => p.render());
  if (!$('end-meeting').disabled) resetEndButton();
  if ($('end-meeting-dialog').open) $('end-meeting-body').textContent = t('chair.endBody', { title: meetingTitle() });
}

export function initChair() {
  on('welcome', () => {
    renderChairControls();
    resetEndButton();
    if (isChair()) {
      getDirectory().catch(() => {});
      ensureRollCall().catch((err) => console.warn('cau: roll call', err));
      ensureRecordPanel().catch((err) => console.warn('cau: record', err));
      if (load('cau.rollCallOpen') === '1') setPanel('roll-call');
    }
  });
  on('panel', (name) => {
    if (name === 'roll-call') ensureRollCall().catch((err) => console.warn('cau: roll call', err));
    if (isChair()) store('cau.rollCallOpen', name === 'roll-call' ? '1' : '0');
  });
  on('roll-call', (rc) => {
    latest = rc;
    if (!isChair()) return;
    rollCall?.update(rc);
    renderBadge();
  });
  on('join-refused', (r) => {
    if (!isChair()) return;
    toast(t('chair.joinRefusedFull', { unit: r.unit?.name ?? r.name, name: r.name, max: r.maxEndpoints ?? '?' }), 'error');
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
  $('toggle-roll-call').addEventListener('click', () => togglePanel('roll-call'));
  $('roll-call-close').addEventListener('click', () => setPanel(null, { focus: true }));
  closeOnEscape($('roll-call'), 'roll-call');
  $('end-meeting').addEventListener('click', () => openEndDialog());
  $('end-meeting-cancel').addEventListener('click', () => closeEndDialog());
  $('end-meeting-confirm').addEventListener('click', () => confirmEnd());
}
