// The chat panel: to everyone or to the chair only; an unread count while it is closed.
// Every part of a message goes in with textContent, never as HTML. Kept across a rejoin.
//
// Test hooks: #toggle-chat, #chat-badge, #chat-panel, #chat-log li.chat-msg[data-from]
// [data-to][data-self] (.chat-name, .chat-unit, .chat-time, .chat-text); #chat-to (all |
// chair), #chat-input, #chat-send, #chat-error[data-code].

import { t, getLang } from '../i18n.js';
import { cleanChatText, CHAT_MAX_CHARS } from '../protocol.js';
import { el } from '../tiles.js';
import { $, S, on } from './state.js';
import { setPanel, togglePanel, closeOnEscape, toast } from './ui.js';

const KEEP = 500; // messages kept on the page
const TIME_ZONE = 'Asia/Ho_Chi_Minh';

function timeText(at) {
  return new Intl.DateTimeFormat(getLang() === 'vi' ? 'vi-VN' : 'en-GB', {
    timeZone: TIME_ZONE, hour: '2-digit', minute: '2-digit', hour12: false,
  }).format(at);
}

function messageItem(m) {
  const li = el('li', 'chat-msg');
  li.dataset.from = m.from ?? '';
  li.dataset.to = m.to;
  li.dataset.self = String(!!m.self);
  const head = el('div', 'chat-head');
  head.append(el('span', 'chat-name', m.self ? t('meeting.you') : m.name || t('meeting.guest')));
  if (m.unit) head.append(el('span', 'chat-unit', m.unit));
  const time = el('time', 'chat-time', timeText(m.at));
  time.dateTime = new Date(m.at).toISOString();
  head.append(time);
  if (m.to === 'chair') head.append(el('span', 'chat-private', t('chat.privateTag')));
  li.append(head, el('p', 'chat-text', m.text));
  return li;
}

function renderLog() {
  const log = $('chat-log');
  log.replaceChildren(...S.chat.messages.map(messageItem));
  $('chat-empty').hidden = S.chat.messages.length > 0;
  log.scrollTop = log.scrollHeight;
}

function renderBadge() {
  const n = S.chat.unread;
  $('chat-badge').textContent = n ? (n > 99 ? '99+' : String(n)) : '';
  const btn = $('toggle-chat');
  const label = n ? t('chat.unread', { count: n }) : t('control.chat');
  btn.title = label;
  btn.setAttribute('aria-label', label);
}

function renderCount() {
  const { length } = cleanChatText($('chat-input').value);
  const count = $('chat-count');
  count.textContent = length > CHAT_MAX_CHARS - 200 ? `${length}/${CHAT_MAX_CHARS}` : '';
  count.classList.toggle('over', length > CHAT_MAX_CHARS);
}

function showError(code) {
  const err = $('chat-error');
  if (!code) {
    err.hidden = true;
    delete err.dataset.code;
    $('chat-input').removeAttribute('aria-invalid');
    return;
  }
  err.dataset.code = code;
  err.textContent = t(`chat.error.${code}`);
  err.hidden = false;
  $('chat-input').setAttribute('aria-invalid', 'true');
}

function send() {
  const input = $('chat-input');
  const c = cleanChatText(input.value);
  if (c.error) {
    showError(c.error);
    input.focus();
    return;
  }
  let sent;
  try {
    sent = S.client.sendChat(c.text, $('chat-to').value === 'chair' ? 'chair' : 'all');
  } catch (err) {
    showError(err?.code === 'invalid_text' ? 'control' : 'notSent');
    return;
  }
  if (!sent) {
    showError('notSent');
    return;
  }
  // The hub sends our own copy back: it shows up in the log then.
  showError(null);
  input.value = '';
  renderCount();
  input.focus();
}

function onMessage(m) {
  S.chat.messages.push(m);
  if (S.chat.messages.length > KEEP) S.chat.messages.splice(0, S.chat.messages.length - KEEP);
  const log = $('chat-log');
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  log.append(messageItem(m));
  while (log.children.length > KEEP) log.firstElementChild.remove();
  $('chat-empty').hidden = true;
  if (atBottom || m.self) log.scrollTop = log.scrollHeight;
  if (!m.self && (S.panel !== 'chat' || document.hidden)) {
    S.chat.unread++;
    renderBadge();
    // A word only to the chair is worth a toast: the chair may be looking at the roll call.
    if (m.to === 'chair' && S.panel !== 'chat') toast(t('chat.privateToast', { name: m.name, text: m.text.slice(0, 80) }));
  }
}

export function renderChat() {
  renderLog();
  renderBadge();
  renderCount();
  const err = $('chat-error');
  if (!err.hidden && err.dataset.code) err.textContent = t(`chat.error.${err.dataset.code}`);
}

export function initChat() {
  $('toggle-chat').addEventListener('click', () => togglePanel('chat'));
  $('chat-close').addEventListener('click', () => setPanel(null, { focus: true }));
  closeOnEscape($('chat-panel'), 'chat');
  $('chat-form').addEventListener('submit', (e) => {
    e.preventDefault();
    send();
  });
  const input = $('chat-input');
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    }
  });
  input.addEventListener('input', () => {
    if (!$('chat-error').hidden) showError(null);
    renderCount();
  });
  on('chat', onMessage);
  on('panel', (name) => {
    if (name !== 'chat') return;
    S.chat.unread = 0;
    renderBadge();
    const log = $('chat-log');
    log.scrollTop = log.scrollHeight;
  });
  on('error-toast', (code) => { if (code === 'invalid_text') showError('control'); });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && S.panel === 'chat' && S.chat.unread) {
      S.chat.unread = 0;
      renderBadge();
    }
  });
  renderChat();
}
