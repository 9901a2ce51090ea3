// The archive's player: one <video> (controls, preload="metadata") that plays the file an
// archivist picks, straight from the hub (`file.url`, which answers Range requests, so the
// browser seeks without downloading the whole file). Nothing is loaded until a file is
// picked: the hub logs a "play" for every request of a file from its first byte.
//
// Where a moment of the session is in the file: see timeline.js (`origin`). The player
// measures it when the file's first frame is loaded (`loadeddata`) and applies any pending
// seek then.
//
// A file the player cannot open is asked about once more, with a request for its second
// byte (`Range: bytes=1-1`: not from the first byte, so not a "play"): 404 says the file is
// no longer on disk, an answer with the byte says it is there but does not play (damaged).
//
// Hooks for tests: #player (data-file, data-state: idle | loading | ready | missing |
// damaged), window.cau.archive.player.origin.

import { t } from '../i18n.js';
import { $ } from '../schedule/dom.js';
import { mediaSeconds, sessionMsAt } from './timeline.js';
import { formatClock } from './format.js';

export class Player {
  /**
   * @param {{describe: (file) => {who: string, content: string},
   *   onStarted?: (file) => void, onTime?: (sessionMs: number|null, file) => void,
   *   onProblem?: (file, kind: 'missing'|'damaged') => void, onAuthError?: (status: number) => boolean}} o
   */
  constructor({ describe, onStarted = () => {}, onTime = () => {}, onProblem = () => {}, onAuthError = () => false }) {
    this.video = $('player');
    this.describe = describe;
    this.onStarted = onStarted;
    this.onTime = onTime;
    this.onProblem = onProblem;
    this.onAuthError = onAuthError;
    this.file = null;
    this.origin = 0;
    this.pending = null; // {sessionMs, play} to apply once the first frame is in
    this.started = false;
    this.loadSeq = 0;
    this.problem = null;
    const v = this.video;
    v.addEventListener('loadeddata', () => {
      if (!this.pending) return; // a later loadeddata of the same file (after a seek)
      // Chromium shows the first frame's own timestamp, Firefox 0: either way, the origin.
      // (Measured at the first frame: at `loadedmetadata` Chromium may still say 0.)
      this.origin = Number.isFinite(v.currentTime) ? v.currentTime : 0;
      this.setState('ready');
      const p = this.pending;
      this.pending = null;
      if (p?.sessionMs != null) v.currentTime = mediaSeconds(this.file, p.sessionMs, this.origin);
      if (p?.play) v.play().catch(() => { /* the controls are there */ });
    });
    v.addEventListener('playing', () => {
      if (!this.started && this.file) {
        this.started = true;
        this.onStarted(this.file);
      }
    });
    v.addEventListener('timeupdate', () => this.onTime(this.file ? sessionMsAt(this.file, v.currentTime, this.origin) : null, this.file));
    v.addEventListener('error', () => {
      if (!this.file || !v.getAttribute('src')) return;
      v.dataset.error = `${v.error?.code ?? ''} ${v.error?.message ?? ''}`.trim(); // for a post-mortem
      this.diagnose(this.file, this.loadSeq);
    });
  }

  setState(state) {
    this.video.dataset.state = state;
  }

  /**
   * Plays `file` (loading it first when it is not the one loaded), from session time
   * `sessionMs` when given (else where it is, or its start).
   */
  play(file, { sessionMs = null, autoplay = true } = {}) {
    const v = this.video;
    if (this.file && this.file.name === file.name && !this.problem && !this.pending && v.readyState >= 2) {
      if (sessionMs != null) v.currentTime = mediaSeconds(file, sessionMs, this.origin);
      if (autoplay) v.play().catch(() => {});
      this.renderCaption(sessionMs);
      return;
    }
    if (this.file && this.file.name === file.name && !this.problem && this.pending) {
      this.pending = { sessionMs, play: autoplay }; // still loading: seek once it is in
      this.renderCaption(sessionMs);
      return;
    }
    this.file = file;
    this.origin = 0;
    this.started = false;
    this.problem = null;
    this.loadSeq++;
    this.pending = { sessionMs, play: autoplay };
    $('player-placeholder').hidden = true;
    $('player-problem').hidden = true;
    v.hidden = false;
    v.dataset.file = file.name;
    delete v.dataset.error;
    this.setState('loading');
    v.src = file.url;
    v.load();
    this.renderCaption(sessionMs);
  }

  renderCaption(sessionMs = null) {
    const caption = $('player-caption');
    if (!this.file) {
      caption.textContent = '';
      return;
    }
    const { who, content } = this.describe(this.file);
    caption.textContent = [t('arch.p.playing', { who, content }), sessionMs != null ? t('arch.p.at', { at: formatClock(sessionMs) }) : '']
      .filter(Boolean).join(' · ');
  }

  async diagnose(file, seq) {
    let status = 0;
    try {
      const res = await fetch(file.url, { headers: { Range: 'bytes=1-1' }, credentials: 'same-origin', cache: 'no-store' });
      status = res.status;
      await res.body?.cancel().catch(() => {});
    } catch {
      status = 0;
    }
    if (seq !== this.loadSeq) return;
    if ((status === 401 || status === 403) && this.onAuthError(status)) return;
    this.showProblem(file, status === 404 || status === 410 ? 'missing' : 'damaged');
  }

  /** Says the file cannot be played, in place of a broken player. */
  showProblem(file, kind) {
    this.problem = kind;
    const v = this.video;
    v.pause();
    v.removeAttribute('src');
    v.load();
    v.hidden = true;
    this.setState(kind);
    $('player-placeholder').hidden = true;
    $('player-problem-text').textContent = t(kind === 'missing' ? 'arch.p.missing' : 'arch.p.damaged', { name: file.name });
    $('player-problem').hidden = false;
    $('player-problem').dataset.kind = kind;
    this.onTime(null, file);
    this.onProblem(file, kind);
  }

  /** A message in the player's place (e.g. a turn without a file). */
  say(text) {
    this.stop();
    $('player-placeholder').hidden = true;
    $('player-problem-text').textContent = text;
    $('player-problem').hidden = false;
    $('player-problem').dataset.kind = 'info';
  }

  stop() {
    const v = this.video;
    this.file = null;
    this.problem = null;
    this.pending = null;
    this.loadSeq++;
    v.pause();
    if (v.getAttribute('src')) {
      v.removeAttribute('src');
      v.load();
    }
    delete v.dataset.file;
    v.hidden = true;
    this.setState('idle');
    $('player-problem').hidden = true;
    $('player-placeholder').hidden = false;
    $('player-caption').textContent = '';
    this.onTime(null, null);
  }
}
