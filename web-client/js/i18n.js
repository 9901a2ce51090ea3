// Every visible string of the web client goes through here, Vietnamese first (the default)
// and English. This file holds the shared strings (units, tiers, error codes, the start
// page); a page's own strings live in js/strings/PAGE.js and are added with addStrings().
//
//   t('app.name')                          → the string in the current language
//   t('meeting.participants', {count: 3})  → picks a `_one`/`_other` variant when one exists
//   addStrings({vi, en})                   → a page module adds its own strings
//   applyI18n(root)                        → fills [data-i18n], [data-i18n-placeholder],
//                                            [data-i18n-title], [data-i18n-aria-label]
//
// The language is, in order: `?lang=vi|en` in the page URL, localStorage `cau.lang`, `vi`.
// Only the language switch writes localStorage (a link with ?lang= does not change the
// remembered preference).

export const LANGS = ['vi', 'en'];
export const DEFAULT_LANG = 'vi';
const STORAGE_KEY = 'cau.lang';

const STRINGS = {
  vi: {
    'app.name': 'Cầu',
    'app.tagline': 'Hội nghị truyền hình trực tuyến',
    'app.footer': 'Hệ thống hội nghị truyền hình của tỉnh. Dữ liệu cuộc họp chỉ lưu trên máy chủ của tỉnh.',
    'lang.other': 'English',
    'lang.switch': 'Switch to English',

    'unit.under': 'thuộc {parent}',
    'tier.national': 'Trung ương',
    'tier.province': 'Cấp tỉnh',
    'tier.district': 'Cấp huyện',
    'tier.commune': 'Cấp xã',
    'kind.quốc gia': 'Quốc gia',
    'kind.tỉnh': 'Tỉnh',
    'kind.thành phố trung ương': 'Thành phố trực thuộc trung ương',
    'kind.sở/ban/ngành': 'Sở, ban, ngành',
    'kind.huyện': 'Huyện',
    'kind.xã': 'Xã',
    'kind.phường': 'Phường',
    'kind.đặc khu': 'Đặc khu',

    'error.malformed': 'Máy chủ không hiểu yêu cầu vừa gửi (sai định dạng).',
    'error.unknown_type': 'Máy chủ không hỗ trợ yêu cầu vừa gửi.',
    'error.too_large': 'Yêu cầu quá lớn nên máy chủ đã đóng kết nối.',
    'error.binary_not_supported': 'Máy chủ chỉ nhận dữ liệu dạng văn bản.',
    'error.unsupported_version': 'Trang này không còn khớp với phiên bản của máy chủ. Hãy tải lại trang (Ctrl+F5).',
    'error.out_of_order': 'Một yêu cầu gửi sai thứ tự nên đã bị bỏ qua.',
    'error.invalid_name': 'Họ tên không hợp lệ: cần từ 1 đến 64 ký tự và không có ký tự điều khiển.',
    'error.bad_request': 'Đường dẫn tham gia không đúng định dạng. Hãy chép lại toàn bộ đường dẫn trong giấy mời.',
    'error.unauthenticated': 'Đường dẫn này không có mã tham gia. Hãy mở đúng đường dẫn đã gửi cho đơn vị của bạn. Nếu bạn là cán bộ được giao chủ trì cuộc họp này, hãy đăng nhập rồi mở lại đường dẫn.',
    'error.invalid_token': 'Đường dẫn tham gia không hợp lệ: có thể đã bị chép thiếu hoặc sai. Hãy chép lại toàn bộ đường dẫn trong giấy mời, hoặc liên hệ bộ phận tổ chức cuộc họp.',
    'error.expired_token': 'Đường dẫn tham gia đã hết hạn. Hãy liên hệ bộ phận tổ chức cuộc họp để được cấp đường dẫn mới.',
    'error.revoked_token': 'Đường dẫn tham gia này đã bị thu hồi hoặc đã được thay bằng đường dẫn mới. Hãy dùng đường dẫn mới nhất đơn vị nhận được, hoặc liên hệ bộ phận tổ chức cuộc họp.',
    'error.wrong_meeting': 'Đường dẫn này dành cho một cuộc họp khác. Hãy kiểm tra lại đường dẫn trong giấy mời.',
    'error.not_found': 'Không tìm thấy cuộc họp này. Đường dẫn có thể bị sai; hãy kiểm tra lại giấy mời.',
    'error.forbidden': 'Tài khoản đang đăng nhập không được chỉ định chủ trì cuộc họp này. Hãy dùng đường dẫn tham gia của đơn vị.',
    'error.forbidden_action': 'Bạn không có quyền thực hiện thao tác này.',
    'error.not_found_participant': 'Người tham dự này không còn trong cuộc họp.',
    'error.meeting_cancelled': 'Cuộc họp này đã bị huỷ.',
    'error.meeting_ended': 'Cuộc họp này đã kết thúc.',
    'error.meeting_not_started': 'Cuộc họp chưa mở. Bạn có thể vào phòng họp từ 30 phút trước giờ bắt đầu.',
    'error.room_busy': 'Phòng họp của đơn vị chủ trì đang có một cuộc họp khác. Hãy thử lại sau ít phút hoặc liên hệ bộ phận tổ chức.',
    'error.join_timeout': 'Quá thời gian chờ vào phòng họp. Hãy thử lại.',
    'error.bad_sdp': 'Không thiết lập được kênh âm thanh và hình ảnh với máy chủ.',
    'error.media_failed': 'Kết nối âm thanh và hình ảnh bị lỗi. Mạng có thể đang chặn kết nối UDP tới máy chủ.',
    'error.internal': 'Máy chủ gặp lỗi nội bộ. Hãy thử lại sau ít phút.',
    'error.rate_limited': 'Trang gửi tới máy chủ quá nhiều yêu cầu trong thời gian ngắn; một số yêu cầu bị bỏ qua.',
    'error.connection_failed': 'Không kết nối được tới máy chủ hội nghị.',
    'error.connection_lost': 'Mất kết nối tới máy chủ hội nghị.',
    'error.timeout': 'Máy chủ hội nghị không phản hồi.',
    'error.replaced': 'Bạn đã vào phòng họp này từ một cửa sổ hoặc thiết bị khác.',
    'error.server_shutdown': 'Máy chủ hội nghị đang khởi động lại.',
    'error.session_locked': 'Chủ trì đã khóa phòng họp: tạm thời không nhận thêm điểm cầu. Hãy thử lại sau hoặc liên hệ bộ phận tổ chức.',
    'error.meeting_full': 'Cuộc họp đã đủ số điểm cầu tối đa đơn vị chủ trì đặt ra. Hãy thử lại sau ít phút hoặc liên hệ bộ phận tổ chức.',
    'error.removed': 'Chủ trì đã mời điểm cầu này ra khỏi phiên họp; đường dẫn này không vào lại được phiên họp đang diễn ra.',
    'error.invalid_text': 'Tin nhắn không hợp lệ (trống, quá 2000 ký tự hoặc có ký tự điều khiển).',
    'error.muted_by_chair': 'Chủ trì chưa cho phép bật lại.',
    'error.unknown': 'Đã xảy ra lỗi ({code}).',
  },

  en: {
    'app.name': 'Cầu',
    'app.tagline': 'Online video conferencing',
    'app.footer': "The province's video-conferencing system. Meeting data stays on the province's own server.",
    'lang.other': 'Tiếng Việt',
    'lang.switch': 'Chuyển sang tiếng Việt',

    'unit.under': 'under {parent}',
    'tier.national': 'National',
    'tier.province': 'Province',
    'tier.district': 'District',
    'tier.commune': 'Commune',
    'kind.quốc gia': 'Nation',
    'kind.tỉnh': 'Province',
    'kind.thành phố trung ương': 'Centrally governed city',
    'kind.sở/ban/ngành': 'Department',
    'kind.huyện': 'District',
    'kind.xã': 'Commune',
    'kind.phường': 'Ward',
    'kind.đặc khu': 'Special zone',

    'error.malformed': 'The server could not understand the last request.',
    'error.unknown_type': 'The server does not support the last request.',
    'error.too_large': 'A request was too large, so the server closed the connection.',
    'error.binary_not_supported': 'The server accepts text messages only.',
    'error.unsupported_version': 'This page no longer matches the server version. Reload it (Ctrl+F5).',
    'error.out_of_order': 'A request was sent out of order and was ignored.',
    'error.invalid_name': 'The name is not valid: it needs 1 to 64 characters and no control characters.',
    'error.bad_request': 'The join link is malformed. Copy the whole link from the invitation again.',
    'error.unauthenticated': 'This link has no join code. Open the link that was sent to your unit. If you are the staff member named to chair this meeting, log in and open the link again.',
    'error.invalid_token': 'The join link is not valid: it may have been copied incompletely or wrongly. Copy the whole link from the invitation again, or contact the meeting organisers.',
    'error.expired_token': 'This join link has expired. Contact the meeting organisers for a new link.',
    'error.revoked_token': 'This join link was revoked or replaced by a newer one. Use the latest link your unit received, or contact the meeting organisers.',
    'error.wrong_meeting': 'This link is for a different meeting. Check the link in the invitation.',
    'error.not_found': 'This meeting was not found. The link may be wrong; check the invitation.',
    'error.forbidden': 'The account you are logged in with is not named as the chair of this meeting. Use your unit\'s join link.',
    'error.forbidden_action': 'You are not allowed to do this.',
    'error.not_found_participant': 'That participant is no longer in the meeting.',
    'error.meeting_cancelled': 'This meeting has been cancelled.',
    'error.meeting_ended': 'This meeting has ended.',
    'error.meeting_not_started': 'The meeting is not open yet. You can join from 30 minutes before it starts.',
    'error.room_busy': "Another meeting is in progress in the host unit's room. Try again in a few minutes or contact the organisers.",
    'error.join_timeout': 'Joining took too long. Try again.',
    'error.bad_sdp': 'Could not set up audio and video with the server.',
    'error.media_failed': 'The audio and video connection failed. The network may be blocking UDP to the server.',
    'error.internal': 'The server hit an internal error. Try again in a few minutes.',
    'error.rate_limited': 'The page sent the server too many requests in a short time; some were ignored.',
    'error.connection_failed': 'Could not reach the conference server.',
    'error.connection_lost': 'The connection to the conference server was lost.',
    'error.timeout': 'The conference server did not respond.',
    'error.replaced': 'You joined this meeting from another window or device.',
    'error.server_shutdown': 'The conference server is restarting.',
    'error.session_locked': 'The chair has locked the meeting: no more endpoints for now. Try again later or contact the organisers.',
    'error.meeting_full': 'The meeting has as many endpoints as its host allows. Try again in a few minutes or contact the organisers.',
    'error.removed': 'The chair removed this endpoint from the session; this link cannot rejoin the session in progress.',
    'error.invalid_text': 'The message is not valid (empty, over 2000 characters, or with control characters).',
    'error.muted_by_chair': 'The chair has not allowed turning it back on yet.',
    'error.unknown': 'Something went wrong ({code}).',
  },
};

function readInitialLang() {
  try {
    const fromUrl = new URLSearchParams(globalThis.location?.search || '').get('lang');
    if (LANGS.includes(fromUrl)) return fromUrl;
  } catch { /* not in a browser */ }
  try {
    const stored = globalThis.localStorage?.getItem(STORAGE_KEY);
    if (LANGS.includes(stored)) return stored;
  } catch { /* storage blocked */ }
  return DEFAULT_LANG;
}

let current = readInitialLang();
const listeners = new Set();

export function getLang() {
  return current;
}

/** Switches the language, remembers it, updates <html lang> and notifies listeners. */
export function setLang(lang, { remember = true } = {}) {
  if (!LANGS.includes(lang)) return;
  current = lang;
  if (remember) {
    try { localStorage.setItem(STORAGE_KEY, lang); } catch { /* storage blocked */ }
  }
  if (globalThis.document) document.documentElement.lang = lang;
  for (const fn of listeners) fn(lang);
}

/** Calls `fn(lang)` after every language change; returns an unsubscribe function. */
export function onLangChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

const pluralRules = {};
function pluralCategory(lang, count) {
  pluralRules[lang] ||= new Intl.PluralRules(lang === 'vi' ? 'vi-VN' : 'en-GB');
  return pluralRules[lang].select(count);
}

/**
 * Adds a page's own strings, `{vi: {...}, en: {...}}`, so that each page keeps its strings in
 * its own module (e.g. `js/strings/schedule.js`) instead of growing this file. Keys must not
 * collide with existing ones (a collision is a bug: it warns and keeps the first).
 */
export function addStrings(tables) {
  for (const lang of LANGS) {
    for (const [key, value] of Object.entries(tables[lang] ?? {})) {
      if (key in STRINGS[lang]) console.warn('i18n: duplicate key', key);
      else STRINGS[lang][key] = value;
    }
  }
}

/** Whether `key` exists (in the current language or the default one). */
export function has(key) {
  return key in STRINGS[current] || key in STRINGS[DEFAULT_LANG] ||
    `${key}_other` in STRINGS[current];
}

/** The string for `key` in the current language, with `{param}` placeholders filled. */
export function t(key, params = {}) {
  const table = STRINGS[current];
  let s;
  if (typeof params.count === 'number') {
    s = table[`${key}_${pluralCategory(current, params.count)}`] ?? table[`${key}_other`];
  }
  s ??= table[key] ?? STRINGS[DEFAULT_LANG][key] ?? STRINGS[DEFAULT_LANG][`${key}_other`];
  if (s === undefined) {
    console.warn('i18n: missing key', key);
    return key;
  }
  return s.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

/** The translated message for an error code (hub or client side). */
export function errorText(code) {
  return has(`error.${code}`) ? t(`error.${code}`) : t('error.unknown', { code });
}

/** Fills elements marked with data-i18n* attributes below `root`. */
export function applyI18n(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll('[data-i18n-aria-label]')) el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel));
}

/** Wires a language switch button: shows the other language and toggles on click. */
export function bindLangSwitch(button) {
  const render = () => {
    button.textContent = t('lang.other');
    button.setAttribute('aria-label', t('lang.switch'));
    button.lang = current === 'vi' ? 'en' : 'vi';
  };
  render();
  onLangChange(render);
  button.addEventListener('click', () => {
    const next = current === 'vi' ? 'en' : 'vi';
    // A ?lang= in the address would win on reload: drop it so the choice sticks.
    try {
      const url = new URL(location.href);
      if (url.searchParams.has('lang')) {
        url.searchParams.delete('lang');
        history.replaceState(history.state, '', url);
      }
    } catch { /* ignore */ }
    setLang(next);
  });
}

if (globalThis.document) document.documentElement.lang = current;
