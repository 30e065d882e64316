// The view for a path no page answers, and for ids that are not the person's.

import { h } from '../dom';
import type { PageContext } from '../router';

/** Fills `root` with the not-found message. */
export function renderNotFound(root: HTMLElement, what = 'This page'): void {
  root.replaceChildren(
    h('section', { class: 'card not-found' },
      h('h1', {}, 'Not found'),
      h('p', {}, `${what} was not found: it does not exist, or it is not yours.`),
      h('p', {}, h('a', { href: '/dashboard' }, 'Back to the dashboard')),
    ),
  );
}

export function notFoundPage(ctx: PageContext): void {
  renderNotFound(ctx.root);
  ctx.ready();
}
