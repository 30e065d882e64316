// The VPS page's panels answered by its gateway: SSH keys, agents, workspace folders.
// Each shows its own failure (409 gateway_offline when the gateway is away), never a page error.

import { act } from '../action';
import { api, messageOf } from '../api';
import { confirmDialog } from '../dialog';
import { h } from '../dom';
import { dateTime } from '../format';
import { AGENTS, type SshKey } from '../types';

interface Panel {
  section: HTMLElement;
  reload(): Promise<void>;
}

/** A card with a title, a Refresh button, a status line and a body filled by `load`. */
function panel(id: string, title: string, load: () => Promise<Node[]>, ...extra: Node[]): Panel {
  const status = h('p', { class: 'panel-status', role: 'status' });
  const body = h('div', { class: 'panel-body' });
  const refresh = h('button', { type: 'button', class: 'secondary small' }, 'Refresh');
  const section = h('section', { class: 'card', id, 'aria-labelledby': `${id}-title`, 'aria-busy': 'false' },
    h('div', { class: 'card-head' }, h('h2', { id: `${id}-title` }, title), refresh),
    status, body, ...extra);
  const reload = async () => {
    section.setAttribute('aria-busy', 'true');
    status.textContent = 'Asking the gateway…';
    try {
      body.replaceChildren(...(await load()));
      status.textContent = '';
    } catch (e) {
      body.replaceChildren();
      status.textContent = messageOf(e);
    } finally {
      section.setAttribute('aria-busy', 'false');
    }
  };
  refresh.addEventListener('click', () => void reload());
  return { section, reload };
}

const text = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
const field = (item: unknown, name: string): unknown => (item && typeof item === 'object' ? (item as Record<string, unknown>)[name] : undefined);

export function gatewayPanels(vpsId: string, useFolder: (path: string) => void): { sections: HTMLElement[]; reload(): void } {
  const base = `/vps/${encodeURIComponent(vpsId)}`;

  // SSH keys.
  let keys: SshKey[] = [];
  const keyList = (): Node[] => {
    if (!keys.length) return [h('p', { class: 'muted' }, 'No keys authorized.')];
    return [h('ul', { class: 'rows' }, ...keys.map((key) => {
      const revoke = h('button', { type: 'button', class: 'danger small', 'data-action': 'revoke' }, 'Revoke…');
      revoke.addEventListener('click', async () => {
        if (!(await confirmDialog(`Revoke ${key.label}?`, `SSH logins with ${key.fingerprint} stop working.`, 'Revoke key'))) return;
        if (await act(revoke, () => api('DELETE', `${base}/ssh-keys?fingerprint=${encodeURIComponent(key.fingerprint)}`))) void sshPanel.reload();
      });
      return h('li', { class: 'row', 'data-fingerprint': key.fingerprint },
        h('div', { class: 'row-head' }, h('strong', {}, key.label), h('span', { class: 'muted small' }, key.algorithm)),
        h('code', { class: 'wrap small' }, key.fingerprint),
        h('p', { class: 'muted small' }, `added ${dateTime(key.added_at)}`, key.expires_at ? `, expires ${dateTime(key.expires_at)}` : ''),
        h('div', { class: 'actions' }, revoke));
    }))];
  };
  const keyForm = h('form', { id: 'add-ssh-key', class: 'stack' },
    h('h3', {}, 'Add a key'),
    h('label', { for: 'key-public' }, 'Public key'),
    h('textarea', { id: 'key-public', name: 'public_key', rows: 3, required: true, spellcheck: 'false', placeholder: 'ssh-ed25519 AAAA… you@laptop' }),
    h('label', { for: 'key-label' }, 'Label'),
    h('input', { id: 'key-label', name: 'label', required: true, maxlength: 64, autocomplete: 'off' }),
    h('label', { for: 'key-expires' }, 'Expires ', h('span', { class: 'muted' }, '(optional)')),
    h('input', { id: 'key-expires', name: 'expires_at', type: 'datetime-local' }),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Add key')),
    h('p', { class: 'form-status', role: 'alert' }),
  );
  const sshPanel = panel('ssh-keys', 'SSH keys', async () => {
    keys = (await api<{ keys: SshKey[] | null }>('GET', `${base}/ssh-keys`)).keys ?? [];
    return keyList();
  }, keyForm);
  keyForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = (name: string) => (keyForm.elements.namedItem(name) as HTMLInputElement).value.trim();
    const body: Record<string, string> = { public_key: value('public_key'), label: value('label') };
    if (value('expires_at')) body['expires_at'] = new Date(value('expires_at')).toISOString();
    const submit = keyForm.querySelector<HTMLButtonElement>('button[type="submit"]');
    void act(submit, async () => {
      const answer = await api<{ keys: SshKey[] | null }>('POST', `${base}/ssh-keys`, { body });
      keys = answer.keys ?? keys;
      void sshPanel.reload();
      keyForm.reset();
    }, { status: keyForm.querySelector<HTMLElement>('.form-status') ?? undefined, form: keyForm });
  });

  // Agents.
  const agentForm = h('form', { id: 'install-agent', class: 'inline-form' },
    h('label', { for: 'agent-name' }, 'Agent'),
    h('select', { id: 'agent-name', name: 'agent' }, ...AGENTS.filter((a) => a !== 'none').map((a) => h('option', { value: a }, a))),
    h('button', { type: 'submit' }, 'Install'),
    h('p', { class: 'form-status', role: 'alert' }),
  );
  const agentsPanel = panel('agents', 'Agents', async () => {
    const { agents } = await api<{ agents: unknown[] | null }>('GET', `${base}/agents`);
    if (!agents?.length) return [h('p', { class: 'muted' }, 'The gateway reports no agents.')];
    return [h('ul', { class: 'plain' }, ...agents.map((agent) => {
      const name = text(field(agent, 'name')) || text(agent);
      const installed = field(agent, 'installed') === true;
      const version = text(field(agent, 'version'));
      return h('li', { 'data-agent': name }, h('strong', {}, name), ' ',
        h('span', { class: 'muted' }, installed ? `installed${version ? ` (${version})` : ''}` : 'not installed'));
    }))];
  }, agentForm);
  agentForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const agent = (agentForm.elements.namedItem('agent') as HTMLSelectElement).value;
    const status = agentForm.querySelector<HTMLElement>('.form-status');
    void act(agentForm.querySelector('button'), async () => {
      if (status) status.textContent = `Installing ${agent}…`;
      await api('POST', `${base}/agents/install`, { body: { agent } });
      if (status) status.textContent = `${agent} installed.`;
      void agentsPanel.reload();
    }, status ? { status } : {});
  });

  // Workspace folders.
  const workspacePanel = panel('workspace', 'Workspace folders', async () => {
    const { folders } = await api<{ folders: unknown[] | null }>('GET', `${base}/workspace`);
    if (!folders?.length) return [h('p', { class: 'muted' }, 'No folders yet.')];
    return [h('ul', { class: 'rows' }, ...folders.map((folder) => {
      const path = text(field(folder, 'path')) || text(folder);
      const use = h('button', { type: 'button', class: 'secondary small' }, 'New session here');
      use.addEventListener('click', () => useFolder(path));
      return h('li', { class: 'row', 'data-path': path },
        h('div', { class: 'row-head' }, h('strong', {}, text(field(folder, 'name')) || path), use),
        h('code', { class: 'wrap small' }, path));
    }))];
  });

  const all = [sshPanel, agentsPanel, workspacePanel];
  return {
    sections: all.map((p) => p.section),
    reload: () => all.forEach((p) => void p.reload()),
  };
}
