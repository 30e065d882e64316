// A confirmation asked with a real <dialog>: resolves true when the person confirms.

import { h } from './dom';

export function confirmDialog(title: string, body: string, confirmLabel: string): Promise<boolean> {
  const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'dialog-title' },
    h('form', { method: 'dialog' },
      h('h2', { id: 'dialog-title' }, title),
      h('p', {}, body),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', value: 'cancel', class: 'secondary', autofocus: true }, 'Cancel'),
        h('button', { type: 'submit', value: 'confirm', class: 'danger' }, confirmLabel),
      ),
    ),
  );
  document.body.appendChild(dialog);
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'confirm');
      dialog.remove();
    }, { once: true });
    dialog.showModal();
  });
}
