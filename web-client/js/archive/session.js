// One recorded session (archive.html?session=ID): GET /api/recordings/{id} — the heading
// (meeting, time in Viet Nam time, host, units present, size), the recorder's problems, the
// downloads (the whole session as .tar, the manifest, each file), integrity verification
// (POST …/verify), the player, the files with their SHA-256, the speaker timeline and the
// access log.
//
// The archive view (`composite`: the screens, chairs and main speakers tiled, everyone's
// audio mixed) is listed first among the files once it is made, and its progress is shown
// while it is being made (the page looks again every few seconds).
//
// Retention (retention-panel.js): the class, the day until which it is kept, classifying it
// again, destroying it once that day has come. A destroyed recording (state `deleted`) says
// who destroyed it, when and why; its files are gone, so nothing plays, downloads or verifies.
//
// Hooks for tests: body[data-view="session"], #session-view[data-session-id][data-loaded],
// #files li[data-file][data-participant-id] (.file-play, .file-download, data-verify),
// #verify, #verify-result[data-ok] li[data-file][data-result: ok | mismatch | missing],
// #session-state[data-state], #session-notice[data-state="deleted"]; #retention (see there).

import { t } from '../i18n.js';
import { icon } from '../icons.js';
import { get, post } from '../api.js';
import { $, el, apiErrorText, copyText } from '../schedule/dom.js';
import { format, formatDay, dayOf } from '../schedule/time.js';
import { formatBytes, formatClock, fileLengthMs, sessionLengthMs, shortHash } from './format.js';
import { fileForTurn } from './timeline.js';
import { stateBadge } from './search.js';
import { Player } from './player.js';
import { SpeakerTimeline } from './speakers.js';
import { AccessLog } from './access-log.js';
import { RetentionPanel } from './retention-panel.js';
import { isDeleted, deletedText } from './retention.js';
import { describeClass } from '../meeting-classes.js';

/** States whose files are final: they can be downloaded and verified. */
const FINAL = new Set(['ready', 'interrupted']);
/** States that change by themselves: the page looks again every few seconds. */
const MOVING = new Set(['recording', 'finalising']);
const POLL_MS = 5000;
const ATTENDING_SHOWN = 12;

export class SessionView {
  /**
   * @param {{onAuthError: (err) => boolean, status: (text: string, error?: boolean) => void,
   *   archivist?: boolean}} o  archivist: the account may classify and destroy recordings
   */
  constructor({ onAuthError, status, archivist = false }) {
    this.onAuthError = onAuthError;
    this.status = status;
    this.id = null;
    this.rec = null;
    this.error = null;
    this.verify = null; // the last verification's answer (with `at`)
    this.verifyError = null;
    this.seq = 0;
    this.pollTimer = null;
    this.problems = new Map(); // file name → 'missing' | 'damaged' (from the player)

    this.player = new Player({
      describe: (file) => this.describeFile(file),
      onStarted: () => this.log.later(400),
      onTime: (ms, file) => {
        this.timeline.setPlayhead(ms);
        this.timeline.setCurrent(file?.participant_id ?? null);
      },
      onProblem: (file, kind) => {
        this.problems.set(file.name, kind);
        this.renderFiles();
      },
      onAuthError: (status) => this.onAuthError({ status, code: status === 401 ? 'unauthenticated' : 'forbidden' }),
    });
    this.timeline = new SpeakerTimeline({ container: $('timeline'), onTurn: (turn, row) => this.playTurn(turn, row) });
    this.retention = new RetentionPanel({
      archivist,
      onAuthError,
      status,
      onChanged: (rec) => this.retentionChanged(rec),
    });
    // The access log names a class by its name (its `file` is the class's id).
    this.log = new AccessLog({
      onAuthError,
      describe: (e) => (e.action === 'classify' && e.file ? describeClass(this.retention.classes, e.file) : null),
    });

    $('verify').addEventListener('click', () => this.runVerify());
    for (const id of ['download-tar', 'download-manifest']) {
      $(id).addEventListener('click', (e) => this.downloading(e.currentTarget.getAttribute('download') || ''));
    }
  }

  // ---------------------------------------------------------------- loading

  async open(id) {
    if (this.id !== id) {
      this.close();
      this.id = id;
      this.rec = null;
      this.verify = null;
      this.verifyError = null;
      this.problems.clear();
      $('session-body').hidden = true;
      $('session-error').hidden = true;
      $('session-view').dataset.sessionId = String(id);
      delete $('session-view').dataset.loaded;
      this.status(t('arch.s.loading'));
    }
    this.retention.ensureClasses().then((changed) => {
      if (changed && this.id === id && this.rec) {
        this.retention.render(this.rec);
        this.log.render();
      }
    });
    await this.load({ first: true });
  }

  close() {
    clearTimeout(this.pollTimer);
    this.seq++;
    this.log.close();
    this.player.stop();
    this.retention.reset();
    this.id = null;
  }

  async load({ first = false } = {}) {
    clearTimeout(this.pollTimer);
    const id = this.id;
    if (id == null) return;
    const seq = ++this.seq;
    try {
      const rec = await get(`/api/recordings/${encodeURIComponent(id)}`);
      if (seq !== this.seq) return;
      const stateChanged = this.rec?.state !== rec?.state;
      this.rec = rec;
      this.error = null;
      if (first || stateChanged) this.status(null);
      this.render();
      if (first) {
        $('session-view').dataset.loaded = 'true';
        $('session-title').focus({ preventScroll: false });
        this.log.open(id);
      } else if (stateChanged) {
        this.log.load();
      }
    } catch (err) {
      if (seq !== this.seq || this.onAuthError(err)) return;
      this.status(null);
      this.error = err?.status === 404 ? t('arch.s.notFound') : t('arch.s.error', { detail: apiErrorText(err) });
      if (first || !this.rec) {
        $('session-error').textContent = this.error;
        $('session-error').hidden = false;
        $('session-body').hidden = true;
        $('session-view').dataset.loaded = 'error';
        return;
      }
    }
    const composing = ['queued', 'making'].includes(this.rec?.composite?.state);
    if (MOVING.has(this.rec?.state) || composing) this.pollTimer = setTimeout(() => this.load(), POLL_MS);
  }

  // ---------------------------------------------------------------- naming

  participant(pid) {
    return (this.rec?.participants ?? []).find((p) => p.participant_id === pid) ?? null;
  }

  /** `{who: "Name — Unit", content: "Camera và micro"}` for a file. */
  describeFile(file) {
    if (file.content === 'composite') {
      return { who: t('arch.files.composite'), content: t('arch.files.content.composite') };
    }
    const p = this.participant(file.participant_id);
    const who = p ? [p.name, p.unit_name].filter(Boolean).join(' — ') : String(file.participant_id ?? file.name);
    return { who, content: t(`arch.files.content.${file.content === 'screen' ? 'screen' : 'participant'}`) };
  }

  // ---------------------------------------------------------------- rendering

  render() {
    const rec = this.rec;
    if (!rec) return;
    $('session-error').hidden = true;
    $('session-body').hidden = false;
    document.title = `${rec.title} — ${t('arch.pageTitle')}`;
    $('session-title').textContent = rec.title;
    $('session-state').replaceWith(stateBadge(rec.state, { id: 'session-state' }));
    this.renderFacts();
    this.retention.render(rec);
    this.renderNotices();
    this.renderActions();
    this.renderVerify();
    this.renderFiles();
    this.timeline.render(rec);
    this.renderDeleted();
    this.player.renderCaption();
    this.log.render();
  }

  /** A destroyed recording: no player, and the timeline's turns play nothing. */
  renderDeleted() {
    const deleted = isDeleted(this.rec);
    $('player-card').hidden = deleted;
    if (deleted && this.player.file) this.player.stop();
    if (deleted) for (const b of $('timeline').querySelectorAll('button')) b.disabled = true;
  }

  /** After a class was saved or the recording destroyed: the hub's answer, or a fresh look. */
  retentionChanged(rec) {
    if (rec && rec.session_id === this.id) {
      this.rec = rec;
      this.verify = null;
      this.verifyError = null;
      this.render();
      if (isDeleted(rec)) $('session-notice').focus?.();
    } else {
      this.load();
    }
    this.log.load();
  }

  renderFacts() {
    const rec = this.rec;
    const fact = (key, ...value) => el('div', { class: 'fact', 'data-fact': key }, el('dt', { text: t(`arch.s.${key}`) }), el('dd', {}, ...value));
    const attending = Array.isArray(rec.attending) ? rec.attending : [];
    const length = sessionLengthMs(rec);
    const names = attending.map((u) => u.name);
    let attendingValue;
    if (!names.length) attendingValue = t('arch.s.attendingNone');
    else if (names.length <= ATTENDING_SHOWN) attendingValue = names.join(', ');
    else {
      attendingValue = el('details', {},
        el('summary', { text: `${names.slice(0, ATTENDING_SHOWN).join(', ')}…` }),
        el('p', { text: names.join(', ') }));
    }
    const sameDay = rec.ended_at == null || dayOf(rec.started_at) === dayOf(rec.ended_at);
    const when = t('arch.s.whenValue', {
      day: formatDay(dayOf(rec.started_at), 'dayLong'),
      from: format(rec.started_at, 'time'),
      to: rec.ended_at == null ? t('arch.row.ongoing') : format(rec.ended_at, sameDay ? 'time' : 'dateTime'),
    });
    $('session-facts').replaceChildren(
      fact('when', when),
      fact('length', length == null ? '—' : formatClock(length)),
      fact('host', rec.host_unit?.name ?? ''),
      el('div', { class: 'fact fact-wide', 'data-fact': 'attending' },
        el('dt', { text: t('arch.s.attending', { count: attending.length }) }), el('dd', {}, attendingValue)),
      fact('size', t('arch.s.sizeValue', { size: formatBytes(rec.bytes), count: (rec.files ?? []).length })),
      fact('ids', t('arch.s.idsValue', { session: rec.session_id, meeting: rec.meeting_id })),
    );
  }

  renderNotices() {
    const rec = this.rec;
    const notice = $('session-notice');
    const key = `arch.s.notice.${rec.state}`;
    if (isDeleted(rec)) {
      notice.hidden = false;
      notice.textContent = deletedText(rec);
      notice.dataset.state = 'deleted';
    } else {
      notice.hidden = rec.state === 'ready' || !['recording', 'finalising', 'interrupted', 'damaged'].includes(rec.state);
      notice.textContent = notice.hidden ? '' : t(key);
      notice.dataset.state = rec.state;
    }
    const problems = Array.isArray(rec.problems) ? rec.problems.filter(Boolean) : [];
    $('session-problems').hidden = problems.length === 0;
    $('session-problems-list').replaceChildren(...problems.map((p) => el('li', { text: String(p) })));
  }

  renderActions() {
    const rec = this.rec;
    const base = `/api/recordings/${encodeURIComponent(rec.session_id)}`;
    const final = FINAL.has(rec.state);
    const tar = $('download-tar');
    const manifest = $('download-manifest');
    tar.href = `${base}/archive.tar`;
    tar.setAttribute('download', `cau-phien-${rec.session_id}.tar`);
    manifest.href = `${base}/manifest.json`;
    manifest.setAttribute('download', `cau-phien-${rec.session_id}-manifest.json`);
    tar.hidden = !final;
    manifest.hidden = !final;
    $('verify').hidden = !final || !(rec.files ?? []).length;
    $('session-actions').hidden = !final; // nothing to download or verify yet
  }

  renderFiles() {
    const rec = this.rec;
    if (!rec) return;
    const files = Array.isArray(rec.files) ? [...rec.files] : [];
    const deleted = isDeleted(rec);
    // The archive view first, on the session timeline from the earliest file's start.
    const c = deleted ? null : rec.composite;
    if (c?.state === 'ready') {
      const start = Math.min(...files.map((f) => f.offset_ms).filter(Number.isFinite), 0);
      files.unshift({ ...c, content: 'composite', participant_id: null, offset_ms: start, end_ms: start + (c.duration_ms ?? 0) });
    }
    $('files-empty').hidden = files.length > 0 && !deleted;
    $('files-empty').textContent = t(deleted ? 'arch.files.deleted' : 'arch.files.none');
    const note = $('composite-state');
    const state = c?.state ?? null;
    note.hidden = !['queued', 'making', 'failed'].includes(state);
    note.dataset.state = state ?? '';
    if (state === 'queued') note.textContent = t('arch.composite.queued');
    if (state === 'making') note.textContent = t('arch.composite.making', { pct: Math.round((c.progress ?? 0) * 100) });
    if (state === 'failed') note.textContent = t('arch.composite.failed');
    const verdicts = new Map((this.verify?.files ?? []).map((v) => [v.name, v]));
    $('files').replaceChildren(...files.map((f) => {
      const { who, content } = this.describeFile(f);
      const length = fileLengthMs(f);
      const v = verdicts.get(f.name);
      const verdict = v ? (v.missing ? 'missing' : v.ok ? 'ok' : 'mismatch') : null;
      let problem = verdict === 'missing' ? 'missing' : verdict === 'mismatch' ? 'mismatch' : this.problems.get(f.name) ?? null;
      if (deleted) problem = null; // gone on purpose, not a problem
      const playing = this.player.file?.name === f.name;
      const shaCode = el('code', { class: 'hash', title: f.sha256 ?? '', text: shortHash(f.sha256) });
      const copy = el('button', {
        type: 'button',
        class: 'icon-btn copy-sha',
        'aria-label': t('arch.files.copy', { name: f.name }),
        title: t('arch.files.copy', { name: f.name }),
        html: icon('copy'),
        on: { click: (e) => this.copySha(f, e.currentTarget.closest('li')) },
      });
      return el('li', {
        class: `file${playing ? ' playing' : ''}${deleted ? ' file-deleted' : ''}`,
        'data-file': f.name,
        'data-participant-id': f.participant_id,
        'data-content': f.content,
        'data-verify': verdict ?? '',
        'data-problem': problem ?? '',
      },
      deleted ? this.deletedFileMain(f) : this.fileMain(f, { who, content, playing }),
      el('p', { class: 'file-meta' },
        el('span', { text: t('arch.files.span', { from: formatClock(f.offset_ms), to: formatClock(f.end_ms) }) }),
        el('span', { text: t('arch.files.length', { length: formatClock(length) }) }),
        el('span', { text: formatBytes(f.bytes) })),
      el('p', { class: 'file-sha' }, el('span', { class: 'sha-label', text: t('arch.files.sha') }), shaCode, copy),
      el('p', { class: 'file-name-raw muted', text: f.name }),
      problem ? el('p', { class: `file-problem file-problem-${problem}`, role: 'status', text: this.problemText(problem) }) : null);
    }));
  }

  /** A file's first line: play, who, download. */
  fileMain(f, { who, content, playing }) {
    const p = this.participant(f.participant_id);
    return el('div', { class: 'file-main' },
      el('button', {
        type: 'button',
        class: 'btn btn-secondary btn-small file-play',
        'aria-pressed': String(playing),
        'aria-label': t('arch.files.playLabel', { who, content }),
        on: { click: () => this.playFile(f) },
      }, el('span', { class: 'play-icon', html: icon('play') }), el('span', { text: t('arch.files.play') })),
      el('div', { class: 'file-who' },
        el('span', { class: 'file-name', text: p?.name ?? (f.content === 'composite' ? who : String(f.participant_id ?? '')) }),
        el('span', { class: 'file-unit', text: [p?.unit_name, content].filter(Boolean).join(' · ') })),
      el('a', {
        class: 'btn btn-secondary btn-small file-download',
        href: f.download_url,
        download: f.name,
        'aria-label': t('arch.files.downloadLabel', { name: f.name }),
        on: { click: () => this.downloading(f.name) },
      }, el('span', { html: icon('download') }), el('span', { text: t('arch.files.download') })));
  }

  /** A destroyed file's first line: who, and that it is gone (its name and SHA-256 stay listed). */
  deletedFileMain(f) {
    const p = this.participant(f.participant_id);
    const { content } = this.describeFile(f);
    return el('div', { class: 'file-main' },
      el('div', { class: 'file-who' },
        el('span', { class: 'file-name', text: p?.name ?? String(f.participant_id ?? '') }),
        el('span', { class: 'file-unit', text: [p?.unit_name, content].filter(Boolean).join(' · ') })),
      el('span', { class: 'state-badge arch-state-deleted', text: t('arch.files.deletedMark') }));
  }

  problemText(kind) {
    if (kind === 'missing') return t('arch.v.fileMissing');
    if (kind === 'mismatch') return t('arch.v.fileMismatch');
    return t('arch.files.damaged');
  }

  // ---------------------------------------------------------------- actions

  playFile(file, sessionMs = null) {
    this.player.play(file, { sessionMs });
    this.timeline.setCurrent(file.participant_id);
    this.renderFiles();
    if (window.matchMedia('(max-width: 900px)').matches) $('player-title').scrollIntoView({ block: 'start', behavior: 'smooth' });
  }

  playTurn(turn, row) {
    const file = fileForTurn(this.rec?.files, turn);
    if (!file) {
      this.player.say(t('arch.p.noFile', { who: row.name }));
      this.renderFiles();
      return;
    }
    this.playFile(file, turn.from_ms);
  }

  async copySha(file, host) {
    const ok = await copyText(file.sha256 ?? '', host);
    this.status(ok === true ? t('arch.files.copied', { name: file.name }) : t('arch.files.copyFailed'), ok !== true);
  }

  downloading(name) {
    this.status(t('arch.s.downloading', { name }));
    this.log.later(1500);
  }

  async runVerify() {
    const rec = this.rec;
    if (!rec) return;
    const button = $('verify');
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    $('verify-text').textContent = t('arch.s.verifying');
    const id = rec.session_id;
    try {
      const res = await post(`/api/recordings/${encodeURIComponent(id)}/verify`, {});
      if (this.id !== id) return;
      this.verify = { ...res, at: Date.now() };
      this.verifyError = null;
    } catch (err) {
      if (this.onAuthError(err) || this.id !== id) return;
      this.verify = null;
      this.verifyError = t('arch.v.error', { detail: apiErrorText(err) });
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
      $('verify-text').textContent = t('arch.s.verify');
    }
    this.renderVerify();
    this.renderFiles();
    $('verify-result').focus();
    this.log.load();
  }

  renderVerify() {
    const box = $('verify-result');
    const v = this.verify;
    if (!v && !this.verifyError) {
      box.hidden = true;
      box.replaceChildren();
      delete box.dataset.ok;
      return;
    }
    box.hidden = false;
    if (!v) {
      box.dataset.ok = 'error';
      box.className = 'verify-result notice error';
      box.replaceChildren(el('p', { text: this.verifyError }));
      return;
    }
    const files = Array.isArray(v.files) ? v.files : [];
    const bad = files.filter((f) => !f.ok || f.missing).length;
    const ok = !!v.ok && bad === 0;
    box.dataset.ok = String(ok);
    box.className = `verify-result notice ${ok ? 'success' : 'error'}`;
    let summary;
    if (!files.length) summary = t('arch.v.none');
    else if (ok) summary = t('arch.v.ok', { count: files.length });
    else summary = t('arch.v.bad', { bad, count: files.length });
    const byName = new Map((this.rec?.files ?? []).map((f) => [f.name, f]));
    box.replaceChildren(
      el('p', { class: 'verify-summary', role: 'status' }, el('strong', { text: summary }), ' ', el('span', { text: t('arch.v.at', { time: format(v.at, 'time') }) })),
      el('ul', { class: 'verify-list' }, ...files.map((f) => {
        const result = f.missing ? 'missing' : f.ok ? 'ok' : 'mismatch';
        const file = byName.get(f.name);
        const who = file ? this.describeFile(file).who : '';
        return el('li', { 'data-file': f.name, 'data-result': result },
          el('span', { class: `verdict verdict-${result}`, text: t(result === 'ok' ? 'arch.v.fileOk' : result === 'missing' ? 'arch.v.fileMissing' : 'arch.v.fileMismatch') }),
          el('span', { class: 'verify-file' }, el('span', { class: 'block', text: who || f.name }), who ? el('span', { class: 'block muted small', text: f.name }) : null),
          result === 'mismatch'
            ? el('span', { class: 'verify-hashes' },
              el('span', { class: 'block' }, `${t('arch.v.expected')}: `, el('code', { class: 'hash', title: f.expected ?? '', text: shortHash(f.expected) })),
              el('span', { class: 'block' }, `${t('arch.v.actual')}: `, el('code', { class: 'hash', title: f.actual ?? '', text: shortHash(f.actual) })))
            : null);
      })),
    );
  }

  relabel() {
    if (this.rec) this.render();
    else if (this.error) $('session-error').textContent = this.error;
  }
}
