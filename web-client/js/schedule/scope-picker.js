// The scope of a meeting — which units are invited — as docs/api.md defines it:
// `{root, tiers, add, remove}`: the root's subtree kept to the ticked tiers (none = all),
// plus `add`, minus `remove`; the host and chair units always.
//
// Parts (ids in schedule.html): #scope-root (unit picker), #scope-tiers (checkboxes
// input[name=scope-tier][value=TIER]), #scope-presets (button[data-preset]), #scope-add (a
// picker that adds any unit), #scope-exceptions (the add/remove lists), #scope-tree (the
// root's subtree, one checkbox per unit, children rendered only when a node is expanded, so
// a 3,000-unit national directory stays fast).

import { t } from '../i18n.js';
import { tierLabel } from '../directory.js';
import { icon } from '../icons.js';
import { el, $ } from './dom.js';
import { UnitPicker } from './unit-picker.js';
import { scopeUnits } from './units.js';

const CHILD_PAGE = 300; // children rendered per "show more" step

export class ScopePicker {
  /**
   * @param {{index: import('./units.js').UnitIndex, onChange: () => void}} o
   */
  constructor({ index, onChange }) {
    this.index = index;
    this.onChange = onChange;
    this.root = null; // unit id
    this.tiers = new Set();
    this.add = new Set();
    this.remove = new Set();
    this.host = null;
    this.chair = null;
    this.expanded = new Set();
    this.shownChildren = new Map(); // id → how many children are rendered
    this.included = new Set();
    this.rows = null; // rendered tree rows (see renderTree)
    this.treeRoot = null;
    this.counts = new Map();

    this.tierBox = $('scope-tiers');
    this.tree = $('scope-tree');
    this.exceptions = $('scope-exceptions');
    this.rootPicker = new UnitPicker($('scope-root'), {
      index,
      onChange: (u) => this.setRoot(u?.id ?? null),
    });
    this.addPicker = new UnitPicker($('scope-add'), {
      index,
      keepText: false,
      onChange: (u) => u && this.include(u.id, true),
    });

    this.renderTiers();
    this.tierBox.addEventListener('change', (e) => {
      const box = e.target.closest('input[name=scope-tier]');
      if (!box) return;
      if (box.checked) this.tiers.add(box.value);
      else this.tiers.delete(box.value);
      this.changed();
    });
    for (const btn of $('scope-presets').querySelectorAll('button[data-preset]')) {
      btn.addEventListener('click', () => this.applyPreset(btn.dataset.preset));
    }
    this.tree.addEventListener('change', (e) => {
      const box = e.target.closest('input.tree-check');
      if (box) this.include(box.dataset.unitId, box.checked);
    });
    this.tree.addEventListener('click', (e) => {
      const toggle = e.target.closest('button.tree-toggle');
      if (toggle) this.toggleNode(toggle.closest('li[data-unit-id]'));
      const more = e.target.closest('button.tree-more');
      if (more) this.showMore(more.dataset.unitId);
    });
    this.exceptions.addEventListener('click', (e) => {
      const btn = e.target.closest('button[data-undo]');
      if (!btn) return;
      const id = btn.dataset.unitId;
      (btn.dataset.undo === 'add' ? this.add : this.remove).delete(id);
      this.changed();
    });
    this.render();
  }

  /** The scope as the API takes it. */
  get value() {
    return {
      root: this.root,
      tiers: this.index.tiers.filter((tier) => this.tiers.has(tier)).concat([...this.tiers].filter((x) => !this.index.tiers.includes(x))),
      add: this.index.sortIds(this.add),
      remove: this.index.sortIds(this.remove),
    };
  }

  /** Fills from a meeting's scope (no onChange). */
  set(scope) {
    this.root = scope?.root ?? null;
    this.tiers = new Set(scope?.tiers ?? []);
    this.add = new Set(scope?.add ?? []);
    this.remove = new Set(scope?.remove ?? []);
    this.expanded = new Set(this.root ? [this.root] : []);
    this.shownChildren.clear();
    this.rootPicker.set(this.root);
    this.renderTiers();
    this.rows = null; // rebuild the tree
    this.render();
  }

  /** The host and chair units: always invited, shown ticked and locked in the tree. */
  setContext({ host, chair }) {
    if (host === this.host && chair === this.chair) return;
    this.host = host;
    this.chair = chair;
    this.render();
  }

  setRoot(id) {
    if (id === this.root) return;
    this.root = id;
    this.expanded = new Set(id ? [id] : []);
    this.shownChildren.clear();
    if (this.rootPicker.value?.id !== id) this.rootPicker.set(id);
    this.changed();
  }

  /** Ticks (or unticks) one unit: back to the rule if it was an exception, else a new one. */
  include(id, on) {
    if (!id) return;
    const base = this.baseIncludes(id);
    this.add.delete(id);
    this.remove.delete(id);
    if (on && !base) this.add.add(id);
    if (!on && base) this.remove.add(id);
    this.changed();
  }

  baseIncludes(id) {
    const u = this.index.get(id);
    if (!u || !this.root || !this.index.isWithin(id, this.root)) return false;
    return this.tiers.size === 0 || this.tiers.has(u.tier);
  }

  /** After the root or the tiers change: exceptions that now agree with the rule go. */
  normalise() {
    for (const id of [...this.remove]) if (!this.baseIncludes(id)) this.remove.delete(id);
    for (const id of [...this.add]) if (this.baseIncludes(id)) this.add.delete(id);
  }

  changed() {
    this.normalise();
    this.render();
    this.onChange();
  }

  // ---------------------------------------------------------------- presets

  /** The unit presets 2 and 3 apply to: the chosen root's province, else the host's, else the only one. */
  provinceForPresets() {
    const from = (id) => (id ? this.index.provinceOf(this.index.get(id)) : null);
    return from(this.root) ?? from(this.host) ?? this.index.soleProvince();
  }

  presetScope(name) {
    const idx = this.index;
    if (name === 'communes') {
      const root = idx.get(this.root);
      const deepest = idx.deepestTier;
      if (!root || !deepest || root.tier === deepest) return null;
      return { root: root.id, tiers: [deepest] };
    }
    const province = this.provinceForPresets();
    if (!province) return null;
    if (name === 'departments') {
      const tiers = ['province', 'district'].filter((x) => idx.tiers.includes(x));
      return { root: province.id, tiers };
    }
    if (name === 'province') return { root: province.id, tiers: [] };
    return null;
  }

  applyPreset(name) {
    const s = this.presetScope(name);
    if (!s) return;
    if (s.root !== this.root) {
      this.root = s.root;
      this.expanded = new Set([s.root]);
      this.shownChildren.clear();
      this.rootPicker.set(s.root);
    }
    this.tiers = new Set(s.tiers);
    this.add.clear();
    this.remove.clear();
    this.renderTiers();
    this.changed();
  }

  renderPresets() {
    for (const btn of $('scope-presets').querySelectorAll('button[data-preset]')) {
      const s = this.presetScope(btn.dataset.preset);
      btn.disabled = !s;
      const same = s && s.root === this.root && this.add.size === 0 && this.remove.size === 0 &&
        s.tiers.length === this.tiers.size && s.tiers.every((x) => this.tiers.has(x));
      btn.setAttribute('aria-pressed', String(Boolean(same)));
      btn.title = s ? '' : t(btn.dataset.preset === 'communes' ? 'sched.scope.presetNeedsRoot' : 'sched.scope.presetNeedsProvince');
    }
  }

  // ---------------------------------------------------------------- rendering

  /** After a language change: every label again (the tree is rebuilt, expanded nodes kept). */
  relabel() {
    this.renderTiers();
    const scroll = this.tree.scrollTop;
    this.rows = null;
    this.render();
    this.tree.scrollTop = scroll;
  }

  renderTiers() {
    const box = this.tierBox;
    const known = new Set(this.index.tiers);
    const all = [...this.index.tiers, ...[...this.tiers].filter((x) => !known.has(x))];
    box.replaceChildren(...all.map((tier) => el('label', { class: 'check-inline' },
      el('input', { type: 'checkbox', name: 'scope-tier', value: tier, checked: this.tiers.has(tier) }),
      el('span', { text: tierLabel(tier) }))));
  }

  render() {
    this.included = scopeUnits(this.index, { root: this.root, tiers: [...this.tiers], add: [...this.add], remove: [...this.remove] },
      { host: this.host, chair: this.chair });
    for (const box of this.tierBox.querySelectorAll('input[name=scope-tier]')) box.checked = this.tiers.has(box.value);
    $('scope-tiers-hint').textContent = t(this.tiers.size ? 'sched.scope.tiersSome' : 'sched.scope.tiersNone');
    this.renderPresets();
    this.renderExceptions();
    if (this.treeRoot !== this.root || !this.rows) this.renderTree();
    else this.refreshTree();
  }

  renderExceptions() {
    const chip = (id, kind) => el('li', { class: `chip chip-${kind}` },
      el('span', { text: this.index.name(id) }),
      el('button', {
        type: 'button',
        class: 'chip-x',
        'data-undo': kind,
        'data-unit-id': id,
        'aria-label': t(kind === 'add' ? 'sched.scope.undoAdd' : 'sched.scope.undoRemove', { name: this.index.name(id) }),
        html: icon('close'),
      }));
    const groups = [];
    if (this.add.size) {
      groups.push(el('div', { class: 'exceptions-group' },
        el('span', { class: 'exceptions-label', text: t('sched.scope.added', { count: this.add.size }) }),
        el('ul', { class: 'chips' }, this.index.sortIds(this.add).map((id) => chip(id, 'add')))));
    }
    if (this.remove.size) {
      groups.push(el('div', { class: 'exceptions-group' },
        el('span', { class: 'exceptions-label', text: t('sched.scope.removed', { count: this.remove.size }) }),
        el('ul', { class: 'chips' }, this.index.sortIds(this.remove).map((id) => chip(id, 'remove')))));
    }
    this.exceptions.replaceChildren(...groups);
    this.exceptions.hidden = groups.length === 0;
  }

  /** Rebuilds the tree (a new root): the root and the expanded nodes below it. */
  renderTree() {
    const tree = this.tree;
    this.treeRoot = this.root;
    this.rows = new Map(); // id → {li, row, box, note, count} of every rendered node
    const root = this.index.get(this.root);
    if (!this.root || !root) {
      tree.replaceChildren(el('p', { class: 'tree-empty', text: this.root ? t('sched.scope.rootMissing', { id: this.root }) : t('sched.scope.noRoot') }));
      return;
    }
    this.counts = this.includedBelow();
    tree.replaceChildren(el('ul', { class: 'tree-list', role: 'list' }, this.node(root, 1)));
    tree.scrollTop = 0;
  }

  /** Updates the rendered rows in place (ticks, notes, counts): no rebuild, focus stays. */
  refreshTree() {
    this.counts = this.includedBelow();
    for (const [id, r] of this.rows) this.paintRow(this.index.get(id), r);
  }

  /** For every unit of the root's subtree with children: how many units below it are invited. */
  includedBelow() {
    const order = [];
    this.index.walk(this.root, (u) => order.push(u));
    const below = new Map();
    for (let i = order.length - 1; i >= 0; i--) {
      const u = order[i];
      let n = 0;
      for (const k of this.index.kids(u.id)) n += (below.get(k.id) ?? 0) + (this.included.has(k.id) ? 1 : 0);
      below.set(u.id, n);
    }
    return below;
  }

  node(u, level) {
    const kids = this.index.kids(u.id);
    const open = kids.length > 0 && this.expanded.has(u.id);
    const checkId = `tree-${u.id.replace(/[^\w-]/g, '_')}`;
    const r = {
      toggle: kids.length
        ? el('button', { type: 'button', class: 'tree-toggle', 'aria-expanded': String(open), html: icon('arrow') })
        : el('span', { class: 'tree-spacer', 'aria-hidden': 'true' }),
      box: el('input', { type: 'checkbox', class: 'tree-check', id: checkId, 'data-unit-id': u.id }),
      note: el('span', { class: 'tree-note' }),
      count: kids.length ? el('span', { class: 'tree-count' }) : null,
    };
    r.row = el('div', { class: 'tree-row', style: `--level:${level}` },
      r.toggle, r.box,
      el('label', { for: checkId, class: 'tree-name', text: u.name }),
      el('span', { class: `tier-badge tier-${u.tier}`, text: tierLabel(u.tier) }),
      r.note, r.count);
    r.li = el('li', { class: 'tree-node', 'data-unit-id': u.id, 'data-level': level }, r.row);
    this.rows.set(u.id, r);
    this.paintRow(u, r);
    if (open) r.li.append(this.childList(u, level));
    return r.li;
  }

  childList(u, level) {
    const kids = this.index.kids(u.id);
    const limit = this.shownChildren.get(u.id) ?? CHILD_PAGE;
    const ul = el('ul', { class: 'tree-list', role: 'list' }, kids.slice(0, limit).map((k) => this.node(k, level + 1)));
    if (kids.length > limit) {
      ul.append(el('li', { class: 'tree-node' }, el('button', {
        type: 'button',
        class: 'btn btn-secondary btn-small tree-more',
        style: `margin-left: calc(${level} * 20px + 4px)`,
        'data-unit-id': u.id,
        text: t('sched.scope.showMore', { count: kids.length - limit }),
      })));
    }
    return ul;
  }

  paintRow(u, r) {
    const on = this.included.has(u.id);
    const forced = u.id === this.host || u.id === this.chair;
    r.row.className = `tree-row ${on ? 'included' : 'excluded'}${forced ? ' forced' : ''}`;
    r.box.checked = on;
    r.box.disabled = forced;
    r.note.textContent = forced ? t(u.id === this.host ? 'sched.scope.isHost' : 'sched.scope.isChair')
      : this.add.has(u.id) ? t('sched.scope.noteAdded')
        : this.remove.has(u.id) ? t('sched.scope.noteRemoved') : '';
    if (r.count) r.count.textContent = t('sched.scope.below', { n: this.counts.get(u.id) ?? 0, total: this.index.descendantCount(u.id) });
    if (r.toggle.tagName === 'BUTTON') {
      const open = r.toggle.getAttribute('aria-expanded') === 'true';
      r.toggle.setAttribute('aria-label', t(open ? 'sched.scope.collapse' : 'sched.scope.expand', { name: u.name }));
    }
  }

  /** Opens or closes one node: only its children are built or dropped. */
  toggleNode(li) {
    const id = li?.dataset.unitId;
    const r = id && this.rows.get(id);
    if (!r) return;
    const u = this.index.get(id);
    const level = Number(li.dataset.level);
    if (this.expanded.has(id)) {
      this.expanded.delete(id);
      const ul = li.querySelector(':scope > ul');
      if (ul) {
        for (const d of ul.querySelectorAll('li[data-unit-id]')) this.rows.delete(d.dataset.unitId);
        ul.remove();
      }
      r.toggle.setAttribute('aria-expanded', 'false');
    } else {
      this.expanded.add(id);
      r.toggle.setAttribute('aria-expanded', 'true');
      li.append(this.childList(u, level));
    }
    this.paintRow(u, r);
  }

  /** "Show more" under a node with many children: rebuild that node's list. */
  showMore(id) {
    const r = this.rows.get(id);
    if (!r) return;
    this.shownChildren.set(id, (this.shownChildren.get(id) ?? CHILD_PAGE) + CHILD_PAGE);
    const ul = r.li.querySelector(':scope > ul');
    if (ul) {
      for (const d of ul.querySelectorAll('li[data-unit-id]')) this.rows.delete(d.dataset.unitId);
      ul.replaceWith(this.childList(this.index.get(id), Number(r.li.dataset.level)));
    }
  }
}
