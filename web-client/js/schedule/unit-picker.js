// A unit picker: a search box (combobox) whose list shows units matching the text, ignoring
// case and diacritics (Directory.search). Arrow keys move, Enter picks, Escape closes.
//
// Markup it expects (the input and the list are in the page, so labels work without JS):
//   <div class="picker">
//     <input id="ID" type="search" role="combobox" aria-controls="ID-options" …>
//     <ul id="ID-options" class="picker-options" role="listbox" hidden></ul>
//   </div>
//   <p id="ID-selected" class="picker-selected"></p>          (optional)
// Options are `li[role=option][data-unit-id]`; the list is emptied when it closes, so only
// the open picker's options are in the page.

import { t } from '../i18n.js';
import { tierLabel } from '../directory.js';
import { el } from './dom.js';

const LIMIT = 60;
let seq = 0;

export class UnitPicker {
  /**
   * @param {HTMLInputElement} input
   * @param {{index: import('./units.js').UnitIndex, onChange?: (unit|null) => void,
   *   keepText?: boolean, filter?: (unit) => boolean}} opts
   *   keepText false (an "add a unit" box): the text is cleared after each pick.
   */
  constructor(input, { index, onChange = () => {}, keepText = true, filter = null }) {
    this.input = input;
    this.index = index;
    this.onChange = onChange;
    this.keepText = keepText;
    this.filter = filter;
    this.list = document.getElementById(`${input.id}-options`);
    this.selectedEl = document.getElementById(`${input.id}-selected`);
    this.value = null; // the chosen unit
    this.shown = [];
    this.active = -1;
    this.prefix = `${input.id}-opt-${++seq}-`;
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-expanded', 'false');
    input.setAttribute('aria-controls', this.list.id);
    input.autocomplete = 'off';
    input.spellcheck = false;

    input.addEventListener('input', () => {
      this.active = this.input.value.trim() ? 0 : -1;
      this.open();
    });
    input.addEventListener('focus', () => {
      if (!this.value) this.open();
    });
    input.addEventListener('click', () => this.open());
    input.addEventListener('keydown', (e) => this.onKey(e));
    input.addEventListener('blur', () => {
      // Let a click on an option land first (options use mousedown + preventDefault).
      setTimeout(() => {
        if (document.activeElement === this.input) return;
        this.close();
        // Editing the text without picking another unit keeps the unit picked before.
        if (this.value && this.keepText && this.input.value !== this.value.name) this.input.value = this.value.name;
      }, 0);
    });
    this.list.addEventListener('mousedown', (e) => e.preventDefault());
    this.list.addEventListener('click', (e) => {
      const li = e.target.closest('li[data-unit-id]');
      if (li) this.pick(this.index.get(li.dataset.unitId));
    });
    this.renderSelected();
  }

  get isOpen() {
    return !this.list.hidden;
  }

  /** Sets the value without calling onChange (filling the form from a meeting). */
  set(unitOrId, { silent = true } = {}) {
    const unit = typeof unitOrId === 'string' ? this.index.get(unitOrId) : unitOrId;
    this.value = unit ?? null;
    this.input.value = unit && this.keepText ? unit.name : (unitOrId && !unit ? String(unitOrId) : '');
    this.input.removeAttribute('aria-invalid');
    this.renderSelected();
    if (!silent) this.onChange(this.value);
  }

  pick(unit) {
    if (!unit) return;
    this.value = this.keepText ? unit : null;
    this.input.value = this.keepText ? unit.name : '';
    this.input.removeAttribute('aria-invalid');
    this.close();
    this.renderSelected();
    this.onChange(unit);
  }

  onKey(e) {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      if (!this.isOpen) this.open();
      this.setActive(this.active + (e.key === 'ArrowDown' ? 1 : -1));
    } else if (e.key === 'Enter') {
      if (!this.isOpen) return; // let Enter submit the form when the list is closed
      e.preventDefault();
      const u = this.shown[this.active] ?? (this.shown.length === 1 ? this.shown[0] : null);
      if (u) this.pick(u);
    } else if (e.key === 'Escape') {
      if (this.isOpen) {
        e.preventDefault();
        e.stopPropagation();
        this.close();
        if (this.value && this.keepText) this.input.value = this.value.name;
      }
    } else if (e.key === 'Tab') {
      this.close();
    }
  }

  open() {
    const query = this.input.value;
    // Showing the chosen unit's own name as the query would list only it: list everything.
    const q = this.value && query === this.value.name ? '' : query;
    let found = this.index.dir.search(q).filter((u) => u.id != null && this.index.byId.has(u.id));
    if (this.filter) found = found.filter(this.filter);
    this.shown = found.slice(0, LIMIT);
    if (this.active >= this.shown.length) this.active = this.shown.length - 1;
    const list = this.list;
    list.replaceChildren();
    if (!found.length) {
      list.append(el('li', { class: 'picker-message', role: 'presentation', text: t('sched.picker.none', { query: q.trim() }) }));
    }
    this.shown.forEach((u, i) => {
      const parent = this.index.parentOf(u);
      const selected = this.value?.id === u.id;
      list.append(el('li', {
        id: `${this.prefix}${i}`,
        role: 'option',
        class: `picker-option${i === this.active ? ' active' : ''}`,
        'aria-selected': String(selected),
        'data-unit-id': u.id,
      },
      el('span', { class: 'picker-name', text: u.name }),
      el('span', { class: 'picker-meta' },
        el('span', { class: `tier-badge tier-${u.tier}`, text: tierLabel(u.tier) }),
        parent ? el('span', { class: 'picker-parent', text: parent.name }) : null)));
    });
    if (found.length > LIMIT) {
      list.append(el('li', { class: 'picker-message', role: 'presentation', text: t('sched.picker.more', { count: found.length - LIMIT }) }));
    }
    list.hidden = false;
    this.input.setAttribute('aria-expanded', 'true');
    this.updateActive();
  }

  close() {
    this.list.hidden = true;
    this.list.replaceChildren();
    this.shown = [];
    this.active = -1;
    this.input.setAttribute('aria-expanded', 'false');
    this.input.removeAttribute('aria-activedescendant');
  }

  setActive(i) {
    this.list.querySelector('.picker-option.active')?.classList.remove('active');
    this.active = Math.max(0, Math.min(i, this.shown.length - 1));
    this.updateActive();
  }

  updateActive() {
    const opt = this.active >= 0 ? document.getElementById(`${this.prefix}${this.active}`) : null;
    if (opt) {
      opt.classList.add('active');
      this.input.setAttribute('aria-activedescendant', opt.id);
      opt.scrollIntoView({ block: 'nearest' });
    } else {
      this.input.removeAttribute('aria-activedescendant');
    }
  }

  renderSelected() {
    if (!this.selectedEl) return;
    const u = this.value;
    this.selectedEl.textContent = u ? this.index.describe(u) : '';
  }
}
