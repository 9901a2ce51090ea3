// The hub's HTTP API (docs/api.md) from Node, for tests: bearer-token login and JSON calls.
//
//   const token = await login(hub.url, 'lan', 'mật-khẩu');
//   const { meeting } = await createMeeting(hub.url, token, form);
//   const all = await links(hub.url, token, meeting.id);
//
// Node 20's global fetch; no dependencies. A hub serving a certificate it made is called
// through node:https trusting exactly that certificate (trustCertificate; lib/hub.mjs does it).

import https from 'node:https';

/** Certificates (PEM) trusted per origin. */
const trusted = new Map();

/** Trust `pem` (and only it) for calls to `origin`. */
export function trustCertificate(origin, pem) {
  trusted.set(new URL(origin).origin, pem);
}

/** fetch(), or for a trusted origin the same through node:https (fetch cannot take a CA). */
function send(url, init) {
  const ca = trusted.get(new URL(url).origin);
  if (!ca) return fetch(url, init);
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: init.method, headers: init.headers, ca }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({ ok: res.statusCode >= 200 && res.statusCode < 300, status: res.statusCode, text: async () => body });
      });
    });
    req.on('error', reject);
    if (init.body !== undefined) req.write(init.body);
    req.end();
  });
}

/** A refused call: `status` (HTTP), `code` (the API's `error`), `body` (the parsed answer). */
export class ApiCallError extends Error {
  constructor(method, path, status, body) {
    const code = body && typeof body === 'object' && typeof body.error === 'string' ? body.error : `http_${status}`;
    const message = body && typeof body === 'object' && typeof body.message === 'string' ? body.message : String(body ?? '');
    super(`${method} ${path}: ${status} ${code}${message ? ` (${message})` : ''}`);
    this.name = 'ApiCallError';
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

function urlOf(base, path) {
  return new URL(path, base.endsWith('/') ? base : `${base}/`).href;
}

/**
 * One call. Answers the parsed JSON (null when empty); throws ApiCallError for a non-2xx.
 * @param {string} base the hub's URL, e.g. http://198.18.0.1:PORT/
 * @param {string|null} token bearer token (null: anonymous)
 * @param {string} method
 * @param {string} path e.g. /api/meetings
 * @param {any} [body] sent as JSON when not undefined
 */
export async function api(base, token, method, path, body) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await send(urlOf(base, path), init);
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!res.ok) throw new ApiCallError(method, path, res.status, data);
  return data;
}

/** POST /api/login with bearer: true → the bearer token. */
export async function login(base, username, password) {
  const res = await api(base, null, 'POST', '/api/login', { username, password, bearer: true });
  if (!res?.token) throw new Error(`POST /api/login answered no token: ${JSON.stringify(res)}`);
  return res.token;
}

/**
 * POST /api/meetings → {meeting, conflicts}. A 409 `conflicts` throws (its body has the
 * conflicts); pass `acknowledge_conflicts: true` in `form` to save anyway.
 */
export async function createMeeting(base, token, form) {
  const res = await api(base, token, 'POST', '/api/meetings', form);
  return { meeting: res.meeting, conflicts: res.conflicts ?? [] };
}

/** GET /api/meetings/{id}/links → the links array. */
export async function links(base, token, meetingId) {
  const res = await api(base, token, 'GET', `/api/meetings/${encodeURIComponent(meetingId)}/links`);
  return res?.links ?? [];
}

/**
 * Plans a meeting live from now for two hours, hosted and chaired by `host` (recorded when
 * `recorded`), and takes its links. Returns {meeting, linkOf(unitId, role = 'official')}:
 * linkOf throws when the meeting has no such link.
 */
export async function planLiveMeeting(base, token, { title, agenda = '', scope, host = 'province:19', acknowledgeConflicts, maxEndpoints = null, recorded = false }) {
  const start = Date.now();
  const { meeting } = await createMeeting(base, token, {
    title,
    agenda,
    start,
    end: start + 2 * 3600_000,
    weekly_until: null,
    host_unit: host,
    chair_unit: host,
    chair_person: 'Ông Nguyễn Văn Chủ',
    chair_user: null,
    scope,
    recorded,
    max_endpoints: maxEndpoints,
    ...(acknowledgeConflicts === undefined ? {} : { acknowledge_conflicts: acknowledgeConflicts }),
  });
  const all = await links(base, token, meeting.id);
  const linkOf = (unitId, role = 'official') => {
    const l = all.find((x) => x.unit?.id === unitId && x.role === role);
    if (!l) throw new Error(`a ${role} link for ${unitId}`);
    return l;
  };
  return { meeting, linkOf };
}
