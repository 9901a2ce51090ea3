// The speaker timeline's arithmetic (no DOM; tested in tests/browser/archive-rules.test.mjs):
// a row per participant (a stay: a reconnection is a new participant id) with its presence,
// its files, its turns of speech and its microphone's mutes placed in percent of the
// session's length; the ticks of the time axis; which file plays a turn, and where.
//
// Times are ms on the session timeline (0 = the recording's `started_at`), as the API gives
// `offset_ms`, `end_ms`, `from_ms`, `to_ms` and `at_ms` (docs/recording.md).
//
// The files keep the session's timestamps (ffmpeg -copyts), and browsers differ in how they
// show such a file: Chromium's `currentTime` runs on the file's own timestamps (it opens at
// the first frame's time, the session position), Firefox's starts at 0 at the first frame.
// The player measures `origin`, the `currentTime` a freshly loaded file shows before it plays,
// and positions go through mediaSeconds() / sessionMsAt() with it, right in both.

const clamp = (x, lo, hi) => Math.min(hi, Math.max(lo, x));
const num = (x, fallback = 0) => (x == null || !Number.isFinite(Number(x)) ? fallback : Number(x));

/** The length (ms) the timeline shows: the session's, or the furthest thing on it; ≥ 1 s. */
export function timelineSpan(rec) {
  const start = num(rec?.started_at, null);
  let end = start != null && rec?.ended_at != null ? num(rec.ended_at) - start : 0;
  for (const f of rec?.files ?? []) end = Math.max(end, num(f.end_ms));
  for (const s of rec?.speakers ?? []) end = Math.max(end, num(s.to_ms));
  for (const m of rec?.mutes ?? []) end = Math.max(end, num(m.at_ms));
  if (start != null) {
    for (const p of rec?.participants ?? []) {
      if (p.left_at != null) end = Math.max(end, num(p.left_at) - start);
    }
  }
  return Math.max(1000, Math.round(end));
}

/** The intervals during which `participantId`'s `kind` ('audio') was muted, up to `endMs`. */
export function mutedIntervals(mutes, participantId, kind, endMs) {
  const events = (mutes ?? [])
    .filter((m) => m.participant_id === participantId && m.kind === kind)
    .sort((a, b) => num(a.at_ms) - num(b.at_ms));
  const out = [];
  let since = null;
  for (const m of events) {
    if (m.muted && since == null) since = num(m.at_ms);
    else if (!m.muted && since != null) {
      if (num(m.at_ms) > since) out.push({ from_ms: since, to_ms: num(m.at_ms) });
      since = null;
    }
  }
  if (since != null && endMs > since) out.push({ from_ms: since, to_ms: endMs });
  return out;
}

/**
 * The rows of the timeline, in order of joining:
 * `{span, rows: [{participant_id, name, unit_id, unit_name, stay, presence, turns, files, muted}]}`
 * where `presence`, each turn, file and muted interval carry `left` and `width` in percent of
 * `span` (a turn at least `minWidth` percent wide, so that a short one can still be clicked),
 * and `stay` counts the stays of the same person at the same unit (1, 2… ; 1 when alone).
 */
export function timelineRows(rec, { minWidth = 0.6 } = {}) {
  const span = timelineSpan(rec);
  const start = num(rec?.started_at, null);
  const pct = (ms) => clamp((num(ms) / span) * 100, 0, 100);
  const place = (from, to, min = 0) => {
    const left = pct(from);
    const width = Math.max(min, pct(to) - left);
    return { left: Math.min(left, 100 - width), width };
  };

  const people = [...(rec?.participants ?? [])];
  const known = new Set(people.map((p) => p.participant_id));
  // Someone the files or turns name but the list lacks still gets a row.
  for (const x of [...(rec?.files ?? []), ...(rec?.speakers ?? [])]) {
    if (x.participant_id != null && !known.has(x.participant_id)) {
      known.add(x.participant_id);
      people.push({ participant_id: x.participant_id, name: String(x.participant_id), unit_id: null, unit_name: '', joined_at: null, left_at: null });
    }
  }
  const joinedMs = (p) => (p.joined_at != null && start != null ? num(p.joined_at) - start : Infinity);
  people.sort((a, b) => joinedMs(a) - joinedMs(b));

  const stays = new Map();
  const rows = people.map((p) => {
    const key = `${p.name}\u0000${p.unit_id}`;
    const stay = (stays.get(key) ?? 0) + 1;
    stays.set(key, stay);
    const from = Number.isFinite(joinedMs(p)) ? Math.max(0, joinedMs(p)) : 0;
    const to = p.left_at != null && start != null ? num(p.left_at) - start : span;
    const turns = (rec?.speakers ?? [])
      .filter((s) => s.participant_id === p.participant_id && num(s.to_ms) >= num(s.from_ms))
      .sort((a, b) => num(a.from_ms) - num(b.from_ms))
      .map((s) => ({ participant_id: s.participant_id, from_ms: num(s.from_ms), to_ms: num(s.to_ms), ...place(s.from_ms, s.to_ms, minWidth) }));
    const files = (rec?.files ?? [])
      .filter((f) => f.participant_id === p.participant_id)
      .map((f) => ({ file: f, ...place(num(f.offset_ms), f.end_ms != null ? num(f.end_ms) : span) }));
    const muted = mutedIntervals(rec?.mutes, p.participant_id, 'audio', to)
      .map((m) => ({ ...m, ...place(m.from_ms, m.to_ms) }));
    return {
      participant_id: p.participant_id,
      name: p.name,
      unit_id: p.unit_id,
      unit_name: p.unit_name,
      stay,
      presence: place(from, Math.max(from, to)),
      turns,
      files,
      muted,
    };
  });
  // Number the stays only where someone had more than one.
  for (const r of rows) {
    const key = `${r.name}\u0000${r.unit_id}`;
    if (stays.get(key) === 1) r.stay = 0;
  }
  return { span, rows };
}

const STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600];

/** The time axis: ticks at a round step, at most `max` steps, `[{ms, left}]`, 0 first. */
export function timelineTicks(span, max = 6) {
  const last = STEPS_S[STEPS_S.length - 1];
  const stepS = STEPS_S.find((s) => span / (s * 1000) <= max) ?? last * Math.ceil(span / (last * 1000 * max));
  const step = stepS * 1000;
  const out = [];
  for (let ms = 0; ms <= span + 1e-6; ms += step) out.push({ ms, left: (ms / span) * 100 });
  return out;
}

/**
 * The file that plays a turn of `participant_id` from `from_ms`: that participant's
 * microphone-and-camera file covering the moment (else the first to start after it, else the
 * last before it), or null when it has none.
 */
export function fileForTurn(files, turn) {
  const own = (files ?? []).filter((f) => f.participant_id === turn.participant_id && f.content !== 'screen');
  if (!own.length) return null;
  const at = num(turn.from_ms);
  const covering = own.find((f) => num(f.offset_ms) <= at && (f.end_ms == null || at <= num(f.end_ms)));
  if (covering) return covering;
  const later = own.filter((f) => num(f.offset_ms) > at).sort((a, b) => num(a.offset_ms) - num(b.offset_ms));
  if (later.length) return later[0];
  return own.sort((a, b) => num(b.offset_ms) - num(a.offset_ms))[0];
}

/**
 * The player's `currentTime` (s) for session time `sessionMs` in `file`, whose first frame
 * the freshly loaded player showed at `origin` seconds: `origin + (sessionMs − offset_ms)`,
 * never before the file's start.
 */
export function mediaSeconds(file, sessionMs, origin = 0) {
  return num(origin) + Math.max(0, num(sessionMs) - num(file?.offset_ms)) / 1000;
}

/** The session time (ms) the player shows at `seconds` — the inverse of mediaSeconds(). */
export function sessionMsAt(file, seconds, origin = 0) {
  return num(file?.offset_ms) + (num(seconds) - num(origin)) * 1000;
}
