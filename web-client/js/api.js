// The hub's HTTP API (docs/api.md) for every page: JSON in and out, the session cookie, the
// CSRF header on changes, and one error type. No DOM code here except the redirect to the
// login page in requireStaff().
//
//   const { user } = await requireStaff();          // 401 → login.html?next=<this page>
//   const { meetings } = await get(`/api/meetings?from=${a}&to=${b}`);
//   try { await post('/api/meetings', form); }
//   catch (e) { if (e instanceof ApiError && e.code === 'conflicts') show(e.body.conflicts); }
//
// The CSRF token comes from GET /api/me (or the login answer) and is cached for the page's
// life; a `403 csrf` answer (the session was renewed in another tab) refreshes it once and
// repeats the request.

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** An API refusal: `{error, message}` from the hub, or a network failure (`status` 0). */
export class ApiError extends Error {
  /**
   * @param {{status: number, code: string, message?: string, body?: any, retryAfter?: number|null}} o
   *   `code` is the hub's `error` (`bad_request`, `unauthenticated`, `conflicts`…), or
   *   `network` when the hub could not be reached, or `http_STATUS` for an answer without one.
   *   `retryAfter` is the Retry-After header in seconds (429), or null.
   */
  constructor({ status, code, message = '', body = null, retryAfter = null }) {
    super(message || code);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.body = body;
    this.retryAfter = retryAfter;
  }
}

let session = null; // {user, csrf_token} once known
let sessionPending = null;

/** Forget the cached session (after logout, or to force a fresh GET /api/me). */
export function clearSession() {
  session = null;
  sessionPending = null;
}

async function parseBody(res) {
  if (res.status === 204) return null;
  const text = await res.text();
  if (!text) return null;
  const type = res.headers.get('Content-Type') || '';
  if (type.includes('json') || /^\s*[[{]/.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

function retryAfterSeconds(res) {
  const raw = res.headers.get('Retry-After');
  if (raw == null) return null;
  const n = Number(raw);
  if (Number.isFinite(n)) return Math.max(0, n);
  const at = Date.parse(raw); // the HTTP-date form
  return Number.isFinite(at) ? Math.max(0, Math.round((at - Date.now()) / 1000)) : null;
}

async function send(method, path, body, { signal, csrf }) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store', signal };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (csrf) headers['X-CSRF-Token'] = csrf;
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    throw new ApiError({ status: 0, code: 'network', message: String(err?.message ?? err) });
  }
  const data = await parseBody(res).catch(() => null);
  if (res.ok) return data;
  const obj = data && typeof data === 'object' ? data : null;
  throw new ApiError({
    status: res.status,
    code: typeof obj?.error === 'string' ? obj.error : `http_${res.status}`,
    message: typeof obj?.message === 'string' ? obj.message : (typeof data === 'string' ? data.slice(0, 300) : res.statusText),
    body: obj ?? data,
    retryAfter: retryAfterSeconds(res),
  });
}

/**
 * One API call. `body` (any JSON value) is sent when not undefined. Answers the parsed JSON
 * (null for an empty answer); throws ApiError. Changes (POST/PUT/DELETE) carry X-CSRF-Token
 * unless `{csrf: false}` (the login call, which has no session yet).
 * @param {'GET'|'POST'|'PUT'|'DELETE'} method
 * @param {string} path e.g. `/api/meetings/12`
 * @param {any} [body]
 * @param {{signal?: AbortSignal, csrf?: boolean}} [opts]
 */
export async function api(method, path, body, { signal, csrf = true } = {}) {
  const unsafe = UNSAFE.has(method) && csrf;
  let token = null;
  if (unsafe) token = (await me().catch(() => null))?.csrf_token ?? null;
  try {
    return await send(method, path, body, { signal, csrf: token });
  } catch (err) {
    if (!(unsafe && err instanceof ApiError && err.code === 'csrf')) throw err;
    // The session changed under us (a new login in another tab): fetch its token and retry once.
    clearSession();
    token = (await me().catch(() => null))?.csrf_token ?? null;
    if (!token) throw err;
    return send(method, path, body, { signal, csrf: token });
  }
}

export const get = (path, opts) => api('GET', path, undefined, opts);
export const post = (path, body, opts) => api('POST', path, body ?? {}, opts);
export const put = (path, body, opts) => api('PUT', path, body, opts);
export const del = (path, opts) => api('DELETE', path, undefined, opts);

/** GET /api/me, cached: `{user, csrf_token}`. Throws ApiError (401 when not logged in). */
export function me({ refresh = false } = {}) {
  if (refresh) clearSession();
  if (session) return Promise.resolve(session);
  if (!sessionPending) {
    const p = send('GET', '/api/me', undefined, { csrf: null });
    sessionPending = p;
    p.then((s) => {
      if (sessionPending === p) session = s;
    }, () => {}).finally(() => {
      if (sessionPending === p) sessionPending = null;
    });
  }
  return sessionPending;
}

/** POST /api/login (cookie session): `{user, csrf_token}`; caches the session. */
export async function login(username, password) {
  const s = await api('POST', '/api/login', { username, password }, { csrf: false });
  session = s && typeof s === 'object' ? s : null;
  return s;
}

/** POST /api/logout; the cached session is forgotten whatever the answer. */
export async function logout() {
  try {
    await api('POST', '/api/logout', {});
  } finally {
    clearSession();
  }
}

/** `login.html?next=<path>` for the current page (keeps `?lang=` when the page has it). */
export function loginUrl(next = location.pathname + location.search + location.hash) {
  const q = new URLSearchParams({ next });
  const lang = new URLSearchParams(location.search).get('lang');
  if (lang) q.set('lang', lang);
  return `login.html?${q}`;
}

/**
 * The staff session, or a redirect to the login page when there is none (401): the promise
 * then never settles, so the page does nothing more while the browser navigates away.
 * Other errors (network, 5xx) are thrown for the page to show.
 * @returns {Promise<{user: {username: string, display_name: string, roles: string[]}, csrf_token: string|null}>}
 */
export async function requireStaff() {
  try {
    return await me();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      location.replace(loginUrl());
      return new Promise(() => {});
    }
    throw err;
  }
}

/** Whether `user` may plan meetings (scheduler or admin). */
export function canSchedule(user) {
  const roles = Array.isArray(user?.roles) ? user.roles : [];
  return roles.includes('scheduler') || roles.includes('admin');
}

/** Whether `user` is an admin (accounts, the directory, the status page). */
export function isAdmin(user) {
  return Array.isArray(user?.roles) && user.roles.includes('admin');
}

/** Whether `user` may use the archive of recordings (archivist or admin). */
export function canArchive(user) {
  const roles = Array.isArray(user?.roles) ? user.roles : [];
  return roles.includes('archivist') || roles.includes('admin');
}
