// The terminal page: a full-window xterm on the session, with its banner, status bar and key bar.

import { api, ApiError } from '../api';
import { setRetry } from '../banners';
import { h } from '../dom';
import { clock } from '../format';
import type { PageContext } from '../router';
import { clipboard } from '../terminal/clipboard';
import { keyBar } from '../terminal/keybar';
import { searchBox } from '../terminal/search';
import { createTerminal } from '../terminal/term';
import { AttachRefused, Wire, type GatewayStatus, type Ticket, type WireState } from '../terminal/wire';
import type { Session } from '../types';
import { vpsPath } from './dashboard';

declare global {
  interface Window {
    /** Test hook: the xterm instance and the wire client of the terminal page. */
    chatcode?: { terminal: import('@xterm/xterm').Terminal; wire: Wire };
  }
}

/** How long a notice (a refused keystroke, "copied") stays in the banner. */
const NOTICE_MS = 8_000;

export function terminalPage(ctx: PageContext): () => void {
  const [vpsId = '', sessionId = ''] = ctx.params;
  const readOnly = ctx.query.get('mode') === 'ro';
  const base = `/vps/${encodeURIComponent(vpsId)}/sessions`;

  const title = h('span', { class: 'term-title' }, sessionId);
  const stateLabel = h('span', { class: 'term-state', id: 'terminal-state' }, 'connecting');
  const latency = h('span', { id: 'latency', class: 'latency', title: 'Round trip to the hub' }, '—');
  const banner = h('div', { id: 'terminal-banner', class: 'term-banner', role: 'status', 'aria-live': 'polite', hidden: true });
  const container = h('div', { id: 'terminal', class: 'terminal', 'data-input': 'disabled' });
  const stage = h('div', { class: 'term-stage' }, container);
  const bar = h('header', { class: 'term-bar' },
    h('a', { href: vpsPath(vpsId), class: 'term-back', 'aria-label': 'Back to the VPS' }, '←'),
    title,
    readOnly ? h('span', { class: 'badge' }, 'read-only') : null,
    h('span', { class: 'nav-spacer' }),
    stateLabel,
    latency,
  );
  const page = h('div', { class: 'term-page' }, bar, banner, stage);
  ctx.root.replaceChildren(page);
  document.title = `${sessionId} · chatcode`;

  const view = createTerminal(container, ctx.query.get('renderer') === 'dom' ? 'dom' : 'webgl');
  const term = view.term;
  let wireState: WireState = 'connecting';
  let gateway: GatewayStatus = 'connected';
  let awaySince: Date | null = null;
  let ended: string | null = null;
  let notice: string | null = null;
  let noticeTimer: number | undefined;
  const inputOn = () => !readOnly && wireState === 'open' && gateway === 'connected' && ended === null;

  const render = () => {
    const parts: string[] = [];
    if (ended !== null) parts.push(ended);
    else if (wireState === 'connecting') parts.push('connecting…');
    else if (wireState === 'reconnecting') parts.push('reconnecting…');
    else if (gateway === 'reconnecting') parts.push('gateway reconnecting…');
    else if (gateway === 'offline') parts.push(`gateway offline since ${clock(awaySince ?? new Date())}`);
    if (notice) parts.push(notice);
    if (readOnly) parts.push('read-only');
    banner.textContent = parts.join(' · ');
    banner.hidden = parts.length === 0;
    const enabled = inputOn();
    term.options.disableStdin = !enabled;
    container.dataset['input'] = enabled ? 'enabled' : 'disabled';
    keys.setEnabled(enabled);
    stateLabel.textContent = ended !== null ? 'ended' : wireState === 'open' ? (gateway === 'connected' ? 'live' : `gateway ${gateway}`) : wireState;
  };
  const notify = (message: string) => {
    notice = message;
    window.clearTimeout(noticeTimer);
    noticeTimer = window.setTimeout(() => {
      notice = null;
      render();
    }, NOTICE_MS);
    render();
  };

  let wire: Wire;
  const keys = keyBar((data) => wire.input(data), () => term.modes.applicationCursorKeysMode, () => term.focus());
  const search = searchBox(view.search, () => term.focus());
  const clip = clipboard(term, stage, inputOn, notify);
  stage.append(search.el);
  page.append(keys.el);

  const attach = async (): Promise<Ticket> => {
    try {
      return await api<Ticket>('POST', `${base}/${encodeURIComponent(sessionId)}/attach`, { body: { mode: readOnly ? 'ro' : 'rw' } });
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) throw new AttachRefused(`not found: ${e.message}`);
      if (e instanceof ApiError && e.status >= 400 && e.status < 500 && e.status !== 401 && e.status !== 429) throw new AttachRefused(e.message);
      throw e;
    }
  };
  let readied = false;
  const ready = () => {
    if (!readied) ctx.ready();
    readied = true;
  };
  wire = new Wire({
    sessionId,
    readOnly,
    attach,
    base: location.href,
    screen: { write: (data, done) => term.write(data, done), reset: () => term.reset() },
    events: {
      state(state) {
        wireState = state;
        render();
      },
      gateway(status) {
        if (status !== 'connected' && gateway === 'connected') awaySince = new Date();
        gateway = status;
        render();
        if (status !== 'connected') ready();
      },
      error(code, message) {
        const labels: Record<string, string> = { writer_busy: 'writer busy', read_only: 'read-only', gateway_offline: 'gateway offline', attach_failed: 'cannot attach' };
        notify(`${labels[code] ?? code.replace(/_/g, ' ')}: ${message}`);
        ready();
      },
      latency(ms) {
        latency.textContent = `${ms} ms`;
      },
      drawn: ready,
      ended(message) {
        ended = message;
        render();
        ready();
      },
    },
  });
  window.chatcode = { terminal: term, wire };

  term.onData((data) => {
    if (inputOn()) wire.input(keys.transform(data));
  });
  term.onBinary((data) => {
    if (inputOn()) wire.input(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff));
  });
  term.onResize(({ cols, rows }) => wire.resize(cols, rows));
  term.attachCustomKeyEventHandler((event) => {
    if (event.type !== 'keydown') return true;
    const mod = event.ctrlKey || event.metaKey;
    const action = mod && event.shiftKey && event.code === 'KeyC' ? clip.copy
      : mod && event.shiftKey && event.code === 'KeyV' ? clip.paste
      : mod && !event.shiftKey && !event.altKey && event.code === 'KeyF' ? search.open
      : null;
    if (!action) return true;
    event.preventDefault();
    action();
    return false;
  });

  view.fit();
  wire.resize(term.cols, term.rows);
  render();
  wire.start();
  term.focus();
  setRetry(() => wire.reconnectNow());
  // The session's title, for the bar; the terminal works without it.
  api<{ sessions: Session[] }>('GET', base).then(
    ({ sessions }) => {
      const session = sessions.find((s) => s.id === sessionId);
      if (session) {
        title.textContent = session.title;
        document.title = `${session.title} · chatcode`;
      }
    },
    () => {},
  );

  return () => {
    window.clearTimeout(noticeTimer);
    wire.close();
    clip.dispose();
    view.dispose();
    delete window.chatcode;
  };
}
