// Where each tile of the meeting stage goes: the grid (everyone the same size), the speaker
// layout (the floor holder and the chair large, a strip of thumbnails below) and the
// presentation layout (shared screens large, the speaker beside them, the strip below). Pure
// arithmetic on a W×H box: no DOM, so `node --test` checks it. The stage (meeting/stage.js)
// decides who is large and who is a thumbnail, and positions the tiles from the boxes here.

/** Up to this many participants (you included) the automatic layout is the grid. */
export const GRID_MAX = 12;

/**
 * The column count that gives the largest tiles for `n` tiles in a W×H box with `gap`
 * between them. On a landscape screen tiles range from 4:3 to 16:9, the shapes cameras
 * send, so little of a face is cropped; on a portrait screen (a phone) they may go down to
 * portrait 3:4 (unless `landscape`). Video is cropped to fill, never letterboxed.
 * Returns {cols, rows, w, h}.
 */
export function bestGrid(n, W, H, gap, { landscape = false } = {}) {
  const minAspect = W >= H || landscape ? 4 / 3 : 3 / 4;
  let best = null;
  for (let cols = 1; cols <= Math.max(1, n); cols++) {
    const rows = Math.ceil(n / cols);
    const cw = (W - gap * (cols - 1)) / cols;
    const ch = (H - gap * (rows - 1)) / rows;
    if (cw <= 0 || ch <= 0) continue;
    const aspect = Math.min(16 / 9, Math.max(minAspect, cw / ch));
    const w = Math.min(cw, ch * aspect);
    const h = w / aspect;
    if (!best || w * h > best.w * best.h + 1) best = { cols, rows, w, h };
  }
  return best ?? { cols: 1, rows: 1, w: 0, h: 0 };
}

/** `ids` laid out as a centred grid inside the box {x, y, w, h}: Map id → box. */
function gridIn(ids, box, gap, size, landscape = false) {
  const out = new Map();
  if (!ids.length || box.w <= 0 || box.h <= 0) return out;
  const g = bestGrid(ids.length, box.w, box.h, gap, { landscape });
  const rows = Math.ceil(ids.length / g.cols);
  const top = box.y + (box.h - (rows * g.h + (rows - 1) * gap)) / 2;
  ids.forEach((id, i) => {
    const row = Math.floor(i / g.cols);
    const inRow = row === rows - 1 ? ids.length - row * g.cols : g.cols; // the last row is centred
    const left = box.x + (box.w - (inRow * g.w + (inRow - 1) * gap)) / 2;
    out.set(id, { x: left + (i % g.cols) * (g.w + gap), y: top + row * (g.h + gap), w: g.w, h: g.h, size });
  });
  return out;
}

/** The corner box for your own picture over the stage (one-to-one, or alone in a strip). */
function pipBox(W, H) {
  const portrait = W < H;
  const w = Math.round(Math.min(280, Math.max(portrait ? 96 : 140, W * (portrait ? 0.3 : 0.22))));
  const h = Math.round(portrait ? (w * 4) / 3 : (w * 9) / 16);
  const margin = W < 500 ? 12 : 20;
  return { x: W - w - margin, y: H - h - margin, w, h, size: 'small', pip: true };
}

/**
 * The grid: every tile the same size. With exactly one other participant and yourself,
 * they fill the stage and you float in a corner (`selfId` gets a pip box).
 * @returns {{boxes: Map<string, {x,y,w,h,size,pip?}>, largeHeight: number, smallHeight: number, hidden: string[], overflow: null}}
 */
export function gridLayout({ W, H, ids, selfId = null, gap = 10 }) {
  const others = ids.filter((id) => id !== selfId);
  if (selfId != null && ids.includes(selfId) && others.length === 1) {
    const boxes = gridIn(others, { x: 0, y: 0, w: W, h: H }, gap, 'large');
    boxes.set(selfId, pipBox(W, H));
    const h = boxes.get(others[0])?.h ?? 0;
    return { boxes, largeHeight: h, smallHeight: h, hidden: [], overflow: null };
  }
  const boxes = gridIn(ids, { x: 0, y: 0, w: W, h: H }, gap, 'grid');
  const h = boxes.size ? [...boxes.values()][0].h : 0;
  return { boxes, largeHeight: h, smallHeight: h, hidden: [], overflow: null };
}

/**
 * The speaker layout: `large` (the floor holder first when `spotlight`, then the chairs) in
 * the main area — the spotlight takes about two thirds of it — and `thumbs` in one strip
 * along the bottom. Your own tile (`selfId`, expected among `thumbs`) is always shown; when
 * the strip cannot hold every thumbnail, the last place shows "+N" (`overflow`) and the rest
 * are `hidden`. With nobody large the first thumbnail is promoted; with only yourself in the
 * strip you float in a corner.
 * @returns {{boxes: Map<string, {x,y,w,h,size,pip?}>, largeHeight: number, smallHeight: number,
 *   hidden: string[], overflow: null | {count: number, x, y, w, h}}}
 */
export function speakerLayout({ W, H, large, thumbs, selfId = null, spotlight = false, gap = 10, keep = [] }) {
  large = [...large];
  thumbs = thumbs.filter((id) => !large.includes(id));
  if (!large.length) {
    const first = thumbs.find((id) => id !== selfId && !keep.includes(id)) ?? thumbs[0];
    if (first == null) return { boxes: new Map(), largeHeight: 0, smallHeight: 0, hidden: [], overflow: null };
    large.push(first);
    thumbs = thumbs.filter((id) => id !== first);
    spotlight = false;
  }
  // Alone in the strip, you float in a corner of a single large tile; beside two or more
  // large tiles a corner would hide one of them, so you keep the strip.
  const onlySelf = thumbs.length === 1 && thumbs[0] === selfId && large.length === 1;
  const portrait = W < H;
  const strip = onlySelf ? emptyStrip() : stripLayout({ W, H, thumbs, selfId, keep, gap });
  const { boxes, stripH, hidden, overflow } = strip;
  const main = { x: 0, y: 0, w: W, h: H - (stripH ? stripH + gap : 0) };
  if (spotlight && large.length > 1) {
    const share = 0.64;
    const [first, ...rest] = large;
    if (portrait) {
      const h1 = Math.round((main.h - gap) * share);
      for (const [id, b] of gridIn([first], { ...main, h: h1 }, gap, 'large')) boxes.set(id, b);
      for (const [id, b] of gridIn(rest, { ...main, y: h1 + gap, h: main.h - h1 - gap }, gap, 'large')) boxes.set(id, b);
    } else {
      const w1 = Math.round((main.w - gap) * share);
      for (const [id, b] of gridIn([first], { ...main, w: w1 }, gap, 'large', true)) boxes.set(id, b);
      for (const [id, b] of gridIn(rest, { ...main, x: w1 + gap, w: main.w - w1 - gap }, gap, 'large', true)) boxes.set(id, b);
    }
  } else {
    for (const [id, b] of gridIn(large, main, gap, 'large', !portrait)) boxes.set(id, b);
  }
  if (onlySelf) boxes.set(selfId, pipBox(W, H));
  const largeHeight = Math.max(0, ...large.map((id) => boxes.get(id)?.h ?? 0));
  return { boxes, largeHeight, smallHeight: stripH || largeHeight, hidden, overflow };
}

function emptyStrip() {
  return { boxes: new Map(), stripH: 0, hidden: [], overflow: null };
}

/**
 * The strip of thumbnails along the bottom of a W×H stage: `thumbs` in order, with `keep`
 * (e.g. your own screen's preview) and yourself (`selfId`) last and always shown; when the
 * strip cannot hold them all, the place before those says "+N" (`overflow`) and the rest are
 * `hidden`. `ratio` is the strip's share of the height (clamped).
 */
function stripLayout({ W, H, thumbs, selfId, keep = [], gap, ratio = 0.22 }) {
  if (!thumbs.length) return emptyStrip();
  const portrait = W < H;
  const boxes = new Map();
  const stripH = Math.round(Math.min(portrait ? 120 : 160, Math.max(portrait ? 64 : 72, H * (portrait ? 0.18 : ratio))));
  const thumbW = Math.round(portrait ? (stripH * 4) / 3 : (stripH * 16) / 9);
  const fit = Math.max(1, Math.floor((W + gap) / (thumbW + gap)));
  const tail = [...keep.filter((id) => thumbs.includes(id) && id !== selfId), ...(selfId != null && thumbs.includes(selfId) ? [selfId] : [])];
  const others = thumbs.filter((id) => !tail.includes(id));
  let shown = [...others, ...tail];
  let hidden = [];
  let overflow = null;
  if (thumbs.length > fit) {
    // Keep yourself (and what is kept); the place before says how many more there are.
    const room = Math.max(0, fit - 1 - tail.length);
    shown = [...others.slice(0, room), ...tail];
    hidden = others.slice(room);
  }
  const count = shown.length + (hidden.length ? 1 : 0);
  const rowW = count * thumbW + (count - 1) * gap;
  let x = Math.max(0, (W - rowW) / 2);
  const y = H - stripH;
  for (const id of shown.filter((i) => !tail.includes(i))) {
    boxes.set(id, { x, y, w: thumbW, h: stripH, size: 'small' });
    x += thumbW + gap;
  }
  if (hidden.length) {
    overflow = { count: hidden.length, x, y, w: thumbW, h: stripH };
    x += thumbW + gap;
  }
  for (const id of tail) {
    boxes.set(id, { x, y, w: thumbW, h: stripH, size: 'small' });
    x += thumbW + gap;
  }
  return { boxes, stripH, hidden, overflow };
}

/** The largest box of aspect `aspect` inside `area`, centred: {x, y, w, h}. */
function fitIn(area, aspect) {
  if (area.w <= 0 || area.h <= 0) return { x: area.x, y: area.y, w: 0, h: 0 };
  const w = Math.min(area.w, area.h * aspect);
  const h = w / aspect;
  return { x: area.x + (area.w - w) / 2, y: area.y + (area.h - h) / 2, w, h };
}

/** The aspect a screen is laid out for until its real size is known (the shape of most screens). */
export const SCREEN_ASPECT = 16 / 9;

/**
 * The presentation layout: the shared screens (`screens`, one or two) large — two side by
 * side or stacked, whichever leaves them more room — the speaker (`speaker`, the floor holder
 * or the dominant speaker; may be null) beside them (below them on a portrait stage), and
 * `thumbs` in the strip along the bottom, `keep` (your own screen's preview) and yourself
 * always among them. Each screen's box has the screen's own shape (`aspects`: key → width /
 * height, SCREEN_ASPECT when unknown), so the picture fills it without being cropped.
 * Without any screen (you alone share) it is the speaker layout with `speaker` large.
 * @returns {{boxes: Map<string, {x,y,w,h,size}>, largeHeight: number, smallHeight: number,
 *   hidden: string[], overflow: null | {count, x, y, w, h}}}  largeHeight: the tallest screen
 */
export function presentationLayout({ W, H, screens, speaker = null, thumbs, selfId = null, keep = [], aspects = {}, gap = 10 }) {
  screens = screens.slice(0, 2);
  if (!screens.length) {
    return speakerLayout({ W, H, large: speaker != null ? [speaker] : [], thumbs, selfId, keep, gap });
  }
  thumbs = thumbs.filter((id) => !screens.includes(id) && id !== speaker);
  const portrait = W < H;
  const { boxes, stripH, hidden, overflow } = stripLayout({ W, H, thumbs, selfId, keep, gap, ratio: 0.18 });
  const main = { x: 0, y: 0, w: W, h: H - (stripH ? stripH + gap : 0) };
  // The speaker's column (a row on a portrait stage), at a camera's 16:9.
  let area = main;
  if (speaker != null) {
    if (portrait) {
      const sh = Math.round(Math.min(main.h * 0.3, Math.max(96, (main.w * 9) / 16 * 0.6)));
      const sw = Math.round((sh * 16) / 9);
      boxes.set(speaker, { x: (W - Math.min(sw, W)) / 2, y: main.h - sh, w: Math.min(sw, W), h: sh, size: 'side' });
      area = { ...main, h: main.h - sh - gap };
    } else {
      const sw = Math.round(Math.min(360, Math.max(160, main.w * 0.22)));
      const sh = Math.round((sw * 9) / 16);
      area = { ...main, w: main.w - sw - gap };
      boxes.set(speaker, { x: area.w + gap, y: Math.max(0, (main.h - sh) / 2), w: sw, h: sh, size: 'side' });
    }
  }
  const aspect = (id) => (aspects[id] > 0 ? aspects[id] : SCREEN_ASPECT);
  let placed;
  if (screens.length === 1) {
    placed = [fitIn(area, aspect(screens[0]))];
  } else {
    const half = (a, i, across) => (across
      ? { x: a.x + i * ((a.w + gap) / 2), y: a.y, w: (a.w - gap) / 2, h: a.h }
      : { x: a.x, y: a.y + i * ((a.h + gap) / 2), w: a.w, h: (a.h - gap) / 2 });
    const side = screens.map((id, i) => fitIn(half(area, i, true), aspect(id)));
    const stacked = screens.map((id, i) => fitIn(half(area, i, false), aspect(id)));
    const room = (list) => list.reduce((n, b) => n + b.w * b.h, 0);
    placed = room(side) >= room(stacked) ? side : stacked;
  }
  if (!portrait) {
    // The screens and the speaker as one group, centred: no gap wider than `gap` between them.
    const left = Math.min(...placed.map((b) => b.x));
    const right = Math.max(...placed.map((b) => b.x + b.w));
    const spk = boxes.get(speaker);
    const groupW = right - left + (spk ? gap + spk.w : 0);
    const shift = Math.max(0, (main.w - groupW) / 2) - left;
    placed = placed.map((b) => ({ ...b, x: b.x + shift }));
    if (spk) spk.x = right + shift + gap;
  }
  screens.forEach((id, i) => boxes.set(id, { ...placed[i], size: 'large' }));
  const largeHeight = Math.max(0, ...placed.map((b) => b.h));
  return { boxes, largeHeight, smallHeight: stripH || (boxes.get(speaker)?.h ?? largeHeight), hidden, overflow };
}
