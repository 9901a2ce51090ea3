// The session's recording on the meeting page (meeting_state `recording`): the indicator in
// the meeting header for everyone — a red dot and "Đang ghi hình" while the session is
// recorded, grey "Đã dừng ghi hình" once it stopped — and, for chairs only, a warning over
// the stage when it stops (the server's disk is nearly full, or the recorder failed), also
// when a chair joins a session whose recording already stopped. What each says is
// recording-notice.js (pure, tested with node).
//
// Test hooks: #recording-indicator[data-state=recording|stopped] (hidden when the meeting is
// not recorded); #recording-warning[data-reason] (chairs, while stopped; #recording-warning-close
// hides it until the recording stops again for another reason).

import { $, S, on } from './state.js';
import { recordingNotice } from '../recording-notice.js';

let dismissed = ''; // the warning's key when the chair closed it

export function renderRecording() {
  const { indicator, warning } = recordingNotice(S.meetingState.recording, S.role);
  const pill = $('recording-indicator');
  pill.hidden = !indicator;
  if (indicator) {
    pill.dataset.state = indicator.state;
    $('recording-indicator-text').textContent = indicator.text;
    pill.title = indicator.title;
  } else {
    delete pill.dataset.state;
  }

  if (S.meetingState.recording?.state !== 'stopped') dismissed = ''; // a new stop warns again
  const banner = $('recording-warning');
  const show = !!warning && warning.key !== dismissed && S.view === 'meeting';
  banner.hidden = !show;
  if (warning) {
    banner.dataset.reason = warning.reason ?? '';
    $('recording-warning-text').textContent = warning.text;
  } else {
    delete banner.dataset.reason;
  }
}

export function initRecording() {
  $('recording-warning-close').addEventListener('click', () => {
    dismissed = recordingNotice(S.meetingState.recording, S.role).warning?.key ?? '';
    $('recording-warning').hidden = true;
  });
  on('meeting-state', renderRecording);
  on('welcome', renderRecording);
  on('view', renderRecording);
}
