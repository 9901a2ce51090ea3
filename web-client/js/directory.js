// The directory of administrative units (GET /api/directory) and the rooms in session
// (GET /api/rooms): fetching, tree helpers, and search that ignores Vietnamese diacritics.
// No DOM code here except the i18n-based labels; reused by every page that names units.

import { t, has } from './i18n.js';

/**
 * Folds a string for matching: lower case, no diacritics (đ/Đ → d), punctuation → spaces,
 * runs of spaces collapsed. fold('Huyện Đại Từ') === 'huyen dai tu'.
 */
export function fold(s) {
  return String(s ?? '')
    .toLowerCase()
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/đ/g, 'd')
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

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

export class Directory {
  /** @param {{source?: string, tiers: string[], units: Array<{code,name,kind,tier,parent}>}} data */
  constructor(data) {
    this.source = data.source ?? '';
    this.tiers = Array.isArray(data.tiers) ? data.tiers : [];
    this.units = Array.isArray(data.units) ? data.units : [];
    this.byCode = new Map(this.units.map((u) => [u.code, u]));
    this.children = new Map();
    for (const u of this.units) {
      const key = u.parent ?? null;
      if (!this.children.has(key)) this.children.set(key, []);
      this.children.get(key).push(u);
    }
    const roots = this.children.get(null) ?? [];
    /** The root unit (parent null): its room is the default room. */
    this.root = roots[0] ?? this.units[0] ?? null;

    // Depth-first order (parents before their children, file order among siblings), and
    // the folded search keys, computed once.
    this._order = new Map();
    this._keys = new Map();
    const visit = (u, depth) => {
      if (this._order.has(u.code)) return;
      this._order.set(u.code, this._order.size);
      u.depth ??= depth;
      for (const c of this.children.get(u.code) ?? []) visit(c, depth + 1);
    };
    for (const r of roots) visit(r, 0);
    for (const u of this.units) visit(u, 0); // units whose parent is missing
    for (const u of this.units) {
      const name = fold(u.name);
      const parents = this.ancestors(u).map((a) => fold(a.name)).join(' ');
      this._keys.set(u.code, { name, bare: stripPrefix(name), parents, code: fold(u.code) });
    }
    this.sorted = [...this.units].sort((a, b) => this._order.get(a.code) - this._order.get(b.code));
  }

  get(code) {
    return this.byCode.get(code) ?? null;
  }

  parentOf(unit) {
    return unit?.parent != null ? this.get(unit.parent) : null;
  }

  /** The chain of parents of `unit`, nearest first. */
  ancestors(unit) {
    const out = [];
    const seen = new Set();
    let p = this.parentOf(unit);
    while (p && !seen.has(p.code)) {
      out.push(p);
      seen.add(p.code);
      p = this.parentOf(p);
    }
    return out;
  }

  tierIndex(tier) {
    const i = this.tiers.indexOf(tier);
    return i < 0 ? this.tiers.length : i;
  }

  /**
   * Units matching `query`, best first. Every word of the query must occur in the unit's
   * name (ranked first) or in its name plus its parents' names ("tan lap dai tu" finds
   * "Xã Tân Lập" under "Huyện Đại Từ"). An exact unit code matches too. An empty query
   * returns the whole directory in tree order.
   */
  search(query) {
    const q = fold(query);
    if (!q) return this.sorted.slice();
    const tokens = q.split(' ');
    const scored = [];
    for (const u of this.units) {
      const k = this._keys.get(u.code);
      let score;
      if (k.code === q) {
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
      this._order.get(a.u.code) - this._order.get(b.u.code));
    return scored.map((s) => s.u);
  }
}

async function getJson(url, { signal } = {}) {
  const res = await fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store', signal });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}

/** GET /api/directory as a Directory. */
export async function fetchDirectory(opts) {
  return new Directory(await getJson('/api/directory', opts));
}

/** GET /api/rooms: the rooms with someone in them, `[{code, name, participants}]`. */
export async function fetchRooms(opts) {
  const data = await getJson('/api/rooms', opts);
  return Array.isArray(data?.rooms) ? data.rooms : [];
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
    parent: parent ? t('start.unit.under', { parent: parent.name }) : '',
  };
}
