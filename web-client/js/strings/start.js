// The start page's own strings (index.html), Vietnamese first. Shared strings are in ../i18n.js.

import { addStrings } from '../i18n.js';

addStrings({
  vi: {
    'start.pageTitle': 'Cầu — Tham gia cuộc họp',
    'start.title': 'Tham gia cuộc họp',
    'start.lead': 'Mỗi đơn vị được mời nhận một đường dẫn tham gia riêng (qua văn bản, thư điện tử hoặc lịch họp). Đường dẫn cho biết cuộc họp, đơn vị và vai trò của bạn.',
    'start.howTo': 'Cách đơn giản nhất là bấm thẳng vào đường dẫn. Nếu không bấm được, hãy chép toàn bộ đường dẫn (hoặc mã tham gia) và dán vào ô dưới đây.',
    'start.link.label': 'Đường dẫn hoặc mã tham gia',
    'start.link.placeholder': 'Ví dụ: https://…/meeting.html?meeting=12&token=v1.…',
    'start.link.hint': 'Đường dẫn có dạng …/meeting.html?meeting=…&token=…; mã tham gia bắt đầu bằng “v1.”.',
    'start.link.go': 'Mở cuộc họp',
    'start.link.empty': 'Hãy dán đường dẫn hoặc mã tham gia vào ô trên.',
    'start.link.invalid': 'Đây không phải là đường dẫn hay mã tham gia của hệ thống. Hãy chép lại toàn bộ đường dẫn trong giấy mời.',
    'start.link.incomplete': 'Đường dẫn thiếu mã cuộc họp hoặc mã tham gia (phần “meeting=” và “token=”). Có thể đường dẫn bị chép thiếu; hãy chép lại toàn bộ.',
    'start.link.otherHost': 'Đường dẫn này thuộc một máy chủ khác ({host}), không phải máy chủ này ({here}). Hãy mở trực tiếp đường dẫn đó.',
    'start.staff.title': 'Cán bộ của tỉnh',
    'start.staff.body': 'Cán bộ lập lịch họp, cán bộ lưu trữ và cán bộ được giao chủ trì đăng nhập bằng tài khoản được cấp.',
    'start.staff.login': 'Cán bộ đăng nhập',
  },

  en: {
    'start.pageTitle': 'Cầu — Join a meeting',
    'start.title': 'Join a meeting',
    'start.lead': 'Every invited unit receives its own join link (in the official letter, by e-mail or in its calendar). The link says which meeting, which unit and which role.',
    'start.howTo': 'The simplest is to click the link itself. If that is not possible, copy the whole link (or the join code) and paste it below.',
    'start.link.label': 'Join link or code',
    'start.link.placeholder': 'e.g. https://…/meeting.html?meeting=12&token=v1.…',
    'start.link.hint': 'A link looks like …/meeting.html?meeting=…&token=…; a join code starts with “v1.”.',
    'start.link.go': 'Open the meeting',
    'start.link.empty': 'Paste a join link or code into the box above.',
    'start.link.invalid': 'This is not a join link or code of this system. Copy the whole link from the invitation again.',
    'start.link.incomplete': 'The link lacks the meeting or the join code (the “meeting=” and “token=” parts). It may have been copied incompletely; copy the whole link again.',
    'start.link.otherHost': 'This link belongs to another server ({host}), not this one ({here}). Open that link directly.',
    'start.staff.title': 'Province staff',
    'start.staff.body': 'Schedulers, archivists and staff named to chair a meeting log in with their account.',
    'start.staff.login': 'Staff login',
  },
});
