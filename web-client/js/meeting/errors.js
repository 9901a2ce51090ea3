// The meeting page's endings: the error view (a refused link or join, a lost connection)
// and the "left" view (you left, or the chair ended the meeting).
//
// Test hooks: #error-message[data-error-code=CODE]; #retry is hidden for refusals that
// would only repeat; #view-left[data-reason="left"|"meeting_ended"|"removed"].

import { t, errorText } from '../i18n.js';
import { JOIN_REFUSALS } from '../protocol.js';
import { $, S, MEETING_ID, TOKEN, setView, meetingTitle } from './state.js';

/**
 * Codes that trying again cannot fix: the join-token table of docs/api.md, the websocket
 * refusals of protocol.md, and a link without a meeting. No retry button for these.
 */
export const REFUSALS = new Set([
  ...JOIN_REFUSALS, // token and meeting refusals, unauthenticated, forbidden, not_found, invalid_name, …
  'bad_request', 'missing_params',
]);

/**
 * Shows the error view for `code`.
 * @param {string} code a hub or API error code, or a client one ('missing_params', …)
 * @param {{lost?: boolean, stage?: 'check'|'join'}} [opts] lost: we were in the meeting;
 *   stage: what "Try again" does (check the link again, or join again)
 */
export function showError(code, { lost = false, stage = 'join' } = {}) {
  clearTimeout(S.reconnectTimer);
  S.reconnecting = false;
  S.errorCode = code;
  S.errorLost = lost;
  S.errorStage = stage;
  renderError();
  setView('error');
}

export function renderError() {
  const code = S.errorCode;
  if (!code) return;
  $('error-title').textContent = t(S.errorLost ? 'errorView.lostTitle' : 'errorView.title');
  const message = $('error-message');
  message.dataset.errorCode = code;
  message.textContent = code === 'missing_params' ? t('errorView.missingParams') : errorText(code);
  $('retry').hidden = REFUSALS.has(code);
  // A staff chair whose login is missing can log in and come back.
  const login = $('error-login');
  login.hidden = !(code === 'unauthenticated' && !TOKEN && MEETING_ID != null);
  if (!login.hidden) login.href = `login.html?next=${encodeURIComponent(location.pathname + location.search)}`;
}

/**
 * The left view: 'left' (you, or the hub, ended your session), 'meeting_ended', or
 * 'removed' (the chair removed you: the link cannot rejoin this session).
 */
export function showLeft(reason) {
  S.leftReason = reason;
  renderLeft();
  setView('left');
}

export function renderLeft() {
  const reason = ['meeting_ended', 'removed'].includes(S.leftReason) ? S.leftReason : 'left';
  const title = meetingTitle();
  $('view-left').dataset.reason = reason;
  if (reason === 'meeting_ended') {
    $('left-title').textContent = t('ended.title');
    $('left-body').textContent = t(S.endedBySelf ? 'ended.bodySelf' : 'ended.body', { title });
  } else if (reason === 'removed') {
    $('left-title').textContent = t('removed.title');
    $('left-body').textContent = t('removed.body', { title });
  } else {
    $('left-title').textContent = t('left.title');
    $('left-body').textContent = t('left.body', { title });
  }
  $('rejoin').hidden = reason !== 'left';
}
