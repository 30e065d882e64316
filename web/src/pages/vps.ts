// The VPS page: its status and health, its sessions (new, open, end), and the gateway's panels.

import { act } from '../action';
import { api, ApiError, messageOf, NetworkError } from '../api';
import { clearError, showError } from '../banners';
import { confirmDialog } from '../dialog';
import { card, h, setField, syncList } from '../dom';
import { ago } from '../format';
import { poll } from '../poll';
import type { PageContext } from '../router';
import { AGENTS, type Session, type Vps } from '../types';
import { gatewayFact, showVpsState, vpsPath } from './dashboard';
import { gatewayPanels } from './gateway-panels';
import { renderNotFound } from './notfound';

export const terminalPath = (vpsId: string, sessionId: string, readOnly = false) =>
  `${vpsPath(vpsId)}/sessions/${encodeURIComponent(sessionId)}${readOnly ? '?mode=ro' : ''}`;

export function vpsPage(ctx: PageContext): () => void {
  const vpsId = ctx.params[0] ?? '';
  const base = `/vps/${encodeURIComponent(vpsId)}`;
  const header = h('section', { class: 'card', 'data-vps-id': vpsId },
    h('p', { class: 'crumbs' }, h('a', { href: '/dashboard' }, 'Dashboard'), ' / VPS'),
    h('div', { class: 'row-head' }, h('h1', { 'data-field': 'name' }, 'VPS'), h('span', { class: 'badge', 'data-field': 'status' })),
    h('dl', { class: 'facts' },
      h('div', {}, h('dt', {}, 'Where'), h('dd', { 'data-field': 'where' })),
      gatewayFact(),
      h('div', {}, h('dt', {}, 'Health'), h('dd', { 'data-field': 'health' })),
    ),
  );
  const list = h('ul', { class: 'rows', id: 'session-list', 'aria-live': 'polite' });
  const empty = h('p', { class: 'muted', hidden: true }, 'No sessions yet.');
  const form = newSessionForm(base, () => void poller.now());
  const panels = gatewayPanels(vpsId, (path) => {
    (form.elements.namedItem('workdir') as HTMLInputElement).value = path;
    (form.elements.namedItem('title') as HTMLInputElement).focus();
  });
  ctx.root.replaceChildren(
    header,
    card('sessions', 'Sessions', list, empty, form),
    h('div', { class: 'grid' }, ...panels.sections),
  );

  let connected: boolean | null = null;
  const refresh = async (): Promise<void> => {
    try {
      const [vps, { sessions }] = await Promise.all([
        api<Vps>('GET', base),
        api<{ sessions: Session[] }>('GET', `${base}/sessions`),
      ]);
      updateHeader(header, vps);
      syncList(list, sessions, (s) => s.id, (s) => sessionRow(vpsId, s, () => void poller.now()), updateSession);
      empty.hidden = sessions.length > 0;
      // The gateway's panels load once, then again whenever the gateway comes back.
      if (connected === null || (vps.gateway.connected && !connected)) panels.reload();
      connected = vps.gateway.connected;
      clearError('poll');
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        poller.stop();
        renderNotFound(ctx.root, 'This VPS');
        return;
      }
      if (!(e instanceof NetworkError)) showError(messageOf(e), 'poll');
      throw e;
    }
  };
  const poller = poll(refresh);
  void poller.first.then(() => ctx.ready());
  return () => poller.stop();
}

function updateHeader(header: HTMLElement, vps: Vps): void {
  showVpsState(header, vps);
  document.title = `${vps.name} · chatcode`;
  setField(header, 'where', [vps.ipv4 ?? 'no address yet', vps.region, vps.size].join(' · '));
}

function sessionRow(vpsId: string, session: Session, changed: () => void): HTMLElement {
  const end = h('button', { type: 'button', class: 'danger small', 'data-action': 'end' }, 'End…');
  const row = h('li', { class: 'row', 'data-session-id': session.id },
    h('div', { class: 'row-head' },
      h('a', { href: terminalPath(vpsId, session.id), class: 'open-terminal row-title', 'data-field': 'title' }, session.title),
      h('span', { class: 'badge', 'data-field': 'status' }),
    ),
    h('p', { class: 'muted small' }, `${session.agent_type} in `, h('code', {}, session.workdir)),
    h('p', { class: 'small', 'data-field': 'activity' }),
    h('div', { class: 'actions' },
      h('a', { href: terminalPath(vpsId, session.id, true), class: 'button secondary small watch-terminal' }, 'Watch read-only'),
      end,
    ),
  );
  end.addEventListener('click', async () => {
    const title = row.querySelector('[data-field="title"]')?.textContent ?? session.title;
    if (!(await confirmDialog(`End ${title}?`, 'The agent and its tmux session stop on the VPS.', 'End session'))) return;
    const path = `/vps/${encodeURIComponent(vpsId)}/sessions/${encodeURIComponent(session.id)}`;
    if (await act(end, () => api('DELETE', path))) changed();
  });
  return row;
}

function updateSession(row: HTMLElement, session: Session): void {
  setField(row, 'title', session.title);
  setField(row, 'status', session.status, session.status);
  const over = session.status === 'ended';
  let activity = session.last_activity_at ? `last activity ${ago(session.last_activity_at)}` : `started ${ago(session.created_at)}`;
  if (over) activity = `ended ${ago(session.ended_at)}${session.exit_code !== null ? ` (exit code ${session.exit_code})` : ''}`;
  if (session.error) activity += ` · ${session.error}`;
  setField(row, 'activity', activity);
  const actions = row.querySelector<HTMLElement>('.actions');
  if (actions) actions.hidden = over;
}

function newSessionForm(base: string, created: () => void): HTMLFormElement {
  const status = h('p', { class: 'form-status', role: 'alert' });
  const submit = h('button', { type: 'submit' }, 'Start session');
  const form = h('form', { id: 'new-session', class: 'stack' },
    h('h3', {}, 'New session'),
    h('label', { for: 'session-title' }, 'Title'),
    h('input', { id: 'session-title', name: 'title', required: true, maxlength: 100, autocomplete: 'off' }),
    h('label', { for: 'session-agent' }, 'Agent'),
    h('select', { id: 'session-agent', name: 'agent_type' }, ...AGENTS.map((a) => h('option', { value: a }, a === 'none' ? 'none (a shell)' : a))),
    h('label', { for: 'session-workdir' }, 'Working directory ', h('span', { class: 'muted' }, '(absolute; /root when empty)')),
    h('input', { id: 'session-workdir', name: 'workdir', placeholder: '/root', autocomplete: 'off', spellcheck: 'false' }),
    h('label', { for: 'session-claude-md' }, 'CLAUDE.md ', h('span', { class: 'muted' }, '(optional, up to 64 KiB)')),
    h('textarea', { id: 'session-claude-md', name: 'claude_md', rows: 3, 'data-error-for': 'agent_config', spellcheck: 'false' }),
    h('label', { for: 'session-agents-md' }, 'AGENTS.md ', h('span', { class: 'muted' }, '(optional, up to 64 KiB)')),
    h('textarea', { id: 'session-agents-md', name: 'agents_md', rows: 3, 'data-error-for': 'agent_config', spellcheck: 'false' }),
    h('div', { class: 'actions' }, submit),
    status,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = (name: string) => (form.elements.namedItem(name) as HTMLInputElement).value;
    const body: Record<string, unknown> = { title: value('title').trim(), agent_type: value('agent_type') };
    if (value('workdir').trim()) body['workdir'] = value('workdir').trim();
    const config: Record<string, string> = {};
    if (value('claude_md')) config['claude_md'] = value('claude_md');
    if (value('agents_md')) config['agents_md'] = value('agents_md');
    if (Object.keys(config).length) body['agent_config'] = config;
    void act(submit, async () => {
      status.textContent = 'Starting the session on the VPS…';
      const session = await api<Session>('POST', `${base}/sessions`, { body });
      form.reset();
      status.textContent = `Started ${session.title}.`;
      created();
    }, { status, form });
  });
  return form;
}
