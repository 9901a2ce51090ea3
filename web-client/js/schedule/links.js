// The join links of a meeting (GET /api/meetings/{id}/links) as a table: one row per link,
// `tr[data-link-id][data-unit-id][data-role]` with `a.join-link` (href = the link) and
// `button.copy-link`; re-issue (POST …/links {unit, role}) and revoke
// (POST …/links/{link_id}/revoke), each after a confirmation.

import { t } from '../i18n.js';
import { tierLabel, fold } from '../directory.js';
import { icon } from '../icons.js';
import { get, post } from '../api.js';
import { el, copyText, apiErrorText } from './dom.js';
import { confirmDialog } from './dialog.js';
import { format } from './time.js';

export function roleLabel(role) {
  return role === 'chair' || role === 'official' ? t(`sched.role.${role}`) : String(role ?? '');
}

export class LinksTable {
  /**
   * @param {{container: HTMLElement, index: import('./units.js').UnitIndex,
   *   onChanged: () => void, status: (text: string) => void}} o
   */
  constructor({ container, index, onChanged, status }) {
    this.container = container;
    this.index = index;
    this.onChanged = onChanged;
    this.status = status;
    this.meeting = null;
    this.links = [];
    this.filter = '';
    this.showRevoked = false;
    this.error = null;
    this.loading = false;
    this.seq = 0;
    this.highlight = null;
  }

  get editable() {
    return this.meeting && (this.meeting.state === 'planned' || this.meeting.state === 'live');
  }

  async load(meeting) {
    const changed = this.meeting?.id !== meeting.id;
    this.meeting = meeting;
    if (changed) {
      this.links = [];
      this.filter = '';
      this.highlight = null;
    }
    const seq = ++this.seq;
    this.loading = true;
    this.error = null;
    this.render();
    try {
      const res = await get(`/api/meetings/${encodeURIComponent(meeting.id)}/links`);
      if (seq !== this.seq) return;
      this.links = Array.isArray(res?.links) ? res.links : [];
    } catch (err) {
      if (seq !== this.seq) return;
      this.error = apiErrorText(err);
    }
    this.loading = false;
    this.render();
  }

  sorted() {
    const order = (l) => this.index.order.get(l.unit?.id) ?? Number.MAX_SAFE_INTEGER;
    return [...this.links].sort((a, b) =>
      (a.revoked_at != null) - (b.revoked_at != null) ||
      (a.role === 'chair' ? 0 : 1) - (b.role === 'chair' ? 0 : 1) ||
      order(a) - order(b) || (b.issued_at ?? 0) - (a.issued_at ?? 0));
  }

  render() {
    const c = this.container;
    const active = this.links.filter((l) => l.revoked_at == null);
    const revoked = this.links.length - active.length;
    const filterInput = el('input', {
      type: 'search',
      id: 'links-filter',
      class: 'links-filter',
      value: this.filter,
      placeholder: t('sched.links.filter'),
      'aria-label': t('sched.links.filter'),
      on: {
        input: (e) => {
          this.filter = e.target.value;
          this.renderRows();
        },
      },
    });
    const revokedBox = el('label', { class: 'check-inline' },
      el('input', {
        type: 'checkbox',
        id: 'links-show-revoked',
        checked: this.showRevoked,
        on: {
          change: (e) => {
            this.showRevoked = e.target.checked;
            this.renderRows();
          },
        },
      }),
      el('span', { text: t('sched.links.showRevoked', { count: revoked }) }));
    const head = el('div', { class: 'links-head' },
      el('h3', { id: 'links-title', text: t('sched.links.title', { count: active.length }) }),
      el('div', { class: 'links-tools' }, filterInput, revoked ? revokedBox : null));
    const table = el('table', { class: 'links-table', id: 'links-table', 'aria-labelledby': 'links-title' },
      el('thead', {}, el('tr', {},
        el('th', { scope: 'col', text: t('sched.links.unit') }),
        el('th', { scope: 'col', text: t('sched.links.link') }),
        el('th', { scope: 'col', text: t('sched.links.validity') }),
        this.editable ? el('th', { scope: 'col', text: t('sched.links.actions') }) : null)),
      el('tbody', { id: 'links-body' }));
    const parts = [head];
    if (this.error) {
      parts.push(el('div', { class: 'notice error', role: 'alert' },
        el('span', { text: this.error }),
        el('button', { type: 'button', class: 'btn btn-secondary btn-small', text: t('sched.retry'), on: { click: () => this.load(this.meeting) } })));
    }
    if (this.loading && !this.links.length) parts.push(el('p', { class: 'hint', text: t('sched.loading') }));
    else parts.push(el('div', { class: 'table-scroll' }, table));
    c.replaceChildren(...parts);
    c.setAttribute('aria-busy', String(this.loading));
    if (!this.loading || this.links.length) this.renderRows();
  }

  renderRows() {
    const body = this.container.querySelector('#links-body');
    if (!body) return;
    const q = fold(this.filter);
    const rows = this.sorted().filter((l) =>
      (this.showRevoked || l.revoked_at == null) &&
      (!q || fold(`${l.unit?.name ?? ''} ${l.unit?.id ?? ''}`).includes(q)));
    body.replaceChildren(...rows.map((l) => this.row(l)));
    if (!rows.length) {
      body.append(el('tr', {}, el('td', { colSpan: this.editable ? 4 : 3, class: 'hint', text: t(this.links.length ? 'sched.links.noMatch' : 'sched.links.none') })));
    }
  }

  row(l) {
    const unit = l.unit ?? {};
    const revoked = l.revoked_at != null;
    const expired = !revoked && l.expires_at != null && l.expires_at <= Date.now();
    const copy = el('button', {
      type: 'button',
      class: 'btn btn-secondary btn-small copy-link',
      'aria-label': t('sched.links.copyFor', { unit: unit.name ?? '' }),
      html: icon('check', 'icon copied-icon'),
    }, el('span', { class: 'copy-text', text: t('sched.links.copy') }));
    const linkCell = el('td', { class: 'link-cell' },
      el('a', {
        class: 'join-link',
        href: l.url,
        target: '_blank',
        rel: 'noopener noreferrer',
        title: l.url,
        text: t('sched.links.open'),
      }),
      revoked ? null : copy);
    copy.addEventListener('click', async () => {
      const ok = await copyText(l.url, linkCell);
      if (ok === true) {
        copy.classList.add('copied');
        copy.querySelector('.copy-text').textContent = t('sched.links.copied');
        this.status(t('sched.links.copiedFor', { unit: unit.name ?? '' }));
        setTimeout(() => {
          copy.classList.remove('copied');
          copy.querySelector('.copy-text').textContent = t('sched.links.copy');
        }, 2500);
      } else {
        this.status(t('sched.links.copyManual'));
      }
    });
    const validity = el('td', { class: 'validity' },
      el('span', { text: t('sched.links.issued', { at: format(l.issued_at, 'short') }) }),
      revoked
        ? el('span', { class: 'revoked-at', text: t('sched.links.revokedAt', { at: format(l.revoked_at, 'short') }) })
        : el('span', { class: expired ? 'expired' : '', text: t(expired ? 'sched.links.expired' : 'sched.links.expires', { at: format(l.expires_at, 'short') }) }));
    const actions = this.editable ? el('td', { class: 'link-actions' }) : null;
    if (actions && unit.id) {
      actions.append(el('button', {
        type: 'button',
        class: 'btn btn-secondary btn-small reissue-link',
        text: t('sched.links.reissue'),
        'aria-label': t('sched.links.reissueFor', { unit: unit.name ?? '' }),
        on: { click: () => this.reissue(l) },
      }));
      if (!revoked) {
        actions.append(el('button', {
          type: 'button',
          class: 'btn btn-secondary btn-small revoke-link',
          text: t('sched.links.revoke'),
          'aria-label': t('sched.links.revokeFor', { unit: unit.name ?? '' }),
          on: { click: () => this.revoke(l) },
        }));
      }
    }
    return el('tr', {
      class: `${revoked ? 'revoked' : ''}${l.id === this.highlight ? ' highlight' : ''}`,
      'data-link-id': l.id,
      'data-unit-id': unit.id ?? '',
      'data-role': l.role,
    },
    el('td', { class: 'link-unit' },
      el('span', { class: 'link-unit-name', text: unit.name ?? unit.id ?? '' }),
      el('span', { class: 'link-badges' },
        el('span', { class: `tier-badge tier-${unit.tier}`, text: tierLabel(unit.tier) }),
        el('span', { class: `role-badge role-${l.role}`, text: roleLabel(l.role) }))),
    linkCell, validity, actions);
  }

  async reissue(l) {
    const ok = await confirmDialog({
      title: t('sched.links.reissueTitle'),
      body: t('sched.links.reissueBody', { unit: l.unit?.name ?? '', role: roleLabel(l.role) }),
      confirm: t('sched.links.reissue'),
    });
    if (!ok) return;
    try {
      const link = await post(`/api/meetings/${encodeURIComponent(this.meeting.id)}/links`, { unit: l.unit.id, role: l.role });
      this.highlight = link?.id ?? null;
      this.status(t('sched.links.reissued', { unit: l.unit?.name ?? '' }));
    } catch (err) {
      this.status(apiErrorText(err), true);
    }
    await this.load(this.meeting);
    this.onChanged();
  }

  async revoke(l) {
    const ok = await confirmDialog({
      title: t('sched.links.revokeTitle'),
      body: t('sched.links.revokeBody', { unit: l.unit?.name ?? '', role: roleLabel(l.role) }),
      confirm: t('sched.links.revoke'),
      danger: true,
    });
    if (!ok) return;
    try {
      await post(`/api/meetings/${encodeURIComponent(this.meeting.id)}/links/${encodeURIComponent(l.id)}/revoke`, {});
      this.status(t('sched.links.revoked', { unit: l.unit?.name ?? '' }));
    } catch (err) {
      this.status(apiErrorText(err), true);
    }
    await this.load(this.meeting);
    this.onChanged();
  }
}
