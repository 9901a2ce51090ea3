// Strings of the meeting classes and their retention periods, shared by the schedule page
// (the meeting form and details) and the archive page. Vietnamese first. The classes' own
// names come from the hub (GET /api/meeting-classes: `name`, `name_en`).

import { addStrings } from '../i18n.js';

addStrings({
  vi: {
    'ret.period.years_other': 'lưu {count} năm',
    'ret.period.permanent': 'lưu vĩnh viễn',
    'ret.option': '{name} — {period}',
    'ret.systemDefault': 'Theo mặc định của hệ thống',
    'ret.unknownClass': 'Loại “{id}”',
    'ret.loadFailed': 'Không tải được danh sách loại cuộc họp; hãy tải lại trang.',
  },
  en: {
    'ret.period.years_one': 'kept {count} year',
    'ret.period.years_other': 'kept {count} years',
    'ret.period.permanent': 'kept permanently',
    'ret.option': '{name} — {period}',
    'ret.systemDefault': 'The server’s default',
    'ret.unknownClass': 'Class “{id}”',
    'ret.loadFailed': 'Could not load the meeting classes; reload the page.',
  },
});
