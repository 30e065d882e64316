// The terminal's search box (Ctrl+F): next, previous, Esc to close.

import type { SearchAddon } from '@xterm/addon-search';
import { h } from '../dom';

export interface SearchBox {
  el: HTMLElement;
  open(): void;
  close(): void;
}

export function searchBox(addon: SearchAddon, done: () => void): SearchBox {
  const input = h('input', { type: 'search', name: 'q', 'aria-label': 'Search the terminal', placeholder: 'Search', autocomplete: 'off', spellcheck: 'false' });
  const status = h('span', { class: 'search-status', role: 'status' });
  const button = (label: string, name: string) => h('button', { type: 'button', class: 'key', 'aria-label': name }, label);
  const previous = button('↑', 'Previous match');
  const next = button('↓', 'Next match');
  const closeButton = button('✕', 'Close search');
  const el = h('form', { class: 'search-box', role: 'search', hidden: true }, input, previous, next, status, closeButton);

  const find = (forward: boolean, incremental = false) => {
    if (!input.value) return void (status.textContent = '');
    const found = forward ? addon.findNext(input.value, { incremental }) : addon.findPrevious(input.value);
    status.textContent = found ? '' : 'no match';
  };
  const close = () => {
    el.hidden = true;
    addon.clearDecorations();
    done();
  };
  input.addEventListener('input', () => find(true, true));
  el.addEventListener('submit', (event) => {
    event.preventDefault();
    find(true);
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && event.shiftKey) {
      event.preventDefault();
      find(false);
    } else if (event.key === 'Escape') {
      event.preventDefault();
      close();
    }
  });
  previous.addEventListener('click', () => find(false));
  next.addEventListener('click', () => find(true));
  closeButton.addEventListener('click', close);

  return {
    el,
    open() {
      el.hidden = false;
      input.focus();
      input.select();
    },
    close,
  };
}
