// The floor as an official lives it: raising and lowering one's hand, being given the floor
// (and having it taken back), and being muted by the chair — a notice that says whether one
// may unmute oneself, and a kind word when the hub refuses.
//
// Test hooks: #raise-hand (aria-pressed="true" while the hand is up; hidden for chairs;
// #hand-badge shows the place in the queue); #floor-notice (shown while you have the floor;
// #floor-unmute turns the microphone on); #chair-mute-notice[data-kinds="audio video"]
// (shown while the chair's mute holds, data-may-unmute="true"|"false").

import { t } from '../i18n.js';
import { $, S, on } from './state.js';
import { setMic, micIsOn } from './devices.js';
import { toast } from './ui.js';

const KINDS = ['audio', 'video'];
let dismissed = ''; // the chair-mute notice closed by hand, for this state of it

function mutedKinds() {
  if (!S.selfId) return [];
  return KINDS.filter((k) => S.meetingState.chairMuted.some((m) => m.participantId === S.selfId && m.kind === k));
}

export function renderHand() {
  const btn = $('raise-hand');
  const chair = S.role === 'chair';
  btn.hidden = chair || S.client.state !== 'joined';
  const at = S.selfId ? S.meetingState.hands.indexOf(S.selfId) : -1;
  const raised = at >= 0;
  btn.setAttribute('aria-pressed', String(raised));
  btn.dataset.state = raised ? 'on' : 'off';
  const label = raised ? t('floor.lowerHand') : t('floor.raiseHand');
  $('raise-hand-label').textContent = label;
  const full = raised ? `${label} — ${t('floor.handAt', { n: at + 1 })}` : label;
  btn.title = full;
  btn.setAttribute('aria-label', full);
  $('hand-badge').textContent = raised ? String(at + 1) : '';
}

function renderFloorNotice() {
  const notice = $('floor-notice');
  const mine = S.selfId != null && S.meetingState.floor === S.selfId && S.view === 'meeting';
  notice.hidden = !mine;
  if (!mine) return;
  const micOff = !micIsOn();
  $('floor-notice-text').textContent = micOff ? t('floor.youHaveFloorMicOff') : t('floor.youHaveFloor');
  $('floor-unmute').hidden = !micOff;
}

function renderChairMuteNotice() {
  const notice = $('chair-mute-notice');
  const kinds = mutedKinds();
  const may = kinds.every((k) => S.client.canUnmute(k));
  const key = `${kinds.join(' ')}/${may}`;
  notice.hidden = !kinds.length || dismissed === key || S.view !== 'meeting';
  notice.dataset.kinds = kinds.join(' ');
  notice.dataset.mayUnmute = String(may);
  if (!kinds.length) {
    dismissed = '';
    return;
  }
  const what = kinds.length === 2 ? 'both' : kinds[0];
  $('chair-mute-text').textContent = `${t(`floor.mutedByChair.${what}`)} ${t(may ? 'floor.mayUnmute' : 'floor.mayNotUnmute')}`;
}

export function renderFloor() {
  renderHand();
  renderFloorNotice();
  renderChairMuteNotice();
}

export function initFloor() {
  $('raise-hand').addEventListener('click', () => {
    const raised = $('raise-hand').getAttribute('aria-pressed') === 'true';
    if (!S.client.raiseHand(!raised)) toast(t('error.connection_lost'), 'error');
  });
  $('floor-unmute').addEventListener('click', () => setMic(true));
  $('chair-mute-close').addEventListener('click', () => {
    dismissed = `${mutedKinds().join(' ')}/${mutedKinds().every((k) => S.client.canUnmute(k))}`;
    $('chair-mute-notice').hidden = true;
  });
  on('meeting-state', ({ state, previous }) => {
    const me = S.selfId;
    if (me && state.floor === me && previous.floor !== me) toast(t('floor.givenToYou'));
    else if (me && previous.floor === me && state.floor !== me) toast(t('floor.takenFromYou'));
    renderFloor();
  });
  on('muted-by-chair', () => {
    dismissed = ''; // the notice says it (a toast would say it twice)
    renderFloor();
  });
  on('media', () => renderFloorNotice());
  on('welcome', () => {
    dismissed = '';
    renderFloor();
  });
  on('view', () => renderFloor());
}
