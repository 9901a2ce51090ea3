// The directory as the schedule page needs it: units by id ("TIER:CODE"), children by parent
// id, subtree walks and the province of a unit. Built once over `Directory.units` (search
// stays in directory.js); identity is the unit's `id`, never its bare code (the national
// directory reuses codes across tiers).

import { tierLabel } from '../directory.js';

export class UnitIndex {
  /** @param {import('../directory.js').Directory} dir */
  constructor(dir) {
    this.dir = dir;
    this.tiers = Array.isArray(dir.tiers) ? dir.tiers.slice() : [];
    this.units = dir.units.filter((u) => u && u.id != null);
    this.byId = new Map(this.units.map((u) => [u.id, u]));
    this.children = new Map();
    for (const u of this.units) {
      const p = u.parent != null && this.byId.has(u.parent) ? u.parent : null;
      if (!this.children.has(p)) this.children.set(p, []);
      this.children.get(p).push(u);
    }
    this.roots = this.children.get(null) ?? [];
    // File order (parents first): used to sort lists of units the way the directory reads.
    this.order = new Map();
    const stack = [...this.roots].reverse();
    while (stack.length) {
      const u = stack.pop();
      if (this.order.has(u.id)) continue;
      this.order.set(u.id, this.order.size);
      const kids = this.children.get(u.id) ?? [];
      for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]);
    }
    this._subtreeSize = new Map();
  }

  get(id) {
    return this.byId.get(id) ?? null;
  }

  /** The unit's name, or the id itself for a unit no longer in the directory. */
  name(id) {
    return this.byId.get(id)?.name ?? String(id ?? '');
  }

  parentOf(unit) {
    return unit?.parent != null ? this.get(unit.parent) : null;
  }

  kids(id) {
    return this.children.get(id) ?? [];
  }

  /** Ancestors of `unit`, nearest first. */
  ancestors(unit) {
    const out = [];
    const seen = new Set();
    for (let p = this.parentOf(unit); p && !seen.has(p.id); p = this.parentOf(p)) {
      out.push(p);
      seen.add(p.id);
    }
    return out;
  }

  /** Whether `id` is `rootId` or below it. */
  isWithin(id, rootId) {
    for (let u = this.get(id), n = 0; u && n < 64; u = this.parentOf(u), n++) {
      if (u.id === rootId) return true;
    }
    return false;
  }

  /** Calls fn(unit) for `rootId` and every unit below it, in tree order. */
  walk(rootId, fn) {
    const root = this.get(rootId);
    if (!root) return;
    const stack = [root];
    const seen = new Set();
    while (stack.length) {
      const u = stack.pop();
      if (seen.has(u.id)) continue;
      seen.add(u.id);
      fn(u);
      const kids = this.kids(u.id);
      for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]);
    }
  }

  /** Number of units strictly below `id` (cached). */
  descendantCount(id) {
    if (!this._subtreeSize.has(id)) {
      let n = -1;
      this.walk(id, () => n++);
      this._subtreeSize.set(id, Math.max(0, n));
    }
    return this._subtreeSize.get(id);
  }

  /**
   * The province a unit belongs to: the topmost unit of tier `province` in its chain (a
   * department has tier `province` too, under its province). Null above the provinces.
   */
  provinceOf(unit) {
    let found = null;
    for (const u of [unit, ...this.ancestors(unit)]) if (u?.tier === 'province') found = u;
    return found;
  }

  /** The directory's one province when it has exactly one (the provincial files). */
  soleProvince() {
    const provinces = this.units.filter((u) => u.tier === 'province' && this.parentOf(u)?.tier !== 'province');
    return provinces.length === 1 ? provinces[0] : null;
  }

  /** The deepest tier of the directory (`commune`). */
  get deepestTier() {
    return this.tiers[this.tiers.length - 1] ?? null;
  }

  /** Sorts unit ids (or units) in directory order. */
  sortIds(ids) {
    const o = (id) => this.order.get(id) ?? Number.MAX_SAFE_INTEGER;
    return [...ids].sort((a, b) => o(a) - o(b));
  }

  /** "Cấp xã · Huyện Đại Từ": the tier and the parent's name, to tell namesakes apart. */
  describe(unit) {
    const parent = this.parentOf(unit);
    return [tierLabel(unit.tier), parent?.name].filter(Boolean).join(' · ');
  }
}

/**
 * The units a scope invites, by the rule of docs/api.md: the root's subtree (root included)
 * kept to `tiers` (every tier when empty), plus `add`, minus `remove`; the host and chair
 * units always. Returns a Set of ids.
 */
export function scopeUnits(index, scope, { host = null, chair = null } = {}) {
  const out = new Set();
  if (scope?.root && index.get(scope.root)) {
    const tiers = new Set(scope.tiers ?? []);
    index.walk(scope.root, (u) => {
      if (tiers.size === 0 || tiers.has(u.tier)) out.add(u.id);
    });
  }
  for (const id of scope?.add ?? []) out.add(id);
  for (const id of scope?.remove ?? []) out.delete(id);
  if (host) out.add(host);
  if (chair) out.add(chair);
  return out;
}
