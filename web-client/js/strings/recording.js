// The meeting page's strings for the session's recording (meeting_state `recording`): the
// indicator in the meeting header, and the warning a chair gets when the recording stops.
// Vietnamese first.

import { addStrings } from '../i18n.js';

addStrings({
  vi: {
    'recording.on': 'Đang ghi hình',
    'recording.onTitle': 'Phiên họp đang được ghi hình để lưu trữ',
    'recording.stopped': 'Đã dừng ghi hình',
    'recording.stoppedTitle': 'Ghi hình đã dừng; phần đã ghi được giữ nguyên',
    'recording.warning.disk_low': 'Ghi hình đã dừng: ổ đĩa máy chủ sắp đầy. Phần đã ghi được giữ nguyên; hãy báo bộ phận kỹ thuật.',
    'recording.warning.failed': 'Ghi hình đã dừng do lỗi của bộ ghi. Phần đã ghi được giữ nguyên; hãy báo bộ phận kỹ thuật.',
    'recording.warning.recorder_lost': 'Ghi hình đã dừng: mất kết nối với máy ghi hình. Phần đã ghi được giữ nguyên; hãy báo bộ phận kỹ thuật.',
    'recording.warning.recorder_unavailable': 'Ghi hình chưa bắt đầu: không có máy ghi hình nào kết nối. Cuộc họp vẫn tiếp tục; hãy báo bộ phận kỹ thuật.',
    'recording.warning.other': 'Ghi hình đã dừng. Phần đã ghi được giữ nguyên; hãy báo bộ phận kỹ thuật.',
  },
  en: {
    'recording.on': 'Recording',
    'recording.onTitle': 'This session is being recorded for the archive',
    'recording.stopped': 'Recording stopped',
    'recording.stoppedTitle': 'Recording has stopped; what was recorded is kept',
    'recording.warning.disk_low': "Recording has stopped: the server's disk is almost full. What was recorded is kept; please tell the technical team.",
    'recording.warning.failed': 'Recording has stopped because the recorder failed. What was recorded is kept; please tell the technical team.',
    'recording.warning.recorder_lost': 'Recording has stopped: the recording machine was lost. What was recorded is kept; please tell the technical team.',
    'recording.warning.recorder_unavailable': 'Recording did not start: no recording machine connected. The meeting goes on; please tell the technical team.',
    'recording.warning.other': 'Recording has stopped. What was recorded is kept; please tell the technical team.',
  },
});
