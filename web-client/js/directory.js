// The directory of administrative units (GET /api/directory): fetching, tree helpers, and
// search that ignores Vietnamese diacritics. No DOM code here except the i18n-based labels;
// reused by every page that names units.
//
// A unit is named by its id, "TIER:CODE" (docs/api.md: the national directory reuses codes
// across tiers), and `parent` is the parent's id or null. Everything here is keyed by id.

import { t, has } from './i18n.js';
import { fold } from './fold.js';

export { fold }; // folding lives in fold.js (pages that only search need not load the directory)

// Leading words of unit names that say the kind ("Xã Tân Lập"): a query for "tan" should
// rank "Xã Tân Lập" as a prefix match, as if the name began at "Tân".
const NAME_PREFIXES = [
  'thanh pho trung uong', 'thanh pho', 'thi xa', 'thi tran', 'tinh', 'huyen', 'quan', 'xa',
  'phuong', 'dac khu', 'so', 'ban', 'van phong',
];

function stripPrefix(folded) {
  for (const p of NAME_PREFIXES) {
    if (folded.startsWith(`${p} `)) return folded.slice(p.length + 1);
  }
  return folded;
}

/** "TIER:CODE", the id docs/api.md gives every unit. */
export function unitId(tier, code) {
  return `${tier}:${code}`;
}

export class Directory {
  /**
   * @param {{source?: string, tiers: string[], units: Array<{id,code,name,kind,tier,parent}>}} data
   *   as GET /api/directory answers. (Units without `id`, as in a directory file, get
   *   "TIER:CODE" and their parent code is resolved to the parent's id.)
   */
  constructor(data) {
    this.source = data.source ?? '';
    this.tiers = Array.isArray(data.tiers) ? data.tiers : [];
    this.units = normaliseIds(Array.isArray(data.units) ? data.units : []);
    /** id → unit */
    this.byId = new Map(this.units.map((u) => [u.id, u]));
    /** parent id (null for roots) → the children, in file order */
    this.children = new Map();
    for (const u of this.units) {
      const key = u.parent != null && this.byId.has(u.parent) ? u.parent : null;
      if (!this.children.has(key)) this.children.set(key, []);
      this.children.get(key).push(u);
    }
    const roots = this.children.get(null) ?? [];
    /** The root unit (parent null). */
    this.root = roots[0] ?? this.units[0] ?? null;

    // Depth-first order (parents before their children, file order among siblings), and
    // the folded search keys, computed once.
    this._order = new Map();
    this._keys = new Map();
    const visit = (u, depth) => {
      if (this._order.has(u.id)) return;
      this._order.set(u.id, this._order.size);
      u.depth ??= depth;
      for (const c of this.children.get(u.id) ?? []) visit(c, depth + 1);
    };
    for (const r of roots) visit(r, 0);
    for (const u of this.units) visit(u, 0); // defensive: cycles
    for (const u of this.units) {
      const name = fold(u.name);
      const parents = this.ancestors(u).map((a) => fold(a.name)).join(' ');
      this._keys.set(u.id, { name, bare: stripPrefix(name), parents, code: fold(u.code), id: fold(u.id) });
    }
    this.sorted = [...this.units].sort((a, b) => this._order.get(a.id) - this._order.get(b.id));
  }

  /** The unit with this id ("TIER:CODE"), or null. */
  get(id) {
    return this.byId.get(id) ?? null;
  }

  /** The children of the unit with this id (null: the roots). */
  childrenOf(id) {
    return this.children.get(id ?? null) ?? [];
  }

  parentOf(unit) {
    return unit?.parent != null ? this.get(unit.parent) : null;
  }

  /** The chain of parents of `unit`, nearest first. */
  ancestors(unit) {
    const out = [];
    const seen = new Set();
    let p = this.parentOf(unit);
    while (p && !seen.has(p.id)) {
      out.push(p);
      seen.add(p.id);
      p = this.parentOf(p);
    }
    return out;
  }

  /** Position of a unit in tree order (for sorting lists of units as the tree is). */
  orderOf(id) {
    return this._order.get(id) ?? Number.MAX_SAFE_INTEGER;
  }

  tierIndex(tier) {
    const i = this.tiers.indexOf(tier);
    return i < 0 ? this.tiers.length : i;
  }

  /**
   * Units matching `query`, best first. Every word of the query must occur in the unit's
   * name (ranked first) or in its name plus its parents' names ("tan lap dai tu" finds
   * "Xã Tân Lập" under "Huyện Đại Từ"). An exact unit code ("5443", "19-S01") or id
   * ("commune:5443") matches too; a code several tiers share matches each of them,
   * shallower tiers first. An empty query returns the whole directory in tree order.
   */
  search(query) {
    const q = fold(query);
    if (!q) return this.sorted.slice();
    const tokens = q.split(' ');
    const scored = [];
    for (const u of this.units) {
      const k = this._keys.get(u.id);
      let score;
      if (k.code === q || k.id === q) {
        score = -10000;
      } else if (tokens.every((tok) => k.name.includes(tok))) {
        score = 0;
        if (k.bare.startsWith(q) || k.name.startsWith(q)) score -= 3000;
        else if (` ${k.name}`.includes(` ${q}`)) score -= 2000;
        else if (tokens.every((tok) => ` ${k.name}`.includes(` ${tok}`))) score -= 1000;
      } else {
        const all = `${k.name} ${k.parents}`;
        if (!tokens.every((tok) => all.includes(tok))) continue;
        score = 5000;
      }
      score += this.tierIndex(u.tier) * 100;
      scored.push({ u, score });
    }
    scored.sort((a, b) => a.score - b.score ||
      this._order.get(a.u.id) - this._order.get(b.u.id));
    return scored.map((s) => s.u);
  }
}

/**
 * Units as the API gives them already carry `id` and a parent id. A directory file (codes
 * only) is accepted too: ids are made from tier and code, and a parent code becomes the id
 * of the unit with that code (the shallowest, if several tiers share it).
 */
function normaliseIds(units) {
  if (units.every((u) => u && typeof u.id === 'string')) return units;
  const byCode = new Map();
  for (const u of units) if (!byCode.has(u.code)) byCode.set(u.code, u);
  return units.map((u) => {
    if (typeof u.id === 'string') return u;
    const parentUnit = u.parent != null ? byCode.get(u.parent) : null;
    return {
      ...u,
      id: unitId(u.tier, u.code),
      parent: parentUnit ? unitId(parentUnit.tier, parentUnit.code) : null,
    };
  });
}

async function getJson(url, { signal } = {}) {
  const res = await fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store', credentials: 'same-origin', signal });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}

/** GET /api/directory as a Directory. */
export async function fetchDirectory(opts) {
  return new Directory(await getJson('/api/directory', opts));
}

// The kind a tier implies: no need to repeat "Xã" next to "Cấp xã".
const PLAIN_KINDS = {
  national: ['quốc gia'],
  province: ['tỉnh', 'thành phố trung ương'],
  district: ['huyện', 'quận', 'thị xã', 'thành phố'],
  commune: ['xã', 'phường', 'thị trấn'],
};

/** "Cấp xã" / "Commune"; an unknown tier is shown as it is. */
export function tierLabel(tier) {
  return has(`tier.${tier}`) ? t(`tier.${tier}`) : String(tier ?? '');
}

/** "Sở, ban, ngành" / "Department"; an unknown kind is shown as it is, capitalised. */
export function kindLabel(kind) {
  if (has(`kind.${kind}`)) return t(`kind.${kind}`);
  const s = String(kind ?? '');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * The short description that tells units with the same name apart:
 * tier, the kind when the tier does not already say it, and the parent's name.
 * Returns {tier, kind (or ''), parent (or '')}.
 */
export function describeUnit(dir, unit) {
  const plain = PLAIN_KINDS[unit.tier] ?? [];
  const parent = dir.parentOf(unit);
  return {
    tier: tierLabel(unit.tier),
    kind: plain.includes(unit.kind) ? '' : kindLabel(unit.kind),
    parent: parent ? t('unit.under', { parent: parent.name }) : '',
  };
}
