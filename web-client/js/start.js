// The start page: choose your unit (searchable directory), enter your name, pick the room,
// then go to meeting.html?room=CODE&unit=CODE&name=NAME.
//
// Hooks for browser tests: #unit-search (input), results `li[role=option][data-code]`
// inside #unit-results, #display-name, #room-select (a <select> of room codes), #continue.
// `?room=CODE` preselects a room; `?lang=en` shows English.
// localStorage: `cau.unit` and `cau.name` (last choice), `cau.lang` (language switch).

import { t, applyI18n, bindLangSwitch, onLangChange, getLang } from './i18n.js';
import { fetchDirectory, fetchRooms, describeUnit } from './directory.js';
import { hydrateIcons, icon } from './icons.js';

const RESULT_LIMIT = 80;
const ROOMS_REFRESH_MS = 15000;
const NAME_MAX = 64;

const $ = (id) => document.getElementById(id);
const els = {
  form: $('start-form'),
  search: $('unit-search'),
  results: $('unit-results'),
  count: $('unit-count'),
  selected: $('unit-selected'),
  unitError: $('unit-error'),
  name: $('display-name'),
  nameError: $('name-error'),
  room: $('room-select'),
  roomError: $('room-error'),
  live: $('live-rooms'),
  cont: $('continue'),
};

const params = new URLSearchParams(location.search);
const state = {
  dir: null,
  dirError: false,
  unit: null, // selected unit object
  rooms: null, // live rooms, or null when unknown
  roomsError: false,
  room: params.get('room') || null, // selected room code
  shown: [], // units currently listed
  active: -1, // index in `shown` of the keyboard-highlighted option
};

function store(key, value) {
  try { localStorage.setItem(key, value); } catch { /* storage blocked */ }
}
function load(key) {
  try { return localStorage.getItem(key); } catch { return null; }
}

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k.startsWith('aria-') || k === 'role') e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) if (c != null && c !== false) e.append(c);
  return e;
}

// ------------------------------------------------------------------ unit search

function renderResults() {
  const list = els.results;
  list.replaceChildren();
  if (state.dirError) {
    const retry = el('button', { type: 'button', class: 'btn btn-secondary btn-small', textContent: t('start.retry') });
    retry.addEventListener('click', loadDirectory);
    list.append(el('li', { class: 'results-message error' }, el('span', { textContent: t('start.dirError') }), retry));
    els.count.textContent = '';
    return;
  }
  if (!state.dir) {
    list.append(el('li', { class: 'results-message', textContent: t('start.loading') }));
    return;
  }
  const query = els.search.value;
  const found = state.dir.search(query);
  list.classList.toggle('tree', !query.trim());
  els.count.textContent = t('start.unit.count', { count: state.dir.units.length });
  state.shown = found.slice(0, RESULT_LIMIT);
  if (state.active >= state.shown.length) state.active = state.shown.length - 1;
  if (found.length === 0) {
    list.append(el('li', { class: 'results-message', textContent: t('start.unit.noResults', { query: query.trim() }) }));
  }
  state.shown.forEach((u, i) => {
    const d = describeUnit(state.dir, u);
    const selected = state.unit?.code === u.code;
    const meta = el('span', { class: 'unit-meta' },
      el('span', { class: `tier-badge tier-${u.tier}`, textContent: d.tier }),
      d.kind ? el('span', { class: 'unit-kind', textContent: d.kind }) : null,
      d.parent ? el('span', { class: 'unit-parent', textContent: d.parent }) : null);
    const li = el('li', {
      class: `unit-option depth-${Math.min(u.depth ?? 0, 3)}`,
      id: `unit-opt-${i}`,
      role: 'option',
      'aria-selected': String(selected),
      dataset: { code: u.code },
    }, el('span', { class: 'unit-text' }, el('span', { class: 'unit-name', textContent: u.name }), meta));
    const check = el('span', { class: 'unit-check' });
    check.innerHTML = icon('check');
    li.append(check);
    if (i === state.active) li.classList.add('active');
    list.append(li);
  });
  if (found.length > RESULT_LIMIT) {
    list.append(el('li', { class: 'results-message', textContent: t('start.unit.more', { count: found.length - RESULT_LIMIT }) }));
  }
  updateActiveDescendant();
}

function updateActiveDescendant() {
  const opt = state.active >= 0 ? $(`unit-opt-${state.active}`) : null;
  if (opt) {
    els.search.setAttribute('aria-activedescendant', opt.id);
    opt.scrollIntoView({ block: 'nearest' });
  } else {
    els.search.removeAttribute('aria-activedescendant');
  }
}

function setActive(i) {
  const prev = $(`unit-opt-${state.active}`);
  prev?.classList.remove('active');
  state.active = Math.max(-1, Math.min(i, state.shown.length - 1));
  $(`unit-opt-${state.active}`)?.classList.add('active');
  updateActiveDescendant();
}

function selectUnit(unit, { fromUser = true } = {}) {
  state.unit = unit;
  for (const li of els.results.querySelectorAll('[role=option]')) {
    li.setAttribute('aria-selected', String(li.dataset.code === unit?.code));
  }
  renderSelected();
  renderRoomSelect();
  if (fromUser) {
    els.unitError.hidden = true;
    els.search.removeAttribute('aria-invalid');
  }
}

function renderSelected() {
  const box = els.selected;
  box.replaceChildren();
  if (!state.unit) {
    box.classList.add('empty');
    box.textContent = state.dir ? t('start.unit.none') : '';
    return;
  }
  box.classList.remove('empty');
  const d = describeUnit(state.dir, state.unit);
  const mark = el('span', { class: 'selected-icon' });
  mark.innerHTML = icon('check');
  box.append(mark, el('span', { class: 'selected-label', textContent: t('start.unit.selected') }),
    el('strong', { textContent: state.unit.name }),
    el('span', { class: 'selected-meta', textContent: [d.kind || d.tier, d.parent].filter(Boolean).join(' · ') }));
}

els.search.addEventListener('input', () => {
  state.active = els.search.value.trim() ? 0 : -1;
  renderResults();
  els.results.scrollTop = 0;
});

els.search.addEventListener('keydown', (e) => {
  if (e.key === 'ArrowDown') {
    e.preventDefault();
    setActive(state.active + 1);
  } else if (e.key === 'ArrowUp') {
    e.preventDefault();
    setActive(state.active - 1);
  } else if (e.key === 'Enter') {
    e.preventDefault(); // never submit the form from the search box
    const u = state.shown[state.active] ?? (state.shown.length === 1 ? state.shown[0] : null);
    if (u) {
      selectUnit(u);
      els.name.focus();
    }
  } else if (e.key === 'Escape' && els.search.value) {
    els.search.value = '';
    state.active = -1;
    renderResults();
  }
});

els.results.addEventListener('click', (e) => {
  const li = e.target.closest('[role=option][data-code]');
  if (!li || !state.dir) return;
  const u = state.dir.get(li.dataset.code);
  if (!u) return;
  state.active = [...els.results.querySelectorAll('[role=option]')].indexOf(li);
  selectUnit(u);
  setActive(state.active);
});

// ------------------------------------------------------------------ rooms

function roomOptionLabel(u) {
  const parent = state.dir.parentOf(u);
  return parent && parent !== state.dir.root && parent.parent != null ? `${u.name} (${parent.name})` : u.name;
}

function renderRoomSelect() {
  const sel = els.room;
  const dir = state.dir;
  const current = sel.value || state.room;
  sel.replaceChildren();
  const used = new Set();
  const group = (label) => el('optgroup', { label });
  const option = (code, text) => {
    used.add(code);
    return el('option', { value: code, textContent: text });
  };

  const live = (state.rooms ?? []).filter((r) => r && r.code != null);
  if (live.length) {
    const g = group(t('start.room.groupLive'));
    for (const r of live) {
      const name = dir?.get(r.code)?.name ?? r.name ?? r.code;
      g.append(option(r.code, t('start.room.optionLive', { name, count: r.participants ?? 0 })));
    }
    sel.append(g);
  }
  if (dir) {
    const suggested = [dir.root, state.unit, ...(state.unit ? dir.ancestors(state.unit) : [])]
      .filter((u) => u && !used.has(u.code));
    const seen = new Set();
    const g = group(t('start.room.groupSuggested'));
    for (const u of suggested) {
      if (seen.has(u.code)) continue;
      seen.add(u.code);
      g.append(option(u.code, roomOptionLabel(u)));
    }
    if (g.children.length) sel.append(g);
    const all = group(t('start.room.groupAll'));
    for (const u of dir.sorted) if (!used.has(u.code)) all.append(option(u.code, roomOptionLabel(u)));
    if (all.children.length) sel.append(all);
  } else if (state.room && !used.has(state.room)) {
    sel.append(option(state.room, state.room));
  }
  const want = current && used.has(current) ? current : (dir?.root?.code ?? '');
  sel.value = want;
  state.room = sel.value || null;
  renderLive();
}

els.room.addEventListener('change', () => {
  state.room = els.room.value || null;
  els.roomError.hidden = true;
  renderLive();
});

function renderLive() {
  const list = els.live;
  list.replaceChildren();
  if (state.roomsError && !state.rooms) {
    list.append(el('li', { class: 'live-empty', textContent: t('start.live.unavailable') }));
    return;
  }
  if (!state.rooms) {
    list.append(el('li', { class: 'live-empty', textContent: '…' }));
    return;
  }
  if (state.rooms.length === 0) {
    list.append(el('li', { class: 'live-empty', textContent: t('start.live.empty') }));
    return;
  }
  for (const r of state.rooms) {
    const unit = state.dir?.get(r.code);
    const name = unit?.name ?? r.name ?? r.code;
    const sub = unit ? describeUnit(state.dir, unit) : null;
    const selected = state.room === r.code;
    const btn = el('button', {
      type: 'button',
      class: `live-room${selected ? ' selected' : ''}`,
      'aria-pressed': String(selected),
      dataset: { room: r.code },
    });
    const count = el('span', { class: 'live-count' });
    count.innerHTML = icon('users');
    count.append(t('start.live.count', { count: r.participants ?? 0 }));
    btn.append(
      el('span', { class: 'live-room-text' },
        el('span', { class: 'live-room-name', textContent: name }),
        sub?.parent ? el('span', { class: 'live-room-meta', textContent: sub.parent }) : null),
      count);
    btn.addEventListener('click', () => {
      state.room = r.code;
      els.room.value = r.code;
      els.roomError.hidden = true;
      renderLive();
    });
    list.append(el('li', {}, btn));
  }
}

let roomsTimer = null;
async function loadRooms() {
  clearTimeout(roomsTimer);
  const before = JSON.stringify([state.rooms, state.roomsError]);
  try {
    state.rooms = await fetchRooms();
    state.roomsError = false;
  } catch (err) {
    console.warn('cau: rooms unavailable', err);
    state.roomsError = true;
  }
  // Rebuilding the <select> closes it if open: only when something changed.
  if (JSON.stringify([state.rooms, state.roomsError]) !== before) renderRoomSelect();
  roomsTimer = setTimeout(loadRooms, ROOMS_REFRESH_MS);
}

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') loadRooms();
  else clearTimeout(roomsTimer);
});

// ------------------------------------------------------------------ directory

async function loadDirectory() {
  state.dirError = false;
  renderResults();
  try {
    state.dir = await fetchDirectory();
  } catch (err) {
    console.warn('cau: directory unavailable', err);
    state.dirError = true;
    renderResults();
    return;
  }
  const last = state.dir.get(load('cau.unit') ?? '');
  if (state.room && !state.dir.get(state.room)) state.room = null;
  renderResults();
  selectUnit(last, { fromUser: false });
  if (last) {
    const i = state.shown.indexOf(last);
    if (i >= 0) setActive(i);
  }
}

// ------------------------------------------------------------------ submit

function validateName(raw) {
  const name = raw.trim();
  if (!name) return { error: 'start.name.required' };
  if ([...name].length > NAME_MAX) return { error: 'start.name.tooLong' };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return { error: 'start.name.invalid' };
  return { name };
}

function showError(errEl, input, key) {
  errEl.textContent = t(key);
  errEl.dataset.key = key;
  errEl.hidden = false;
  input.setAttribute('aria-invalid', 'true');
}

els.form.addEventListener('submit', (e) => {
  e.preventDefault();
  let firstBad = null;
  for (const [errEl, input] of [[els.unitError, els.search], [els.nameError, els.name], [els.roomError, els.room]]) {
    errEl.hidden = true;
    input.removeAttribute('aria-invalid');
  }
  if (!state.unit) {
    showError(els.unitError, els.search, 'start.unit.required');
    firstBad ??= els.search;
  }
  const v = validateName(els.name.value);
  if (v.error) {
    showError(els.nameError, els.name, v.error);
    firstBad ??= els.name;
  }
  const room = els.room.value;
  if (!room) {
    showError(els.roomError, els.room, 'start.room.required');
    firstBad ??= els.room;
  }
  if (firstBad) {
    firstBad.focus();
    return;
  }
  store('cau.unit', state.unit.code);
  store('cau.name', v.name);
  let url = `meeting.html?room=${encodeURIComponent(room)}&unit=${encodeURIComponent(state.unit.code)}&name=${encodeURIComponent(v.name)}`;
  if (params.get('lang')) url += `&lang=${encodeURIComponent(getLang())}`;
  location.href = url;
});

els.name.addEventListener('input', () => {
  els.nameError.hidden = true;
  els.name.removeAttribute('aria-invalid');
});

// ------------------------------------------------------------------ language

function renderAll() {
  document.title = t('start.pageTitle');
  applyI18n();
  renderResults();
  renderSelected();
  renderRoomSelect();
  for (const errEl of [els.unitError, els.nameError, els.roomError]) {
    if (!errEl.hidden && errEl.dataset.key) errEl.textContent = t(errEl.dataset.key);
  }
}

hydrateIcons();
bindLangSwitch($('lang-switch'));
onLangChange(renderAll);
els.name.value = load('cau.name') ?? '';
renderAll();
loadDirectory();
loadRooms();
