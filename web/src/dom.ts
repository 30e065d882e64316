// Tiny DOM helpers: build elements without innerHTML, keep keyed lists in place across refreshes.

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined>;

/** `h('a', {href: '/x', class: 'button'}, 'text')`: attributes set as attributes; false/null skip. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }
}

/** A titled card: `<section class="card" aria-labelledby>` with its `<h2>`. */
export function card(id: string, title: string, ...children: Child[]): HTMLElement {
  return h('section', { class: 'card', id, 'aria-labelledby': `${id}-title` }, h('h2', { id: `${id}-title` }, title), ...children);
}

/** Sets the text of the `[data-field=name]` inside `root` (and its data-status, for badges). */
export function setField(root: Element, name: string, text: string, status?: string): void {
  const el = root.querySelector<HTMLElement>(`[data-field="${name}"]`);
  if (el && el.textContent !== text) el.textContent = text;
  if (el && status !== undefined) el.dataset['status'] = status;
}

/**
 * Makes `list`'s children match `items` by key: new ones created, gone ones removed, every one
 * updated in place (so focus and open menus survive a refresh), in the order of `items`.
 */
export function syncList<T>(
  list: HTMLElement,
  items: T[],
  key: (item: T) => string,
  create: (item: T) => HTMLElement,
  update: (el: HTMLElement, item: T) => void,
): void {
  const existing = new Map<string, HTMLElement>();
  for (const child of Array.from(list.children)) {
    if (child instanceof HTMLElement && child.dataset['key']) existing.set(child.dataset['key'], child);
  }
  let previous: HTMLElement | null = null;
  for (const item of items) {
    const k = key(item);
    let el = existing.get(k);
    existing.delete(k);
    if (!el) {
      el = create(item);
      el.dataset['key'] = k;
    }
    update(el, item);
    const expected: Element | null = previous ? previous.nextElementSibling : list.firstElementChild;
    if (expected !== el) list.insertBefore(el, expected);
    previous = el;
  }
  for (const gone of existing.values()) gone.remove();
}

/** Shows per-field messages of a 422 next to the named inputs of `form`; clears old ones. */
export function showFieldErrors(form: HTMLFormElement, fields: Record<string, string> = {}): void {
  for (const old of Array.from(form.querySelectorAll('.field-error'))) old.remove();
  for (const input of Array.from(form.querySelectorAll('[aria-invalid]'))) input.removeAttribute('aria-invalid');
  for (const [name, message] of Object.entries(fields)) {
    const targets = Array.from(form.querySelectorAll<HTMLElement>(`[name="${name}"], [data-error-for="${name}"]`));
    const input = targets[0];
    if (!input) continue;
    const id = `${form.id || 'form'}-${name}-error`;
    for (const target of targets) {
      target.setAttribute('aria-invalid', 'true');
      target.setAttribute('aria-describedby', id);
    }
    input.insertAdjacentElement('afterend', h('p', { class: 'field-error', id }, `${name.replace(/_/g, ' ')} ${message}`));
  }
}
