// The row of special keys for phones and touch screens: Esc, Tab, sticky Ctrl and Alt, arrows.

import { h } from '../dom';

export interface KeyBar {
  el: HTMLElement;
  /** Applies (and releases) the sticky modifiers to typed data. */
  transform(data: string): string;
  setEnabled(enabled: boolean): void;
}

/** The control character for `ch` (Ctrl+C is \x03); other characters as they are. */
export function ctrlOf(ch: string): string {
  if (ch === ' ') return '\x00';
  if (ch === '?') return '\x7f';
  const code = ch.toUpperCase().charCodeAt(0);
  return ch.length === 1 && code >= 64 && code <= 95 ? String.fromCharCode(code - 64) : ch;
}

export function keyBar(send: (data: string) => void, applicationCursor: () => boolean, refocus: () => void): KeyBar {
  const modifier = (label: string, name: string) =>
    h('button', { type: 'button', class: 'key', 'aria-pressed': 'false', 'aria-label': `${name} (applies to the next key)` }, label);
  const ctrl = modifier('Ctrl', 'Control');
  const alt = modifier('Alt', 'Alt');
  const pressed = (b: HTMLElement) => b.getAttribute('aria-pressed') === 'true';
  const release = () => {
    ctrl.setAttribute('aria-pressed', 'false');
    alt.setAttribute('aria-pressed', 'false');
  };
  const arrow = (label: string, name: string, letter: string) => {
    const b = h('button', { type: 'button', class: 'key', 'aria-label': name }, label);
    b.addEventListener('click', () => {
      const mod = 1 + (pressed(alt) ? 2 : 0) + (pressed(ctrl) ? 4 : 0);
      release();
      send(mod > 1 ? `\x1b[1;${mod}${letter}` : applicationCursor() ? `\x1bO${letter}` : `\x1b[${letter}`);
    });
    return b;
  };
  const plain = (label: string, name: string, data: string) => {
    const b = h('button', { type: 'button', class: 'key', 'aria-label': name }, label);
    b.addEventListener('click', () => {
      const prefix = pressed(alt) ? '\x1b' : '';
      release();
      send(prefix + data);
    });
    return b;
  };
  for (const b of [ctrl, alt]) {
    b.addEventListener('click', () => b.setAttribute('aria-pressed', pressed(b) ? 'false' : 'true'));
  }
  const el = h('div', { class: 'keybar', role: 'toolbar', 'aria-label': 'Special keys' },
    plain('Esc', 'Escape', '\x1b'), plain('Tab', 'Tab', '\t'), ctrl, alt,
    arrow('←', 'Left', 'D'), arrow('↑', 'Up', 'A'), arrow('↓', 'Down', 'B'), arrow('→', 'Right', 'C'));
  // Taps keep the focus (and the phone's keyboard) in the terminal; keyboard users still tab here.
  el.addEventListener('pointerdown', (event) => event.preventDefault());
  el.addEventListener('click', (event) => {
    if (event.detail > 0) refocus();
  });

  return {
    el,
    transform(data) {
      if (!pressed(ctrl) && !pressed(alt)) return data;
      let out = pressed(ctrl) && data.length === 1 ? ctrlOf(data) : data;
      if (pressed(alt)) out = `\x1b${out}`;
      release();
      return out;
    },
    setEnabled(enabled) {
      for (const b of Array.from(el.querySelectorAll('button'))) b.disabled = !enabled;
      if (!enabled) release();
    },
  };
}
