// The participant list (unit, mic and camera, raised hand, the floor, a shared screen) and,
// for chairs, the moderation: the queue of hands with "give the floor", taking it back, muting
// one (audio or video) or all, allowing self-unmute, removing (after a confirmation), locking,
// stopping someone's screen share and allowing a second share at once. Rows are updated in
// place, so keyboard focus survives the many updates of a large meeting.
//
// Test hooks: #toggle-people (#people-badge: hands raised, chairs only), #people-panel,
// #people-list li.person[data-participant-id] (data-self, data-role, data-floor, data-hand,
// data-sharing, data-audio-muted, data-video-muted, data-chair-muted; chairs:
// button[data-action=floor|stop-share|mute-audio|mute-video|remove], stop-share shown on a
// sharer's row only); #floor-now, #take-floor; #hands-queue li[data-participant-id]
// button[data-action=floor]; #mute-all, #allow-unmute, #lock-meeting, #allow-second-share;
// #remove-dialog, #remove-confirm, #remove-cancel; #people-search.

import { t } from '../i18n.js';
import { icon } from '../icons.js';
import { fold } from '../fold.js';
import { isChairMuted } from '../protocol-rules.js';
import { el, initials, avatarColour } from '../tiles.js';
import { $, S, on } from './state.js';
import { micIsOn, camIsOn } from './devices.js';
import { setPanel, togglePanel, closeOnEscape, openDialog, closeDialog, toast } from './ui.js';

const rows = new Map(); // participant id → <li>
let queued = null;
let removing = null; // {id, name}
const collator = new Intl.Collator('vi', { sensitivity: 'base', numeric: true });

const isChair = () => S.role === 'chair';

/** Everyone as the list shows them, you first. */
function people() {
  const ms = S.meetingState;
  const list = [];
  if (S.selfId) {
    list.push({
      id: S.selfId, self: true, name: S.name, unit: S.unit, role: S.role ?? 'official',
      audioMuted: !micIsOn(), videoMuted: !camIsOn(), order: -1,
    });
  }
  for (const r of S.remotes.values()) {
    list.push({
      id: r.p.id, self: false, name: r.p.name || t('meeting.guest'), unit: r.p.unit, role: r.p.role ?? 'official',
      audioMuted: !!r.p.audio_muted, videoMuted: !!r.p.video_muted, order: r.order,
    });
  }
  for (const p of list) {
    p.floor = ms.floor != null && ms.floor === p.id;
    p.hand = ms.hands.indexOf(p.id);
    p.sharing = ms.screens.includes(p.id);
    p.chairMuted = ['audio', 'video'].filter((k) => isChairMuted(ms, p.id, k));
  }
  const rank = (p) => (p.self ? 0 : p.floor ? 1 : p.role === 'chair' ? 2 : p.hand >= 0 ? 3 : 4);
  return list.sort((a, b) => rank(a) - rank(b) ||
    (a.hand >= 0 && b.hand >= 0 ? a.hand - b.hand : 0) ||
    collator.compare(a.unit?.name ?? '', b.unit?.name ?? '') ||
    collator.compare(a.name, b.name) || a.order - b.order);
}

function actionButton(action) {
  const b = el('button', `person-action action-${action}`);
  b.type = 'button';
  b.dataset.action = action;
  return b;
}

function setButton(b, iconName, label, disabled = false) {
  if (b.dataset.icon !== iconName) {
    b.innerHTML = icon(iconName);
    b.dataset.icon = iconName;
  }
  b.title = label;
  b.setAttribute('aria-label', label);
  b.disabled = disabled;
}

function newRow(id) {
  const li = el('li', 'person');
  li.dataset.participantId = id;
  const avatar = el('span', 'avatar person-avatar');
  avatar.setAttribute('aria-hidden', 'true');
  const main = el('div', 'person-main');
  main.append(el('span', 'person-name'), el('span', 'person-unit'));
  const state = el('span', 'person-state');
  for (const cls of ['st-floor', 'st-screen', 'st-hand', 'st-mic', 'st-cam']) state.append(el('span', `st ${cls}`));
  const actions = el('div', 'person-actions');
  actions.append(actionButton('floor'), actionButton('stop-share'), actionButton('mute-audio'), actionButton('mute-video'), actionButton('remove'));
  li.append(avatar, main, state, actions);
  return li;
}

function stateIcon(node, iconName, label, on) {
  node.hidden = !on;
  if (!on) return;
  if (node.dataset.icon !== iconName) {
    node.innerHTML = icon(iconName);
    node.dataset.icon = iconName;
  }
  node.title = label;
  node.setAttribute('role', 'img');
  node.setAttribute('aria-label', label);
}

function renderRow(li, p) {
  li.dataset.self = String(p.self);
  li.dataset.role = p.role;
  li.dataset.floor = String(p.floor);
  li.dataset.sharing = String(p.sharing);
  li.dataset.hand = p.hand >= 0 ? String(p.hand + 1) : '';
  li.dataset.audioMuted = String(p.audioMuted);
  li.dataset.videoMuted = String(p.videoMuted);
  li.dataset.chairMuted = p.chairMuted.join(' ');
  const avatar = li.querySelector('.person-avatar');
  avatar.textContent = initials(p.name);
  avatar.style.background = avatarColour(p.self ? p.name : p.id);
  const name = li.querySelector('.person-name');
  name.textContent = p.self ? `${p.name} (${t('meeting.you')})` : p.name;
  const unit = [p.role === 'chair' ? t('meeting.chairTag') : null, p.unit?.name].filter(Boolean).join(' · ');
  li.querySelector('.person-unit').textContent = unit;
  stateIcon(li.querySelector('.st-floor'), 'floor', t('floor.hasFloor'), p.floor);
  stateIcon(li.querySelector('.st-screen'), 'screen', t('people.sharing'), p.sharing);
  const hand = li.querySelector('.st-hand');
  stateIcon(hand, 'hand', t('floor.handAt', { n: p.hand + 1 }), p.hand >= 0);
  if (p.hand >= 0) hand.dataset.n = String(p.hand + 1);
  const micLabel = p.chairMuted.includes('audio') ? t('tile.micMutedByChair') : p.audioMuted ? t('tile.micMuted') : t('people.micOn');
  stateIcon(li.querySelector('.st-mic'), p.audioMuted ? 'micOff' : 'mic', micLabel, true);
  const camLabel = p.chairMuted.includes('video') ? t('people.cameraOffByChair') : p.videoMuted ? t('people.cameraOff') : t('people.cameraOn');
  stateIcon(li.querySelector('.st-cam'), p.videoMuted ? 'cameraOff' : 'camera', camLabel, true);

  const actions = li.querySelector('.person-actions');
  const moderated = isChair() && !p.self && p.role !== 'chair';
  // A chair may stop anyone's share but its own (that is the control bar's button).
  const stoppable = isChair() && !p.self && p.sharing;
  actions.hidden = !moderated && !stoppable;
  const who = { name: p.name };
  const button = (action) => actions.querySelector(`[data-action="${action}"]`);
  const stopB = button('stop-share');
  stopB.hidden = !stoppable;
  if (stoppable) setButton(stopB, 'screenOff', t('chair.stopShareOf', who));
  for (const action of ['floor', 'mute-audio', 'mute-video', 'remove']) button(action).hidden = !moderated;
  if (!moderated) return;
  const [floorB, micB, camB, removeB] = ['floor', 'mute-audio', 'mute-video', 'remove'].map(button);
  if (p.floor) setButton(floorB, 'close', t('chair.takeFloorOf', who));
  else setButton(floorB, 'floor', t('chair.giveFloorTo', who));
  setButton(micB, 'micOff', p.chairMuted.includes('audio') ? t('chair.micMutedAlready', who) : t('chair.muteMic', who), p.chairMuted.includes('audio'));
  setButton(camB, 'cameraOff', p.chairMuted.includes('video') ? t('chair.cameraOffAlready', who) : t('chair.muteCamera', who), p.chairMuted.includes('video'));
  setButton(removeB, 'remove', t('chair.removeWho', who));
}

function renderList() {
  const list = $('people-list');
  const all = people();
  const q = fold($('people-search').value);
  const shown = q ? all.filter((p) => fold(`${p.name} ${p.unit?.name ?? ''}`).includes(q)) : all;
  const keep = new Set(shown.map((p) => p.id));
  for (const [id, li] of rows) {
    if (!keep.has(id)) {
      li.remove();
      rows.delete(id);
    }
  }
  let prev = null;
  for (const p of shown) {
    let li = rows.get(p.id);
    if (!li) {
      li = newRow(p.id);
      rows.set(p.id, li);
    }
    renderRow(li, p);
    // Move only what is out of place: a focused button keeps its focus.
    const want = prev ? prev.nextElementSibling : list.firstElementChild;
    if (want !== li) list.insertBefore(li, want);
    prev = li;
  }
  $('people-empty').hidden = shown.length > 0 || !q;
  $('people-title').textContent = t('people.title', { count: all.length });
  $('people-list-title').textContent = t('people.listTitle');
  return all;
}

function renderHands(all) {
  const section = $('hands-section');
  const hands = S.meetingState.hands;
  section.hidden = !isChair() || !hands.length;
  if (section.hidden) {
    $('hands-queue').replaceChildren();
    return;
  }
  $('hands-title').textContent = t('chair.handsTitle', { count: hands.length });
  const byId = new Map(all.map((p) => [p.id, p]));
  const ol = $('hands-queue');
  const items = hands.map((id, i) => {
    const p = byId.get(id);
    const li = el('li', 'hand-item');
    li.dataset.participantId = id;
    const text = el('span', 'hand-who');
    text.append(el('span', 'hand-n', `${i + 1}.`), el('span', 'hand-name', p?.name ?? t('meeting.guest')));
    if (p?.unit?.name) text.append(el('span', 'hand-unit', p.unit.name));
    const give = el('button', 'btn btn-small btn-primary', t('chair.giveFloor'));
    give.type = 'button';
    give.dataset.action = 'floor';
    give.setAttribute('aria-label', t('chair.giveFloorTo', { name: p?.name ?? '' }));
    li.append(text, give);
    return li;
  });
  // Keep the focused button when the queue is unchanged.
  const same = ol.children.length === items.length &&
    [...ol.children].every((li, i) => li.dataset.participantId === items[i].dataset.participantId &&
      li.textContent === items[i].textContent);
  if (!same) ol.replaceChildren(...items);
}

function renderFloorNow(all) {
  const floor = S.meetingState.floor;
  const box = $('floor-now');
  box.hidden = !floor;
  if (!floor) return;
  const p = all.find((x) => x.id === floor);
  const who = p ? [p.self ? t('meeting.you') : p.name, p.unit?.name].filter(Boolean).join(' — ') : t('meeting.guest');
  $('floor-now-text').textContent = t('people.floorNow', { who });
  $('take-floor').hidden = !isChair();
}

function renderChairTools() {
  const chair = isChair();
  $('chair-tools').hidden = !chair;
  if (!chair) return;
  $('allow-unmute').checked = S.meetingState.selfUnmute;
  $('lock-meeting').checked = S.meetingState.locked;
  $('allow-second-share').checked = S.meetingState.secondShare;
}

function renderBadge() {
  const n = isChair() ? S.meetingState.hands.length : 0;
  $('people-badge').textContent = n ? String(n) : '';
  const btn = $('toggle-people');
  const label = n ? t('people.buttonHands', { count: n }) : t('control.people');
  btn.title = label;
  btn.setAttribute('aria-label', label);
}

export function renderPeople() {
  renderBadge();
  if (S.panel !== 'people') return;
  const all = renderList();
  renderFloorNow(all);
  renderHands(all);
  renderChairTools();
}

/** Renders once after a burst of changes (a large meeting sends many). */
function schedule() {
  if (queued) return;
  queued = setTimeout(() => {
    queued = null;
    renderPeople();
  }, 60);
}

function participantName(id) {
  if (id === S.selfId) return S.name;
  return S.remotes.get(id)?.p.name || t('meeting.guest');
}

function act(action, id) {
  const c = S.client;
  let sent = true;
  if (action === 'floor') {
    sent = S.meetingState.floor === id ? c.takeFloor() : c.giveFloor(id);
  } else if (action === 'stop-share') {
    sent = c.stopShare(id);
    if (sent) toast(t('chair.stoppedShare', { name: participantName(id) }));
  } else if (action === 'mute-audio') {
    sent = c.muteParticipant(id, 'audio');
  } else if (action === 'mute-video') {
    sent = c.muteParticipant(id, 'video');
  } else if (action === 'remove') {
    removing = { id, name: participantName(id) };
    $('remove-title').textContent = t('chair.removeTitle', { name: removing.name });
    openDialog($('remove-dialog'));
    $('remove-cancel').focus();
    return;
  }
  if (!sent) toast(t('error.connection_lost'), 'error');
}

export function initPeople() {
  $('toggle-people').addEventListener('click', () => togglePanel('people'));
  $('people-close').addEventListener('click', () => setPanel(null, { focus: true }));
  closeOnEscape($('people-panel'), 'people');
  $('people-search').addEventListener('input', () => renderPeople());
  for (const list of [$('people-list'), $('hands-queue')]) {
    list.addEventListener('click', (e) => {
      const b = e.target.closest('button[data-action]');
      const id = b?.closest('li[data-participant-id]')?.dataset.participantId;
      if (b && id && isChair()) act(b.dataset.action, id);
    });
  }
  $('take-floor').addEventListener('click', () => { if (!S.client.takeFloor()) toast(t('error.connection_lost'), 'error'); });
  $('mute-all').addEventListener('click', () => {
    if (S.client.muteAll()) toast(t('chair.mutedAll'));
    else toast(t('error.connection_lost'), 'error');
  });
  $('allow-unmute').addEventListener('change', (e) => {
    if (!S.client.allowUnmute(e.target.checked)) e.target.checked = S.meetingState.selfUnmute;
  });
  $('lock-meeting').addEventListener('change', (e) => {
    if (!S.client.lock(e.target.checked)) e.target.checked = S.meetingState.locked;
  });
  $('allow-second-share').addEventListener('change', (e) => {
    if (!S.client.allowSecondShare(e.target.checked)) e.target.checked = S.meetingState.secondShare;
  });
  $('remove-cancel').addEventListener('click', () => {
    closeDialog($('remove-dialog'));
    removing = null;
  });
  $('remove-confirm').addEventListener('click', () => {
    closeDialog($('remove-dialog'));
    if (removing && !S.client.removeParticipant(removing.id)) toast(t('error.connection_lost'), 'error');
    removing = null;
  });
  on('roster', schedule);
  on('meeting-state', schedule);
  on('media', schedule);
  on('welcome', schedule);
  on('panel', (name) => { if (name === 'people') renderPeople(); });
  on('open-panel', (name) => setPanel(name, { focus: true }));
  on('error-toast', () => renderChairTools()); // a refused toggle shows the hub's state again
  on('view', (view) => { if (view !== 'meeting') closeDialog($('remove-dialog')); });
}
