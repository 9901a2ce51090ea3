// Every visible string of the web client, Vietnamese first (the default) and English.
//
//   t('start.title')                       → the string in the current language
//   t('meeting.participants', {count: 3})  → picks a `_one`/`_other` variant when one exists
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

    'start.pageTitle': 'Cầu — Tham gia cuộc họp',
    'start.title': 'Tham gia cuộc họp',
    'start.lead': 'Chọn đơn vị của bạn, nhập họ tên và chọn phòng họp.',
    'start.unit.label': 'Đơn vị của bạn',
    'start.unit.placeholder': 'Tìm đơn vị, ví dụ: Đại Từ',
    'start.unit.hint': 'Gõ có dấu hoặc không dấu đều được.',
    'start.unit.count': '{count} đơn vị',
    'start.unit.noResults': 'Không tìm thấy đơn vị nào khớp với “{query}”.',
    'start.unit.more': 'Còn {count} đơn vị nữa — gõ thêm để thu hẹp kết quả.',
    'start.unit.selected': 'Đã chọn:',
    'start.unit.none': 'Chưa chọn đơn vị.',
    'start.unit.under': 'thuộc {parent}',
    'start.unit.required': 'Hãy chọn đơn vị của bạn trong danh sách.',
    'start.unit.results': 'Kết quả tìm đơn vị',
    'start.name.label': 'Họ và tên',
    'start.name.placeholder': 'Ví dụ: Nguyễn Văn An',
    'start.name.hint': 'Tên này hiển thị với mọi người trong phòng họp.',
    'start.name.required': 'Hãy nhập họ và tên.',
    'start.name.tooLong': 'Họ tên dài tối đa 64 ký tự.',
    'start.name.invalid': 'Họ tên có ký tự không hợp lệ.',
    'start.room.label': 'Phòng họp',
    'start.room.hint': 'Mỗi đơn vị có một phòng họp thường trực. Mặc định là phòng họp của tỉnh.',
    'start.room.groupLive': 'Đang họp',
    'start.room.groupSuggested': 'Gợi ý',
    'start.room.groupAll': 'Các phòng khác',
    'start.room.optionLive': '{name} — {count} người',
    'start.room.required': 'Hãy chọn phòng họp.',
    'start.live.title': 'Phòng đang họp',
    'start.live.empty': 'Hiện chưa có phòng nào đang họp.',
    'start.live.count': '{count} người',
    'start.live.unavailable': 'Không lấy được danh sách phòng đang họp.',
    'start.live.selected': 'Đang chọn',
    'start.continue': 'Tiếp tục',
    'start.loading': 'Đang tải danh bạ đơn vị…',
    'start.dirError': 'Không tải được danh bạ đơn vị. Hãy kiểm tra kết nối tới máy chủ rồi thử lại.',
    'start.retry': 'Thử lại',

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

    'meeting.pageTitle': 'Cầu — Phòng họp',
    'meeting.room': 'Phòng họp',
    'meeting.participants': '{count} người tham gia',
    'meeting.you': 'Bạn',
    'meeting.waiting': 'Bạn là người đầu tiên trong phòng. Đang chờ các điểm cầu khác tham gia…',
    'meeting.joined': '{name} đã vào phòng họp',
    'meeting.left': '{name} đã rời phòng họp',
    'meeting.lostConnection': '{name} bị mất kết nối',
    'meeting.audioBlocked': 'Trình duyệt đang chặn âm thanh. Bấm vào đây để nghe.',
    'meeting.guest': 'Người tham gia',
    'meeting.close': 'Đóng',

    'status.connecting': 'Đang kết nối…',
    'status.connected': 'Đã kết nối',
    'status.unstable': 'Kết nối chập chờn',
    'status.reconnecting': 'Đang kết nối lại…',
    'status.disconnected': 'Mất kết nối',

    'control.micOff': 'Tắt micrô',
    'control.micOn': 'Bật micrô',
    'control.cameraOff': 'Tắt camera',
    'control.cameraOn': 'Bật camera',
    'control.noMic': 'Không có micrô',
    'control.noCamera': 'Không có camera',
    'control.leave': 'Rời họp',
    'control.bar': 'Điều khiển cuộc họp',

    'tile.micMuted': 'Micrô đang tắt',
    'tile.speaking': 'Đang nói',

    'prejoin.title': 'Kiểm tra thiết bị trước khi vào họp',
    'prejoin.joiningAs': 'Tham gia với tên',
    'prejoin.change': 'Thay đổi',
    'prejoin.camera': 'Camera',
    'prejoin.microphone': 'Micrô',
    'prejoin.cameraOff': 'Camera đang tắt',
    'prejoin.starting': 'Đang mở camera và micrô…',
    'prejoin.level': 'Mức âm thanh micrô',
    'prejoin.levelHint': 'Hãy nói thử: thanh màu xanh sẽ chuyển động.',
    'prejoin.micIsOff': 'Micrô đang tắt',
    'prejoin.noDevice': 'Không có thiết bị',
    'prejoin.cameraN': 'Camera {n}',
    'prejoin.microphoneN': 'Micrô {n}',
    'prejoin.join': 'Vào phòng họp',
    'prejoin.joinWithout': 'Bạn vẫn có thể vào họp để xem và nghe.',
    'prejoin.retryDevices': 'Thử mở lại thiết bị',

    'device.camera': 'camera',
    'device.microphone': 'micrô',
    'device.both': 'camera và micrô',
    'media.denied': 'Trình duyệt đã chặn quyền dùng {device}. Hãy cho phép trong phần cài đặt của trang (biểu tượng ổ khóa cạnh thanh địa chỉ) rồi thử lại.',
    'media.notFound': 'Không tìm thấy {device} trên máy này.',
    'media.busy': 'Không mở được {device}: thiết bị đang được ứng dụng khác sử dụng hoặc bị lỗi.',
    'media.insecure': 'Trình duyệt chỉ cho dùng camera và micrô khi trang được mở qua HTTPS. Hãy hỏi quản trị viên địa chỉ HTTPS của hệ thống.',
    'media.unsupported': 'Trình duyệt này không hỗ trợ hội nghị truyền hình. Hãy dùng Chrome, Edge hoặc Firefox bản mới.',
    'media.other': 'Không mở được {device} ({detail}).',
    'media.ended': 'Mất tín hiệu từ {device}.',

    'joining.title': 'Đang vào phòng họp…',
    'joining.body': 'Đang kết nối tới máy chủ hội nghị của tỉnh.',
    'left.title': 'Bạn đã rời cuộc họp',
    'left.body': 'Bạn đã rời phòng họp {room}.',
    'left.rejoin': 'Tham gia lại',
    'left.home': 'Về trang đầu',
    'errorView.title': 'Không vào được phòng họp',
    'errorView.lostTitle': 'Mất kết nối tới phòng họp',
    'errorView.retry': 'Thử lại',
    'errorView.home': 'Về trang đầu',
    'errorView.missingParams': 'Đường dẫn thiếu thông tin phòng họp, đơn vị hoặc họ tên. Hãy bắt đầu lại từ trang đầu.',

    'error.malformed': 'Máy chủ không hiểu yêu cầu vừa gửi (sai định dạng).',
    'error.unknown_type': 'Máy chủ không hỗ trợ yêu cầu vừa gửi.',
    'error.too_large': 'Yêu cầu quá lớn nên máy chủ đã đóng kết nối.',
    'error.binary_not_supported': 'Máy chủ chỉ nhận dữ liệu dạng văn bản.',
    'error.unsupported_version': 'Trang này không còn khớp với phiên bản của máy chủ. Hãy tải lại trang (Ctrl+F5).',
    'error.out_of_order': 'Một yêu cầu gửi sai thứ tự nên đã bị bỏ qua.',
    'error.invalid_name': 'Họ tên không hợp lệ: cần từ 1 đến 64 ký tự và không có ký tự điều khiển.',
    'error.unknown_unit': 'Đơn vị hoặc phòng họp không có trong danh bạ của tỉnh.',
    'error.join_timeout': 'Quá thời gian chờ vào phòng họp. Hãy thử lại.',
    'error.bad_sdp': 'Không thiết lập được kênh âm thanh và hình ảnh với máy chủ.',
    'error.media_failed': 'Kết nối âm thanh và hình ảnh bị lỗi. Mạng có thể đang chặn kết nối UDP tới máy chủ.',
    'error.internal': 'Máy chủ gặp lỗi nội bộ. Hãy thử lại sau ít phút.',
    'error.connection_failed': 'Không kết nối được tới máy chủ hội nghị.',
    'error.connection_lost': 'Mất kết nối tới máy chủ hội nghị.',
    'error.timeout': 'Máy chủ hội nghị không phản hồi.',
    'error.replaced': 'Bạn đã vào phòng họp này từ một cửa sổ hoặc thiết bị khác.',
    'error.server_shutdown': 'Máy chủ hội nghị đang khởi động lại.',
    'error.unknown': 'Đã xảy ra lỗi ({code}).',
  },

  en: {
    'app.name': 'Cầu',
    'app.tagline': 'Online video conferencing',
    'app.footer': "The province's video-conferencing system. Meeting data stays on the province's own server.",
    'lang.other': 'Tiếng Việt',
    'lang.switch': 'Chuyển sang tiếng Việt',

    'start.pageTitle': 'Cầu — Join a meeting',
    'start.title': 'Join a meeting',
    'start.lead': 'Choose your unit, enter your name and pick the meeting room.',
    'start.unit.label': 'Your unit',
    'start.unit.placeholder': 'Search for a unit, e.g. Dai Tu',
    'start.unit.hint': 'Diacritics are optional.',
    'start.unit.count_one': '{count} unit',
    'start.unit.count_other': '{count} units',
    'start.unit.noResults': 'No unit matches “{query}”.',
    'start.unit.more': '{count} more — keep typing to narrow the list.',
    'start.unit.selected': 'Selected:',
    'start.unit.none': 'No unit selected.',
    'start.unit.under': 'under {parent}',
    'start.unit.required': 'Choose your unit from the list.',
    'start.unit.results': 'Unit search results',
    'start.name.label': 'Your name',
    'start.name.placeholder': 'e.g. Nguyen Van An',
    'start.name.hint': 'Everyone in the meeting sees this name.',
    'start.name.required': 'Enter your name.',
    'start.name.tooLong': 'The name can be at most 64 characters.',
    'start.name.invalid': 'The name contains characters that are not allowed.',
    'start.room.label': 'Meeting room',
    'start.room.hint': "Every unit has a standing room. The default is the province's room.",
    'start.room.groupLive': 'In session',
    'start.room.groupSuggested': 'Suggested',
    'start.room.groupAll': 'Other rooms',
    'start.room.optionLive_one': '{name} — {count} participant',
    'start.room.optionLive_other': '{name} — {count} participants',
    'start.room.required': 'Choose a meeting room.',
    'start.live.title': 'Rooms in session',
    'start.live.empty': 'No room is in session right now.',
    'start.live.count_one': '{count} participant',
    'start.live.count_other': '{count} participants',
    'start.live.unavailable': 'Could not load the rooms in session.',
    'start.live.selected': 'Selected',
    'start.continue': 'Continue',
    'start.loading': 'Loading the unit directory…',
    'start.dirError': 'Could not load the unit directory. Check the connection to the server and try again.',
    'start.retry': 'Try again',

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

    'meeting.pageTitle': 'Cầu — Meeting',
    'meeting.room': 'Meeting room',
    'meeting.participants_one': '{count} participant',
    'meeting.participants_other': '{count} participants',
    'meeting.you': 'You',
    'meeting.waiting': 'You are the first one here. Waiting for other endpoints to join…',
    'meeting.joined': '{name} joined',
    'meeting.left': '{name} left',
    'meeting.lostConnection': '{name} lost the connection',
    'meeting.audioBlocked': 'The browser is blocking sound. Click here to listen.',
    'meeting.guest': 'Participant',
    'meeting.close': 'Close',

    'status.connecting': 'Connecting…',
    'status.connected': 'Connected',
    'status.unstable': 'Unstable connection',
    'status.reconnecting': 'Reconnecting…',
    'status.disconnected': 'Disconnected',

    'control.micOff': 'Mute',
    'control.micOn': 'Unmute',
    'control.cameraOff': 'Stop video',
    'control.cameraOn': 'Start video',
    'control.noMic': 'No microphone',
    'control.noCamera': 'No camera',
    'control.leave': 'Leave',
    'control.bar': 'Meeting controls',

    'tile.micMuted': 'Microphone muted',
    'tile.speaking': 'Speaking',

    'prejoin.title': 'Check your devices before joining',
    'prejoin.joiningAs': 'Joining as',
    'prejoin.change': 'Change',
    'prejoin.camera': 'Camera',
    'prejoin.microphone': 'Microphone',
    'prejoin.cameraOff': 'Camera is off',
    'prejoin.starting': 'Starting camera and microphone…',
    'prejoin.level': 'Microphone level',
    'prejoin.levelHint': 'Say something: the green bar should move.',
    'prejoin.micIsOff': 'Microphone is off',
    'prejoin.noDevice': 'No device',
    'prejoin.cameraN': 'Camera {n}',
    'prejoin.microphoneN': 'Microphone {n}',
    'prejoin.join': 'Join meeting',
    'prejoin.joinWithout': 'You can still join to watch and listen.',
    'prejoin.retryDevices': 'Try the devices again',

    'device.camera': 'camera',
    'device.microphone': 'microphone',
    'device.both': 'camera and microphone',
    'media.denied': 'The browser blocked access to the {device}. Allow it in the site settings (the lock icon next to the address bar) and try again.',
    'media.notFound': 'No {device} was found on this computer.',
    'media.busy': 'Could not start the {device}: another application may be using it, or it failed.',
    'media.insecure': 'Browsers allow the camera and microphone only on pages opened over HTTPS. Ask the administrator for the HTTPS address of this system.',
    'media.unsupported': 'This browser does not support video conferencing. Use a recent Chrome, Edge or Firefox.',
    'media.other': 'Could not open the {device} ({detail}).',
    'media.ended': 'The {device} stopped working.',

    'joining.title': 'Joining the meeting…',
    'joining.body': "Connecting to the province's conference server.",
    'left.title': 'You left the meeting',
    'left.body': 'You left the room {room}.',
    'left.rejoin': 'Rejoin',
    'left.home': 'Back to start',
    'errorView.title': 'Could not join the meeting',
    'errorView.lostTitle': 'Lost the connection to the meeting',
    'errorView.retry': 'Try again',
    'errorView.home': 'Back to start',
    'errorView.missingParams': 'The link is missing the room, the unit or the name. Start again from the start page.',

    'error.malformed': 'The server could not understand the last request.',
    'error.unknown_type': 'The server does not support the last request.',
    'error.too_large': 'A request was too large, so the server closed the connection.',
    'error.binary_not_supported': 'The server accepts text messages only.',
    'error.unsupported_version': 'This page no longer matches the server version. Reload it (Ctrl+F5).',
    'error.out_of_order': 'A request was sent out of order and was ignored.',
    'error.invalid_name': 'The name is not valid: it needs 1 to 64 characters and no control characters.',
    'error.unknown_unit': "The unit or the room is not in the province's directory.",
    'error.join_timeout': 'Joining took too long. Try again.',
    'error.bad_sdp': 'Could not set up audio and video with the server.',
    'error.media_failed': 'The audio and video connection failed. The network may be blocking UDP to the server.',
    'error.internal': 'The server hit an internal error. Try again in a few minutes.',
    'error.connection_failed': 'Could not reach the conference server.',
    'error.connection_lost': 'The connection to the conference server was lost.',
    'error.timeout': 'The conference server did not respond.',
    'error.replaced': 'You joined this meeting from another window or device.',
    'error.server_shutdown': 'The conference server is restarting.',
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
