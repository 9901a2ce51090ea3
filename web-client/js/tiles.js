// Video tiles: the DOM of one tile (a participant's camera, or a shared screen) and initials
// avatars. Where tiles go is layout.js; who is in the room is the meeting page's state
// (meeting/state.js).

import { icon } from './icons.js';

export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

/** "Nguyễn Văn An" → "NA": first letters of the first and the last word. */
export function initials(name) {
  const words = String(name ?? '').trim().split(/\s+/).filter(Boolean);
  if (!words.length) return '?';
  const first = [...words[0]][0] ?? '';
  const last = words.length > 1 ? [...words[words.length - 1]][0] ?? '' : '';
  return (first + last).toUpperCase();
}

const AVATAR_COLOURS = ['#1d5bc4', '#0f766e', '#7c3aed', '#b45309', '#be123c', '#15803d', '#4338ca', '#0e7490'];

/** A stable colour for a participant's initials. */
export function avatarColour(key) {
  let h = 0;
  for (const ch of String(key)) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return AVATAR_COLOURS[h % AVATAR_COLOURS.length];
}

/**
 * A tile: <div class="tile" data-participant-id|data-self> with a muted <video> (sound
 * plays through a separate <audio>), an initials placeholder and a name label.
 * Returns {tile, video, avatar}.
 */
export function makeTile({ id, self }) {
  const tile = el('div', 'tile');
  if (self) tile.dataset.self = 'true';
  else tile.dataset.participantId = id;
  tile.dataset.audioMuted = 'false';
  tile.dataset.videoMuted = 'false';
  tile.dataset.speaking = 'false';
  const video = el('video');
  video.autoplay = true;
  video.muted = true; // sound goes through the <audio> element (remote) or nowhere (self)
  video.playsInline = true;
  video.setAttribute('playsinline', '');
  if (self) video.classList.add('mirror');
  const ph = el('div', 'tile-placeholder');
  const avatar = el('div', 'avatar');
  ph.append(avatar);
  const label = el('div', 'tile-label');
  const mic = el('span', 'mic-state');
  mic.innerHTML = icon('micOff');
  const names = el('span', 'tile-names');
  names.append(el('span', 'tile-name'), el('span', 'tile-unit'));
  label.append(mic, names);
  // Top left: the floor and a raised hand; top right: the network-quality bars.
  const badges = el('div', 'tile-badges');
  const floor = el('span', 'badge badge-floor');
  floor.innerHTML = icon('floor');
  floor.append(el('span', 'badge-text'));
  const hand = el('span', 'badge badge-hand');
  hand.innerHTML = icon('hand');
  hand.append(el('span', 'badge-text'));
  badges.append(floor, hand);
  const quality = el('span', 'net-quality');
  quality.setAttribute('role', 'img');
  quality.dataset.quality = 'unknown';
  for (let i = 1; i <= 3; i++) quality.append(el('span', `bar bar-${i}`));
  tile.append(video, ph, label, badges, quality);
  return { tile, video, avatar };
}

/**
 * A shared screen's tile: <div class="tile tile-screen" data-screen-of=ID> (someone else's,
 * with a button that shows it full screen and one that leaves that mode) or
 * <div class="tile tile-screen" data-self-screen="true"> (the preview of your own). The
 * picture is letterboxed (object-fit: contain), never cropped or mirrored.
 * Returns {tile, video}.
 */
export function makeScreenTile({ id, self }) {
  const tile = el('div', 'tile tile-screen');
  if (self) tile.dataset.selfScreen = 'true';
  else tile.dataset.screenOf = id;
  const video = el('video');
  video.autoplay = true;
  video.muted = true;
  video.playsInline = true;
  video.setAttribute('playsinline', '');
  const ph = el('div', 'tile-placeholder');
  ph.append(el('span', 'screen-waiting'));
  const label = el('div', 'tile-label');
  const kind = el('span', 'screen-icon');
  kind.innerHTML = icon('screen');
  const names = el('span', 'tile-names');
  names.append(el('span', 'tile-name'));
  label.append(kind, names);
  tile.append(video, ph, label);
  if (!self) {
    const pin = el('button', 'screen-pin');
    pin.type = 'button';
    pin.dataset.action = 'pin-screen';
    pin.innerHTML = icon('maximize');
    const exit = el('button', 'screen-exit');
    exit.type = 'button';
    exit.dataset.action = 'unpin-screen';
    exit.innerHTML = icon('minimize');
    exit.append(el('span', 'screen-exit-text'));
    tile.append(pin, exit);
  }
  return { tile, video };
}
