// Video tiles: the DOM of one tile, initials avatars, and the grid arithmetic.
// Page state (who is in the room) stays in meeting.js.

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
  tile.append(video, ph, label);
  return { tile, video, avatar };
}

/**
 * The column count that gives the largest tiles for `n` tiles in a W×H box with `gap`
 * between them. On a landscape screen tiles range from 4:3 to 16:9, the shapes cameras
 * send, so little of a face is cropped; on a portrait screen (a phone) they may go down to
 * portrait 3:4. Video is cropped to fill, never letterboxed. Returns {cols, w, h}.
 */
export function bestGrid(n, W, H, gap) {
  const minAspect = W >= H ? 4 / 3 : 3 / 4;
  let best = null;
  for (let cols = 1; cols <= n; cols++) {
    const rows = Math.ceil(n / cols);
    const cw = (W - gap * (cols - 1)) / cols;
    const ch = (H - gap * (rows - 1)) / rows;
    const aspect = Math.min(16 / 9, Math.max(minAspect, cw / ch));
    const w = Math.min(cw, ch * aspect);
    const h = w / aspect;
    if (!best || w * h > best.w * best.h + 1) best = { cols, w, h };
  }
  return best;
}
