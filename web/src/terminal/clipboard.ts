// Copy and paste for the terminal: the Ctrl/Cmd+Shift+C/V actions and a right-click menu.

import type { Terminal } from '@xterm/xterm';
import { h } from '../dom';

export interface Clipboard {
  copy(): void;
  paste(): void;
  dispose(): void;
}

/** `notify` shows a short message (a failure, or "copied"); `canPaste` says whether input is on. */
export function clipboard(term: Terminal, stage: HTMLElement, canPaste: () => boolean, notify: (message: string) => void): Clipboard {
  const copy = () => {
    const text = term.getSelection();
    if (!text) return;
    if (!navigator.clipboard?.writeText) return notify('copy is not available here: use the browser’s Copy');
    navigator.clipboard.writeText(text).then(
      () => notify('copied'),
      () => notify('the browser refused to copy: use its Copy instead'),
    );
  };
  const paste = () => {
    if (!canPaste()) return;
    if (!navigator.clipboard?.readText) return notify('paste is not available here: use the browser’s Paste (Ctrl+V)');
    navigator.clipboard.readText().then(
      (text) => {
        if (text) term.paste(text);
        term.focus();
      },
      () => notify('the browser refused to paste: allow clipboard access, or use its Paste'),
    );
  };

  const item = (label: string, run: () => void) => {
    const b = h('button', { type: 'button', role: 'menuitem' }, label);
    b.addEventListener('click', () => {
      close();
      run();
    });
    return b;
  };
  const copyItem = item('Copy', copy);
  const pasteItem = item('Paste', paste);
  const menu = h('div', { class: 'context-menu', role: 'menu', 'aria-label': 'Clipboard', hidden: true }, copyItem, pasteItem);
  stage.appendChild(menu);

  const close = () => {
    menu.hidden = true;
  };
  const open = (event: MouseEvent) => {
    event.preventDefault();
    copyItem.disabled = !term.hasSelection();
    pasteItem.disabled = !canPaste();
    const box = stage.getBoundingClientRect();
    menu.hidden = false;
    // Positioned through the CSSOM (allowed by the CSP), kept inside the terminal.
    menu.style.left = `${Math.min(event.clientX - box.left, box.width - menu.offsetWidth - 4)}px`;
    menu.style.top = `${Math.min(event.clientY - box.top, box.height - menu.offsetHeight - 4)}px`;
    (copyItem.disabled ? pasteItem : copyItem).focus();
  };
  const onPointer = (event: PointerEvent) => {
    if (!menu.contains(event.target as Node)) close();
  };
  const onKey = (event: KeyboardEvent) => {
    if (event.key === 'Escape' && !menu.hidden) {
      close();
      term.focus();
    }
  };
  stage.addEventListener('contextmenu', open);
  document.addEventListener('pointerdown', onPointer);
  document.addEventListener('keydown', onKey);

  return {
    copy,
    paste,
    dispose() {
      stage.removeEventListener('contextmenu', open);
      document.removeEventListener('pointerdown', onPointer);
      document.removeEventListener('keydown', onKey);
    },
  };
}
