// What the meeting page says about the session's recording, without the DOM (tested with
// node --test in tests/browser/stage-rules.test.mjs): the indicator everyone sees in the
// meeting header, and the warning a chair gets when the recording stops. The DOM side is
// meeting/recording.js.
//
// `meeting_state.recording` (docs/protocol.md; protocol-rules.js normalizeRecording):
//   null                                        not recorded: no indicator
//   {state: 'recording', reason: null}          "Đang ghi hình" (a red dot)
//   {state: 'stopped', reason: 'disk_low'}      "Đã dừng ghi hình" (grey); chairs are warned
//   {state: 'stopped', reason: 'failed'}        the same, with the recorder's failure as reason
// The meeting goes on in every case, and what was recorded is kept.

import { t } from './i18n.js';
import { normalizeRecording, RECORDING_STOP_REASONS } from './protocol-rules.js';
import './strings/recording.js';

/**
 * What to show for `recording` (raw from `meeting_state` or already normalised) to someone
 * whose role is `role` ('chair' | 'official'):
 *   {indicator: null | {state: 'recording'|'stopped', text, title},
 *    warning: null | {reason, key, text}}
 * The warning is for chairs only, while the recording is stopped; `reason` is the hub's (null
 * when it gave none), `key` names this stop ("stopped:disk_low"), so that a warning closed by
 * hand stays closed until the recording stops again for another reason or after restarting.
 */
export function recordingNotice(recording, role) {
  const rec = normalizeRecording(recording);
  if (!rec) return { indicator: null, warning: null };
  const stopped = rec.state === 'stopped';
  const indicator = {
    state: rec.state,
    text: t(stopped ? 'recording.stopped' : 'recording.on'),
    title: t(stopped ? 'recording.stoppedTitle' : 'recording.onTitle'),
  };
  if (!stopped || role !== 'chair') return { indicator, warning: null };
  const known = RECORDING_STOP_REASONS.includes(rec.reason);
  return {
    indicator,
    warning: {
      reason: rec.reason,
      key: `stopped:${rec.reason ?? ''}`,
      text: t(`recording.warning.${known ? rec.reason : 'other'}`),
    },
  };
}
