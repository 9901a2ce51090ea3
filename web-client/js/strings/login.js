// Strings of the staff login page (login.html). Vietnamese first, then English.

import { addStrings } from '../i18n.js';

addStrings({
  vi: {
    'login.pageTitle': 'Cầu — Đăng nhập cán bộ',
    'login.title': 'Đăng nhập',
    'login.lead': 'Dành cho cán bộ lập lịch họp, lưu trữ và quản trị hệ thống.',
    'login.username': 'Tên đăng nhập',
    'login.password': 'Mật khẩu',
    'login.showPassword': 'Hiện mật khẩu',
    'login.submit': 'Đăng nhập',
    'login.submitting': 'Đang đăng nhập…',
    'login.required': 'Hãy nhập tên đăng nhập và mật khẩu.',
    'login.badCredentials': 'Tên đăng nhập hoặc mật khẩu không đúng.',
    'login.rateLimited': 'Đăng nhập sai quá nhiều lần. Hãy thử lại sau {minutes} phút.',
    'login.rateLimitedSoon': 'Đăng nhập sai quá nhiều lần. Hãy thử lại sau ít phút.',
    'login.network': 'Không kết nối được tới máy chủ. Hãy kiểm tra mạng rồi thử lại.',
    'login.failed': 'Không đăng nhập được ({detail}). Hãy thử lại.',
    'login.joinHint': 'Đại biểu các điểm cầu không cần đăng nhập: hãy mở đường dẫn tham gia được gửi cho đơn vị.',
  },
  en: {
    'login.pageTitle': 'Cầu — Staff sign-in',
    'login.title': 'Sign in',
    'login.lead': 'For staff who schedule meetings, keep the archive and run the system.',
    'login.username': 'User name',
    'login.password': 'Password',
    'login.showPassword': 'Show password',
    'login.submit': 'Sign in',
    'login.submitting': 'Signing in…',
    'login.required': 'Enter your user name and password.',
    'login.badCredentials': 'Wrong user name or password.',
    'login.rateLimited_one': 'Too many failed sign-ins. Try again in {minutes} minute.',
    'login.rateLimited_other': 'Too many failed sign-ins. Try again in {minutes} minutes.',
    'login.rateLimitedSoon': 'Too many failed sign-ins. Try again in a few minutes.',
    'login.network': 'Could not reach the server. Check the network and try again.',
    'login.failed': 'Could not sign in ({detail}). Try again.',
    'login.joinHint': 'Participants at the endpoints do not sign in: open the join link sent to your unit.',
  },
});
