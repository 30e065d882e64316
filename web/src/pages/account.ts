// The account page: settings, API keys (a new key shown once, with a copy button), and deleting
// the account after typing the username.

import { act } from '../action';
import { api, messageOf } from '../api';
import { showError } from '../banners';
import { confirmDialog } from '../dialog';
import { card, h, syncList } from '../dom';
import { ago, dateTime } from '../format';
import { loadUser } from '../nav';
import type { PageContext } from '../router';
import type { AccountSettings, ApiKeySummary, NewApiKey } from '../types';

export async function accountPage(ctx: PageContext): Promise<void> {
  try {
    const settings = await api<AccountSettings>('GET', '/api/account');
    if (ctx.left()) return;
    const keys = keysCard();
    ctx.root.replaceChildren(
      h('h1', {}, 'Account'),
      settingsCard(settings),
      keys.el,
      deleteCard(settings),
    );
    await keys.refresh();
  } catch (e) {
    showError(messageOf(e), 'poll');
  }
  ctx.ready();
}

/** A label and its input (which must have an id). */
function field(label: string, input: HTMLInputElement, hint?: string): HTMLElement[] {
  return [h('label', { for: input.id }, label, hint ? h('span', { class: 'muted' }, ` (${hint})`) : null), input];
}

function settingsCard(settings: AccountSettings): HTMLElement {
  const username = h('input', { id: 'account-username', name: 'username', value: settings.username ?? '', autocomplete: 'username', required: true, maxlength: 39 });
  const email = h('input', { id: 'account-email', name: 'email', type: 'email', value: settings.email ?? '', autocomplete: 'email', maxlength: 254 });
  const threshold = h('input', { id: 'account-threshold', name: 'low_balance_threshold', type: 'number', min: 0, step: 1, value: settings.low_balance_threshold ?? 0 });
  const status = h('p', { class: 'form-status', role: 'status' });
  const save = h('button', { type: 'submit' }, 'Save');
  const form = h('form', { id: 'account-settings', class: 'stack' },
    ...field('Username', username),
    ...field('E-mail', email, 'for low-balance warnings; leave empty for none'),
    ...field('Low-balance warning', threshold, 'credits'),
    h('p', { class: 'muted' }, `GitHub: ${settings.github_login ?? 'not linked'} · member since ${dateTime(settings.created_at)}`),
    h('div', { class: 'actions' }, save),
    status,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const body = {
      username: username.value.trim(),
      email: email.value.trim() || null,
      low_balance_threshold: Number(threshold.value),
    };
    void act(save, async () => {
      await api<AccountSettings>('PATCH', '/api/account', { body });
      status.textContent = 'Saved.';
      void loadUser(true);
    }, { form, status });
  });
  return card('settings', 'Settings', form);
}

function keysCard(): { el: HTMLElement; refresh: () => Promise<void> } {
  const list = h('ul', { class: 'rows', id: 'api-key-list' });
  const empty = h('p', { class: 'muted' }, 'No API keys yet.');
  const name = h('input', { id: 'api-key-name', name: 'name', required: true, maxlength: 64, placeholder: 'laptop' });
  const create = h('button', { type: 'submit' }, 'Create key');
  const status = h('p', { class: 'form-status', role: 'status' });
  const shown = h('div', { id: 'new-key', class: 'new-key', hidden: true });
  const form = h('form', { id: 'new-api-key', class: 'stack' }, ...field('Name of a new key', name), h('div', { class: 'actions' }, create), status);
  const refresh = async (): Promise<void> => {
    const { api_keys } = await api<{ api_keys: ApiKeySummary[] }>('GET', '/api/account/api-keys');
    syncList(list, api_keys, (k) => k.id, (k) => keyRow(k, refresh), updateKeyRow);
    empty.hidden = api_keys.length > 0;
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void act(create, async () => {
      const key = await api<NewApiKey>('POST', '/api/account/api-key', { body: { name: name.value } });
      name.value = '';
      showNewKey(shown, key);
      await refresh();
    }, { form, status });
  });
  const el = card('api-keys', 'API keys',
    h('p', { class: 'muted' }, 'A key acts as you on every API route: send it as Authorization: Bearer <key>.'),
    shown, list, empty, form);
  return { el, refresh };
}

function showNewKey(shown: HTMLElement, key: NewApiKey): void {
  const value = h('code', { id: 'new-key-value' }, key.key);
  const copy = h('button', { type: 'button', class: 'secondary', id: 'copy-new-key' }, 'Copy');
  const note = h('span', { class: 'muted', role: 'status' });
  copy.addEventListener('click', () => {
    navigator.clipboard.writeText(key.key).then(
      () => { note.textContent = 'Copied.'; },
      () => { note.textContent = 'Copying was refused: select the key and copy it.'; },
    );
  });
  shown.replaceChildren(
    h('p', {}, h('strong', {}, `Your new key "${key.name}"`), ' — copy it now; it is not shown again.'),
    h('p', { class: 'key-line' }, value, ' ', copy, ' ', note),
  );
  shown.hidden = false;
}

function keyRow(key: ApiKeySummary, refresh: () => Promise<void>): HTMLElement {
  const revoke = h('button', { type: 'button', class: 'danger', 'data-action': 'revoke' }, 'Revoke…');
  revoke.addEventListener('click', async () => {
    if (!(await confirmDialog('Revoke this key?', `Anything using "${key.name}" (${key.prefix}…) stops working at once.`, 'Revoke'))) return;
    void act(revoke, async () => {
      await api('DELETE', `/api/account/api-keys/${encodeURIComponent(key.id)}`);
      await refresh();
    });
  });
  return h('li', { class: 'row', 'data-key-id': key.id },
    h('div', { class: 'row-head' }, h('strong', { 'data-field': 'name' }), h('code', { 'data-field': 'prefix' })),
    h('p', { class: 'muted', 'data-field': 'dates' }),
    h('div', { class: 'actions' }, revoke),
  );
}

function updateKeyRow(el: HTMLElement, key: ApiKeySummary): void {
  const set = (name: string, text: string) => {
    const target = el.querySelector(`[data-field="${name}"]`);
    if (target && target.textContent !== text) target.textContent = text;
  };
  set('name', key.name);
  set('prefix', `${key.prefix}…`);
  set('dates', `created ${ago(key.created_at)} · ${key.last_used_at ? `last used ${ago(key.last_used_at)}` : 'never used'}`);
}

function deleteCard(settings: AccountSettings): HTMLElement {
  const typed = h('input', { id: 'delete-confirm', name: 'confirm', autocomplete: 'off', spellcheck: 'false' });
  const remove = h('button', { type: 'submit', class: 'danger', disabled: true }, 'Delete my account');
  const status = h('p', { class: 'form-status', role: 'status' });
  const form = h('form', { id: 'delete-account', class: 'stack' },
    h('p', {}, 'Deleting your account destroys every VPS at DigitalOcean, ends its sessions, revokes the DigitalOcean and GitHub access you granted, and signs out everywhere. Billing records are kept without your name. This cannot be undone.'),
    ...field(`Type your username (${settings.username ?? ''}) to confirm`, typed),
    h('div', { class: 'actions' }, remove),
    status,
  );
  typed.addEventListener('input', () => {
    remove.disabled = typed.value !== settings.username;
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void act(remove, async () => {
      status.textContent = 'Deleting… (destroying VPSes can take a while)';
      await api('POST', '/api/account/delete', { body: { confirm: typed.value } });
      location.assign('/');
    }, { form, status });
  });
  return card('danger-zone', 'Delete account', form);
}
