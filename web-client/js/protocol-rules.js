// The rules of protocol version 3 that need no socket and no peer connection: the simulcast
// encodings of the camera and of the shared screen and which of them to keep active, the
// shapes of `slots` and `meeting_state` (normalised to camelCase, its `recording` too), who
// may share a screen, what a chat text may be, and which endings are worth joining again
// after. Pure functions: protocol.js uses them, and `node --test` checks them. No DOM, no UI.

/** The simulcast encodings the client publishes, in this order (protocol.md, "Publishing"). */
export const SIMULCAST_ENCODINGS = Object.freeze([
  Object.freeze({ rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 }),
  Object.freeze({ rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 }),
  Object.freeze({ rid: 'f', maxBitrate: 1_500_000 }),
]);
export const RIDS = Object.freeze(['q', 'h', 'f']);
/** One encoding left (no simulcast): full size at f's rate, or q's size and rate in weak-link mode. */
export const SINGLE = Object.freeze({ scaleResolutionDownBy: 1, maxBitrate: 1_500_000 });
export const WEAK_SINGLE = Object.freeze({ scaleResolutionDownBy: 4, maxBitrate: 150_000 });

/**
 * The shared screen's encodings, in this order (protocol.md, "Sharing a screen"): screen
 * content wants detail more than motion, so both layers run at a low frame rate. Unlike the
 * camera's, they are always active (`layers` is about the camera only); in weak-link mode
 * only `h` is.
 */
export const SCREEN_ENCODINGS = Object.freeze([
  Object.freeze({ rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 300_000, maxFramerate: 5 }),
  Object.freeze({ rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 1_200_000, maxFramerate: 5 }),
]);
/** The screen with one encoding (a browser that refuses simulcast): full size, f's rate. */
export const SCREEN_SINGLE = Object.freeze({ maxBitrate: 1_200_000, maxFramerate: 5 });
/** …and in weak-link mode: h's size and rate. */
export const SCREEN_WEAK_SINGLE = Object.freeze({ scaleResolutionDownBy: 2, maxBitrate: 300_000, maxFramerate: 5 });
/** The `contentHint` a captured screen track gets: keep text sharp, drop frames first. */
export const SCREEN_CONTENT_HINT = 'detail';

export const RECEIVE_MODES = Object.freeze(['auto', 'low', 'audio_only']);
export const CHAT_TARGETS = Object.freeze(['all', 'chair']);
export const CHAT_MAX_CHARS = 2000;
export const SLOT_REASONS = Object.freeze(['screen', 'floor', 'chair', 'speaker', 'pinned', 'recent', 'other']);
/** What a slot carries (`slots[].source`): a microphone (audio), a camera or a screen (video). */
export const SOURCES = Object.freeze(['microphone', 'camera', 'screen']);
/** The error codes that refuse a `share_screen` (non-closing). */
export const SHARE_REFUSALS = Object.freeze(['forbidden', 'share_busy']);
/** The hub's defaults for `receive` before a client sends any (protocol.md). */
export const RECEIVE_DEFAULTS = Object.freeze({ mode: 'auto', pinned: Object.freeze([]), large_height: 720, small_height: 180 });

/**
 * Which encodings to keep active, as an array of booleans in the order of `encodings`.
 * @param {Array<{rid?: string}>} encodings the sender's current encodings
 * @param {string[]|null} hubRids the latest `layers.rids` (null before any `layers`: all stay on)
 * @param {boolean} weakLink only `q` (h and f never; q unless nobody needs any layer)
 * A browser may keep fewer encodings than offered (or the answer may refuse simulcast): one
 * encoding is the publisher's single layer, active unless nobody needs any layer; and when
 * somebody needs a layer this sender does not have, its nearest one is sent instead (the
 * lowest in weak-link mode, else the highest below the wanted one), never nothing.
 */
export function activeEncodings(encodings, hubRids, weakLink) {
  const wanted = hubRids == null ? new Set(RIDS) : new Set(hubRids);
  const anyone = hubRids == null || hubRids.length > 0;
  if (encodings.length <= 1) return encodings.map(() => anyone);
  const active = encodings.map((enc) => {
    if (!RIDS.includes(enc?.rid)) return anyone;
    if (weakLink) return enc.rid === 'q' && anyone;
    return wanted.has(enc.rid);
  });
  if (anyone && !active.includes(true)) {
    const rank = (rid) => (RIDS.includes(rid) ? RIDS.indexOf(rid) : RIDS.length);
    const top = weakLink ? 0 : Math.max(...[...wanted].map(rank));
    let pick = 0;
    encodings.forEach((enc, i) => { if (rank(enc?.rid) <= top && rank(enc?.rid) >= rank(encodings[pick]?.rid)) pick = i; });
    active[pick] = true;
  }
  return active;
}

/**
 * Which of the screen's encodings to keep active, as booleans in the order of `encodings`:
 * all of them, or in weak-link mode only `h` (one encoding, or none named `h`: the first).
 */
export function screenActiveEncodings(encodings, weakLink) {
  if (!weakLink || encodings.length <= 1) return encodings.map(() => true);
  const h = encodings.findIndex((e) => e?.rid === 'h');
  const keep = h >= 0 ? h : 0;
  return encodings.map((_, i) => i === keep);
}

/** The source a slot entry of `kind` carries when the hub names none (an older hub). */
export function defaultSource(kind) {
  return kind === 'audio' ? 'microphone' : 'camera';
}

/**
 * `slots.slots` as a Map mid → {mid, kind, source, participantId, reason, layer}; entries
 * without a mid or with an unknown kind are dropped; a missing or impossible `source` (a
 * screen on an audio slot) is the kind's default: microphone or camera.
 */
export function normalizeSlots(list) {
  const out = new Map();
  for (const s of Array.isArray(list) ? list : []) {
    if (!s || s.mid == null || (s.kind !== 'audio' && s.kind !== 'video')) continue;
    const mid = String(s.mid);
    const source = s.kind === 'video' && (s.source === 'camera' || s.source === 'screen') ? s.source : defaultSource(s.kind);
    out.set(mid, {
      mid,
      kind: s.kind,
      source,
      participantId: typeof s.participant_id === 'string' && s.participant_id ? s.participant_id : null,
      reason: typeof s.reason === 'string' ? s.reason : null,
      layer: s.kind === 'video' && typeof s.layer === 'string' ? s.layer : null,
    });
  }
  return out;
}

/** The state before any `meeting_state`. */
export function emptyMeetingState() {
  return { floor: null, hands: [], locked: false, selfUnmute: true, chairMuted: [], screens: [], secondShare: false, recording: null };
}

/** `meeting_state.recording.state`: the session is recorded for the archive now, or no longer. */
export const RECORDING_STATES = Object.freeze(['recording', 'stopped']);
/**
 * Why a recording stopped (`recording.reason` with state `stopped`): `disk_low` (the server's
 * free disk space fell below its reserve), `failed` (the recorder failed), `recorder_lost` (the
 * recorder process, `cau-recorder`, went away) or `recorder_unavailable` (none came for the
 * session). Either way what was recorded is kept and the meeting goes on.
 */
export const RECORDING_STOP_REASONS = Object.freeze(['disk_low', 'failed', 'recorder_lost', 'recorder_unavailable']);

/**
 * `meeting_state.recording` as null (the meeting is not recorded, or an older hub that does
 * not say) or {state: 'recording'|'stopped', reason}: reason null while recording; when
 * stopped, the hub's reason as sent (a non-empty string, so a reason newer than this page is
 * kept; RECORDING_STOP_REASONS are the documented ones) or null. An unknown state is null.
 */
export function normalizeRecording(rec) {
  if (!rec || typeof rec !== 'object' || !RECORDING_STATES.includes(rec.state)) return null;
  if (rec.state === 'recording') return { state: 'recording', reason: null };
  return { state: 'stopped', reason: typeof rec.reason === 'string' && rec.reason ? rec.reason : null };
}

/** A list of participant ids as the hub sent it: strings, no empties, no repeats, in order. */
function idList(list) {
  const out = [];
  for (const id of Array.isArray(list) ? list : []) {
    if (typeof id === 'string' && id && !out.includes(id)) out.push(id);
  }
  return out;
}

/**
 * `meeting_state` as {floor, hands, locked, selfUnmute, chairMuted: [{participantId, kind}],
 * screens (who shares a screen now, in the order they started), secondShare, recording
 * (normalizeRecording)}.
 */
export function normalizeMeetingState(msg) {
  const hands = idList(msg?.hands);
  const chairMuted = [];
  for (const m of Array.isArray(msg?.chair_muted) ? msg.chair_muted : []) {
    if (m && typeof m.participant_id === 'string' && (m.kind === 'audio' || m.kind === 'video')) {
      chairMuted.push({ participantId: m.participant_id, kind: m.kind });
    }
  }
  return {
    floor: typeof msg?.floor === 'string' && msg.floor ? msg.floor : null,
    hands,
    locked: !!msg?.locked,
    selfUnmute: msg?.self_unmute !== false,
    chairMuted,
    screens: idList(msg?.screens),
    secondShare: msg?.second_share === true,
    recording: normalizeRecording(msg?.recording),
  };
}

/**
 * Whether participant `id` may start sharing its screen as far as `state` says (protocol.md,
 * `share_screen`): a chair always may, anyone else only while it has the floor.
 */
export function mayShareScreen(state, id, isChair) {
  return !!isChair || (id != null && state?.floor === id);
}

/**
 * Whether a new share by `id` would be refused as `share_busy` now: someone else shares and
 * the chair has not allowed a second share, or two already share.
 */
export function shareBusy(state, id) {
  const others = (state?.screens ?? []).filter((s) => s !== id);
  return others.length >= 2 || (others.length === 1 && !state.secondShare);
}

/** Whether `state.chairMuted` holds participant `id` for `kind`. */
export function isChairMuted(state, id, kind) {
  return !!state?.chairMuted?.some((m) => m.participantId === id && m.kind === kind);
}

/**
 * Whether participant `id` may unmute `kind` itself (protocol.md, `mute`): it is not muted by
 * the chair, or the chair allows self-unmute, or it has the floor.
 */
export function mayUnmute(state, id, kind) {
  return !isChairMuted(state, id, kind) || state.selfUnmute || (state.floor != null && state.floor === id);
}

// Control characters but newline: C0 (tab and carriage return included) and C1, as Rust's
// char::is_control counts them.
// eslint-disable-next-line no-control-regex
const CHAT_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

/**
 * A chat text as the hub will accept it: CRLF/CR become newlines, tabs spaces, then trimmed.
 * Returns {text} or {error: 'empty'|'too_long'|'control'}; `length` is in characters
 * (code points, as the hub counts them).
 */
export function cleanChatText(raw) {
  const text = String(raw ?? '').replace(/\r\n?/g, '\n').replace(/\t/g, ' ').trim();
  const length = [...text].length;
  if (!length) return { error: 'empty', length };
  if (length > CHAT_MAX_CHARS) return { error: 'too_long', length };
  if (CHAT_CONTROL.test(text)) return { error: 'control', length };
  return { text, length };
}

/**
 * Endings after which joining again by oneself cannot help, or would fight the hub's
 * decision (protocol.md, "No resume"): `bye` left / replaced / removed / meeting_ended, and
 * the refusals of a `join` that would only repeat. `session_locked` and `meeting_full` are
 * among them too: the page offers a manual retry instead (the chair may unlock, a place may
 * free up).
 */
export const JOIN_REFUSALS = new Set([
  'invalid_name', 'unsupported_version',
  'unauthenticated', 'invalid_token', 'expired_token', 'revoked_token', 'wrong_meeting',
  'not_found', 'forbidden', 'meeting_cancelled', 'meeting_ended', 'meeting_not_started',
  'removed',
]);
export const NO_REJOIN = new Set([...JOIN_REFUSALS, 'left', 'replaced', 'removed', 'meeting_ended', 'session_locked', 'meeting_full']);

/** Whether a client that closed with `reason` should join again by itself. */
export function shouldRejoin(reason) {
  return !NO_REJOIN.has(reason);
}
