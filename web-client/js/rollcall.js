// The roll call: which invited units are connected, and how well. A reusable component:
//
//   const rc = new RollCall(container, { directory });   // directory: a Directory, a promise
//                                                         // of one, or omitted (fetched here)
//   rc.update(rollCall);   // {units: RollCallEntry[], connected, invited}: the websocket's
//                          // `roll_call` or GET /api/meetings/{id}/roll-call
//   rc.destroy();
//
// RollCallEntry (docs/protocol.md) = {unit_id, name, tier, parent, status, participants,
// since, rtt_ms, loss, bitrate_kbps}; `parent` is the parent unit's id, shown by its name.
//
// Built for 250 units updated every 2 s: one row per unit, keyed by unit id and reused; a
// render writes only the cells whose text changed, reorders rows only when the order
// changed, and runs at most once per animation frame however many updates arrive.
//
// Hooks (for tests and pages): tr[data-unit-id][data-status][data-tier] (hidden rows have `hidden`),
// td[data-col=rtt|loss|bitrate|…], th[data-sort=name|tier|parent|status|participants|rtt|
// loss|bitrate|since] with aria-sort, and the filters #PREFIX-search, #PREFIX-tier,
// #PREFIX-parent, #PREFIX-status (PREFIX is the `idPrefix` option, default "roll-call").

import './strings/rollcall.js';
import { t, has, getLang, onLangChange } from './i18n.js';
import { fold, tierLabel, fetchDirectory } from './directory.js';

export const STATUSES = ['connected', 'left', 'not_yet'];
const STATUS_RANK = { connected: 0, left: 1, not_yet: 2 };
const KNOWN_TIERS = ['national', 'province', 'district', 'commune'];
const DASH = '—';

/** Columns, in order. `num`: a number column (first click sorts high → low; nulls last). */
const COLUMNS = [
  { key: 'name' },
  { key: 'tier' },
  { key: 'parent' },
  { key: 'status' },
  { key: 'participants', num: true },
  { key: 'rtt', num: true, title: true },
  { key: 'loss', num: true, title: true },
  { key: 'bitrate', num: true, title: true },
  { key: 'since', num: true, title: true },
];

/** Above these a value is flagged (text marker + colour): RTT in ms, loss as a fraction. */
const RTT_WARN = 300;
const RTT_BAD = 600;
const LOSS_WARN = 0.02;
const LOSS_BAD = 0.08;

function make(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

/** Sets textContent / an attribute only when it changes (no DOM write otherwise). */
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}
function setData(node, key, value) {
  if (node.dataset[key] !== value) node.dataset[key] = value;
}
function setAttr(node, name, value) {
  if (value == null || value === '') {
    if (node.hasAttribute(name)) node.removeAttribute(name);
  } else if (node.getAttribute(name) !== value) {
    node.setAttribute(name, value);
  }
}

/** "Xã" in the table (its column says "Cấp"); the full label elsewhere. */
function shortTier(tier) {
  return has(`rollcall.tier.${tier}`) ? t(`rollcall.tier.${tier}`) : tierLabel(tier);
}

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export class RollCall {
  /**
   * @param {HTMLElement} container emptied and filled with the roll call
   * @param {object} [options]
   * @param {import('./directory.js').Directory|Promise<import('./directory.js').Directory>} [options.directory]
   *   resolves parent ids to names and orders tiers; fetched from /api/directory if omitted
   * @param {string} [options.idPrefix] prefix of the filter controls' ids
   * @param {() => number} [options.now] clock (ms since the epoch), for "time since"
   */
  constructor(container, { directory, idPrefix = 'roll-call', now = () => Date.now() } = {}) {
    this.container = container;
    this._prefix = idPrefix;
    this._now = now;
    this._dir = null;
    this._data = null; // latest {units, connected, invited}
    this._index = new Map(); // unit id → position in the hub's list (the default order)
    this._rows = new Map(); // unit id → Row
    this._domOrder = [];
    this._sort = { key: null, dir: 1 };
    this._filter = { q: '', tier: '', parent: '', status: '' };
    this._optionKeys = { tier: '', parent: '' };
    this._frame = 0;
    this._timer = 0;
    this._all = true; // every cell must be recomputed (first render, language, directory)
    this._collator = new Intl.Collator('vi', { sensitivity: 'base', numeric: true });
    this._build();
    this._offLang = onLangChange(() => {
      this._labels();
      this._optionKeys = { tier: '', parent: '' };
      this._numberFormats();
      this._all = true;
      this._schedule();
    });
    this._numberFormats();
    this._labels();
    // "Time since" moves on by itself; only worth redrawing while the roll call is on screen.
    this._ticker = setInterval(() => { if (this._data && this.root.offsetParent !== null) this._schedule(); }, 1000);
    Promise.resolve(directory ?? fetchDirectory())
      .then((dir) => this.setDirectory(dir))
      .catch((err) => console.warn('cau: roll call without the directory (parent ids shown)', err));
  }

  /** Uses `dir` (a Directory) for parent names and tier order. */
  setDirectory(dir) {
    this._dir = dir ?? null;
    this._optionKeys = { tier: '', parent: '' };
    this._all = true;
    this._schedule();
  }

  /** Takes a roll call ({units, connected, invited}); renders on the next animation frame. */
  update(rollCall) {
    const units = Array.isArray(rollCall?.units) ? rollCall.units.filter((u) => u && u.unit_id != null) : [];
    this._data = {
      units,
      connected: num(rollCall?.connected) ?? units.filter((u) => u.status === 'connected').length,
      invited: num(rollCall?.invited) ?? units.length,
    };
    this._schedule();
  }

  /** The latest counts: {connected, invited, not_yet, left}, or null before any update. */
  get counts() {
    if (!this._data) return null;
    const c = { connected: this._data.connected, invited: this._data.invited, not_yet: 0, left: 0 };
    for (const u of this._data.units) if (u.status === 'not_yet' || u.status === 'left') c[u.status]++;
    return c;
  }

  destroy() {
    clearInterval(this._ticker);
    cancelAnimationFrame(this._frame);
    clearTimeout(this._timer);
    this._offLang?.();
    this.container.replaceChildren();
  }

  // ------------------------------------------------------------------ DOM

  _build() {
    const id = (s) => `${this._prefix}-${s}`;
    const root = make('div', 'rollcall');
    const head = make('div', 'rc-head');
    this._count = make('p', 'rc-count');
    this._count.setAttribute('role', 'status');
    this._summary = make('p', 'rc-summary');
    const bar = make('div', 'rc-bar');
    bar.setAttribute('aria-hidden', 'true');
    this._barFill = make('div', 'rc-bar-fill');
    bar.append(this._barFill);
    head.append(this._count, this._summary, bar);

    const filters = make('div', 'rc-filters');
    filters.setAttribute('role', 'search');
    const field = (key, control) => {
      const f = make('div', `rc-field rc-field-${key}`);
      const label = make('label');
      label.htmlFor = control.id;
      f.append(label, control);
      return { f, label };
    };
    this._search = make('input');
    this._search.type = 'search';
    this._search.id = id('search');
    this._search.autocomplete = 'off';
    this._search.spellcheck = false;
    this._tier = make('select');
    this._tier.id = id('tier');
    this._parent = make('select');
    this._parent.id = id('parent');
    this._status = make('select');
    this._status.id = id('status');
    this._fields = {
      search: field('search', this._search),
      tier: field('tier', this._tier),
      parent: field('parent', this._parent),
      status: field('status', this._status),
    };
    filters.append(...Object.values(this._fields).map((x) => x.f));
    this._filters = filters;

    const showing = make('div', 'rc-showing');
    showing.hidden = true;
    this._showingBox = showing;
    this._showing = make('span');
    this._clear = make('button', 'rc-clear');
    this._clear.type = 'button';
    showing.append(this._showing, this._clear);

    const scroll = make('div', 'rc-scroll');
    scroll.tabIndex = 0; // a scrollable region must be reachable by keyboard
    this._scroll = scroll;
    const table = make('table', 'rc-table');
    this._caption = make('caption', 'visually-hidden');
    const thead = make('thead');
    const hr = make('tr');
    this._ths = new Map();
    for (const col of COLUMNS) {
      const th = make('th', `rc-col-${col.key}`);
      th.scope = 'col';
      th.dataset.sort = col.key;
      th.setAttribute('aria-sort', 'none');
      const btn = make('button', 'rc-sort');
      btn.type = 'button';
      const label = make('span', 'rc-sort-label');
      const arrow = make('span', 'rc-sort-arrow');
      arrow.setAttribute('aria-hidden', 'true');
      btn.append(label, arrow);
      btn.addEventListener('click', () => this._sortBy(col));
      th.append(btn);
      hr.append(th);
      this._ths.set(col.key, { th, label, btn });
    }
    thead.append(hr);
    this._tbody = make('tbody');
    table.append(this._caption, thead, this._tbody);
    this._empty = make('p', 'rc-empty');
    this._empty.hidden = true;
    scroll.append(table, this._empty);

    root.append(head, filters, showing, scroll);
    this.root = root;
    this.container.replaceChildren(root);

    this._search.addEventListener('input', () => this._setFilter('q', fold(this._search.value)));
    this._tier.addEventListener('change', () => this._setFilter('tier', this._tier.value));
    this._parent.addEventListener('change', () => this._setFilter('parent', this._parent.value));
    this._status.addEventListener('change', () => this._setFilter('status', this._status.value));
    this._clear.addEventListener('click', () => {
      this._search.value = '';
      this._tier.value = this._parent.value = this._status.value = '';
      this._filter = { q: '', tier: '', parent: '', status: '' };
      this._schedule();
    });
  }

  /** The static labels, in the current language. */
  _labels() {
    for (const [key, { label }] of Object.entries(this._fields)) label.textContent = t(`rollcall.${key}`);
    this._search.placeholder = t('rollcall.searchPlaceholder');
    this._filters.setAttribute('aria-label', t('rollcall.filters'));
    this._clear.textContent = t('rollcall.clear');
    this._empty.textContent = t('rollcall.empty');
    this._caption.textContent = t('rollcall.caption');
    this._scroll.setAttribute('aria-label', t('rollcall.caption'));
    for (const col of COLUMNS) {
      const { label, btn } = this._ths.get(col.key);
      label.textContent = t(`rollcall.col.${col.key}`);
      btn.title = col.title ? t(`rollcall.colTitle.${col.key}`) : '';
    }
    const current = this._status.value;
    this._status.replaceChildren(new Option(t('rollcall.allStatuses'), ''),
      ...STATUSES.map((s) => new Option(t(`rollcall.status.${s}`), s)));
    this._status.value = current;
  }

  _numberFormats() {
    const locale = getLang() === 'vi' ? 'vi-VN' : 'en-GB';
    this._fmtInt = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
    this._fmtPct = new Intl.NumberFormat(locale, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
    this._fmtTime = new Intl.DateTimeFormat(locale, {
      timeZone: 'Asia/Ho_Chi_Minh', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
    });
  }

  _setFilter(key, value) {
    if (this._filter[key] === value) return;
    this._filter[key] = value;
    this._schedule();
  }

  _sortBy(col) {
    const s = this._sort;
    if (s.key === col.key) s.dir = -s.dir;
    else {
      s.key = col.key;
      s.dir = col.num ? -1 : 1; // numbers: highest first
    }
    for (const [key, { th }] of this._ths) {
      th.setAttribute('aria-sort', key !== s.key ? 'none' : s.dir > 0 ? 'ascending' : 'descending');
    }
    this._schedule();
  }

  /** One render per animation frame (a timer when the page is hidden: frames do not run). */
  _schedule() {
    if (this._frame || this._timer) return;
    const run = () => {
      this._frame = 0;
      this._timer = 0;
      this._render();
    };
    if (typeof document !== 'undefined' && document.hidden) this._timer = setTimeout(run, 250);
    else this._frame = requestAnimationFrame(run);
  }

  // ------------------------------------------------------------------ rendering

  _render() {
    const data = this._data;
    const all = this._all;
    this._all = false;
    if (!data) {
      setText(this._count, t('rollcall.waiting'));
      return;
    }
    const now = this._now();

    // Rows: one per unit, created once, dropped when the unit is no longer invited.
    const seen = new Set();
    this._index.clear();
    data.units.forEach((u, i) => {
      const uid = String(u.unit_id);
      seen.add(uid);
      this._index.set(uid, i);
      let row = this._rows.get(uid);
      if (!row) {
        row = this._makeRow(uid);
        this._rows.set(uid, row);
      }
      row.entry = u;
    });
    for (const [uid, row] of this._rows) {
      if (!seen.has(uid)) {
        row.tr.remove();
        this._rows.delete(uid);
      }
    }

    this._renderOptions(data.units);

    let shown = 0;
    for (const row of this._rows.values()) {
      this._renderRow(row, now, all);
      const visible = this._matches(row);
      if (row.tr.hidden === visible) row.tr.hidden = !visible;
      if (visible) shown++;
    }
    this._reorder();

    const c = this.counts;
    setText(this._count, t('rollcall.connected', { connected: c.connected, invited: c.invited }));
    setText(this._summary, t('rollcall.summary', { not_yet: c.not_yet, left: c.left }));
    const pct = c.invited > 0 ? Math.min(1, c.connected / c.invited) : 0;
    const transform = `scaleX(${pct.toFixed(4)})`;
    if (this._barFill.style.transform !== transform) this._barFill.style.transform = transform;
    const total = this._rows.size;
    const filtered = Object.values(this._filter).some(Boolean);
    setText(this._showing, filtered ? t('rollcall.showing', { shown, total }) : '');
    if (this._showingBox.hidden === filtered) this._showingBox.hidden = !filtered;
    const empty = total > 0 && shown === 0;
    if (this._empty.hidden === empty) this._empty.hidden = !empty;
  }

  _makeRow(uid) {
    const tr = make('tr');
    tr.dataset.unitId = uid;
    const cells = {};
    for (const col of COLUMNS) {
      const cell = make(col.key === 'name' ? 'th' : 'td', `rc-col-${col.key}`);
      if (col.key === 'name') cell.scope = 'row';
      cell.dataset.col = col.key;
      cells[col.key] = cell;
      tr.append(cell);
    }
    const tier = make('span', 'tier-badge');
    cells.tier.append(tier);
    const badge = make('span', 'rc-status');
    const dot = make('span', 'rc-dot');
    dot.setAttribute('aria-hidden', 'true');
    const statusText = make('span', 'rc-status-text');
    badge.append(dot, statusText);
    cells.status.append(badge);
    return { uid, tr, cells, tier, badge, statusText, entry: null, key: '', parentName: '', parentId: null, v: {} };
  }

  /** Writes one row; only what changed since the last render touches the DOM. */
  _renderRow(row, now, all) {
    const u = row.entry;
    const v = row.v;
    const status = STATUSES.includes(u.status) ? u.status : 'not_yet';
    const connected = status === 'connected';
    const name = String(u.name ?? row.uid);
    const parentId = u.parent ?? null;
    const parentUnit = parentId != null ? this._dir?.get(parentId) : null;
    const parentName = parentUnit?.name ?? (parentId == null ? '' : String(parentId));
    const code = row.uid.includes(':') ? row.uid.slice(row.uid.indexOf(':') + 1) : row.uid;

    if (all || v.name !== name || v.parentName !== parentName) {
      row.key = ` ${fold(`${name} ${parentName}`)} `;
      row.code = fold(code);
      row.id = fold(row.uid);
    }
    row.parentName = parentName;
    row.parentId = parentId;
    row.status = status;

    if (all || v.name !== name) {
      setText(row.cells.name, name);
      row.cells.name.title = `${name} (${code})`;
      v.name = name;
    }
    if (all || v.tier !== u.tier) {
      setData(row.tr, 'tier', String(u.tier ?? ''));
      setText(row.tier, shortTier(u.tier));
      row.tier.title = tierLabel(u.tier);
      row.tier.className = `tier-badge tier-${u.tier}`;
      v.tier = u.tier;
    }
    if (all || v.parentName !== parentName) {
      setText(row.cells.parent, parentName || DASH);
      row.cells.parent.title = parentName;
      v.parentName = parentName;
    }
    if (all || v.status !== status) {
      setData(row.tr, 'status', status);
      row.badge.className = `rc-status rc-status-${status}`;
      setText(row.statusText, t(`rollcall.status.${status}`));
      v.status = status;
    }
    const participants = num(u.participants);
    this._cell(row, 'participants', participants == null ? DASH : this._fmtInt.format(participants), all);

    // Quality describes a connected unit; once it left, old figures would mislead.
    const rtt = connected ? num(u.rtt_ms) : null;
    const loss = connected ? num(u.loss) : null;
    const bitrate = connected ? num(u.bitrate_kbps) : null;
    this._cell(row, 'rtt', rtt == null ? DASH : this._fmtInt.format(Math.round(rtt)), all,
      rtt == null ? '' : rtt >= RTT_BAD ? 'bad' : rtt >= RTT_WARN ? 'warn' : '');
    this._cell(row, 'loss', loss == null ? DASH : this._fmtPct.format(loss * 100), all,
      loss == null ? '' : loss >= LOSS_BAD ? 'bad' : loss >= LOSS_WARN ? 'warn' : '');
    this._cell(row, 'bitrate', bitrate == null ? DASH : this._fmtInt.format(Math.round(bitrate)), all);
    row.sortValues = { participants, rtt, loss, bitrate };

    const since = num(u.since);
    const elapsed = since == null ? null : Math.max(0, now - since);
    row.sortValues.since = elapsed;
    this._cell(row, 'since', elapsed == null ? DASH : this._duration(elapsed), all);
    if (all || v.sinceAt !== since) {
      row.cells.since.title = since == null ? '' : t('rollcall.since.at', { time: this._fmtTime.format(since) });
      v.sinceAt = since;
    }
  }

  _cell(row, key, text, all, quality = '') {
    const cell = row.cells[key];
    if (all || row.v[key] !== text) {
      setText(cell, text);
      row.v[key] = text;
    }
    if (all || row.v[`${key}Q`] !== quality) {
      setAttr(cell, 'data-quality', quality);
      cell.title = quality ? t(`rollcall.quality.${quality}`) : '';
      row.v[`${key}Q`] = quality;
    }
  }

  _duration(ms) {
    const s = Math.floor(ms / 1000);
    if (s < 60) return t('rollcall.since.seconds', { n: s });
    const m = Math.floor(s / 60);
    if (m < 60) return t('rollcall.since.minutes', { n: m });
    return t('rollcall.since.hours', { h: Math.floor(m / 60), m: m % 60 });
  }

  _matches(row) {
    const f = this._filter;
    if (f.status && row.status !== f.status) return false;
    if (f.tier && row.entry.tier !== f.tier) return false;
    if (f.parent && String(row.parentId) !== f.parent) return false;
    if (f.q) {
      if (row.code === f.q || row.id === f.q) return true;
      for (const word of f.q.split(' ')) if (!row.key.includes(word)) return false;
    }
    return true;
  }

  /** The tier and parent <select>s list what the roll call holds; rebuilt only when that changes. */
  _renderOptions(units) {
    const tiers = [...new Set(units.map((u) => u.tier).filter(Boolean))];
    const order = (tier) => {
      const i = this._dir ? this._dir.tierIndex(tier) : KNOWN_TIERS.indexOf(tier);
      return i < 0 ? 99 : i;
    };
    tiers.sort((a, b) => order(a) - order(b));
    const tierKey = tiers.join('|');
    if (tierKey !== this._optionKeys.tier) {
      this._optionKeys.tier = tierKey;
      this._fillSelect(this._tier, 'tier', t('rollcall.allTiers'), tiers.map((x) => [x, tierLabel(x)]));
    }
    const parents = new Map();
    for (const u of units) {
      if (u.parent == null) continue;
      const id = String(u.parent);
      if (!parents.has(id)) parents.set(id, this._dir?.get(id)?.name ?? id);
    }
    const list = [...parents].sort((a, b) =>
      (this._dir ? this._dir.orderOf(a[0]) - this._dir.orderOf(b[0]) : 0) || this._collator.compare(a[1], b[1]));
    const parentKey = list.map(([id, n]) => `${id}=${n}`).join('|');
    if (parentKey !== this._optionKeys.parent) {
      this._optionKeys.parent = parentKey;
      this._fillSelect(this._parent, 'parent', t('rollcall.allParents'), list);
    }
  }

  _fillSelect(select, key, allLabel, pairs) {
    const current = this._filter[key];
    select.replaceChildren(new Option(allLabel, ''), ...pairs.map(([value, label]) => new Option(label, value)));
    if (pairs.some(([value]) => value === current)) select.value = current;
    else {
      select.value = '';
      this._filter[key] = '';
    }
  }

  /** Puts rows in the sorted order, moving only those out of place. */
  _reorder() {
    const rows = [...this._rows.values()];
    const { key, dir } = this._sort;
    const idx = (r) => this._index.get(r.uid) ?? 0;
    if (key) {
      const cmp = this._comparator(key);
      rows.sort((a, b) => {
        const c = cmp(a, b, dir);
        return c || idx(a) - idx(b);
      });
    } else {
      rows.sort((a, b) => idx(a) - idx(b));
    }
    const tbody = this._tbody;
    let same = rows.length === this._domOrder.length;
    for (let i = 0; same && i < rows.length; i++) same = rows[i].uid === this._domOrder[i];
    if (same) return;
    let anchor = tbody.firstElementChild;
    for (const row of rows) {
      if (row.tr === anchor) anchor = anchor.nextElementSibling;
      else tbody.insertBefore(row.tr, anchor);
    }
    this._domOrder = rows.map((r) => r.uid);
  }

  _comparator(key) {
    const text = (get) => (a, b, dir) => {
      const x = get(a);
      const y = get(b);
      if (!x !== !y) return x ? -1 : 1; // empty last
      return dir * this._collator.compare(x, y) || this._collator.compare(a.v.name, b.v.name);
    };
    switch (key) {
      case 'name': return text((r) => r.v.name);
      case 'parent': return text((r) => r.parentName);
      case 'tier': return (a, b, dir) => {
        const ti = (r) => (this._dir ? this._dir.tierIndex(r.entry.tier) : KNOWN_TIERS.indexOf(r.entry.tier));
        return dir * (ti(a) - ti(b)) || this._collator.compare(a.v.name, b.v.name);
      };
      case 'status': return (a, b, dir) =>
        dir * (STATUS_RANK[a.status] - STATUS_RANK[b.status]) || this._collator.compare(a.v.name, b.v.name);
      default: return (a, b, dir) => {
        const x = a.sortValues?.[key];
        const y = b.sortValues?.[key];
        if (x == null || y == null) return x == null ? (y == null ? 0 : 1) : -1; // nulls last
        return dir * (x - y);
      };
    }
  }
}
