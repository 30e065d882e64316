// Client-side routing: picks the page for location.pathname, runs it, and cleans up on leaving.

import { setRetry, clearError } from './banners';
import type { Config } from './config';
import { showNav } from './nav';
import { accountPage } from './pages/account';
import { billingPage } from './pages/billing';
import { dashboardPage } from './pages/dashboard';
import { notFoundPage } from './pages/notfound';
import { signInPage } from './pages/signin';
import { vpsPage } from './pages/vps';

export type PageName = 'signin' | 'dashboard' | 'account' | 'billing' | 'vps' | 'terminal' | 'notfound';

export interface PageContext {
  config: Config;
  /** The path's captured parts, e.g. the VPS id. */
  params: string[];
  query: URLSearchParams;
  root: HTMLElement;
  /** Marks the page's first data load as finished (`data-ready="true"` on body). */
  ready(): void;
  /** Whether the person has left this page since it was rendered. */
  left(): boolean;
}

export type Cleanup = () => void;
export type Page = (ctx: PageContext) => Cleanup | void | Promise<Cleanup | void>;

interface Route {
  name: PageName;
  path: RegExp;
  nav: boolean;
  load: () => Promise<Page>;
}

const routes: Route[] = [
  { name: 'signin', path: /^\/$/, nav: false, load: async () => signInPage },
  { name: 'dashboard', path: /^\/dashboard\/?$/, nav: true, load: async () => dashboardPage },
  { name: 'vps', path: /^\/dashboard\/vps\/([^/]+)\/?$/, nav: true, load: async () => vpsPage },
  {
    name: 'terminal',
    path: /^\/dashboard\/vps\/([^/]+)\/sessions\/([^/]+)\/?$/,
    nav: false,
    // The terminal (xterm and its addons) is the one heavy page: loaded only when opened.
    load: async () => (await import('./pages/terminal')).terminalPage,
  },
  { name: 'account', path: /^\/dashboard\/account\/?$/, nav: true, load: async () => accountPage },
  { name: 'billing', path: /^\/dashboard\/billing\/?$/, nav: true, load: async () => billingPage },
];

const notFound: Route = { name: 'notfound', path: /.*/, nav: true, load: async () => notFoundPage };

let cleanup: Cleanup | null = null;
let generation = 0;
let config: Config;

export function startRouter(cfg: Config): void {
  config = cfg;
  window.addEventListener('popstate', () => void render());
  document.addEventListener('click', onLinkClick);
  void render();
}

/** Goes to `path` without reloading the page. */
export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  void render();
}

async function render(): Promise<void> {
  const mine = ++generation;
  cleanup?.();
  cleanup = null;
  clearError();
  const body = document.body;
  delete body.dataset['ready'];
  delete body.dataset['page'];
  const root = document.getElementById('app') as HTMLElement;
  root.replaceChildren();
  let route = notFound;
  let params: string[] = [];
  for (const candidate of routes) {
    const match = candidate.path.exec(location.pathname);
    if (match) {
      route = candidate;
      params = match.slice(1).map(decodeURIComponent);
      break;
    }
  }
  showNav(route.nav);
  body.classList.toggle('full', route.name === 'terminal');
  setRetry(() => void render());
  const page = await route.load();
  if (mine !== generation) return;
  const context: PageContext = {
    config,
    params,
    query: new URLSearchParams(location.search),
    root,
    ready: () => {
      if (mine === generation) body.dataset['ready'] = 'true';
    },
    left: () => mine !== generation,
  };
  const done = await page(context);
  if (mine !== generation) {
    done?.();
    return;
  }
  cleanup = done ?? null;
  body.dataset['page'] = route.name;
}

/** Same-origin links to pages are followed without a reload; API links load for real. */
function onLinkClick(event: MouseEvent): void {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const link = (event.target as Element | null)?.closest?.('a');
  if (!link || link.target || link.hasAttribute('download') || link.origin !== location.origin) return;
  if (link.pathname !== '/' && !link.pathname.startsWith('/dashboard')) return;
  event.preventDefault();
  if (link.pathname + link.search !== location.pathname + location.search) navigate(link.pathname + link.search);
}
