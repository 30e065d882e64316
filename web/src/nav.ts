// The top bar of signed-in pages: the username, Dashboard, Billing, Account, Sign out.

import { api, messageOf } from './api';
import { showError } from './banners';
import { h } from './dom';
import type { Me } from './types';

let user: Me | null = null;
let loading: Promise<Me> | null = null;

/** The signed-in user from `/api/me`, asked once per page load unless `fresh` (a 401 goes to sign-in). */
export function loadUser(fresh = false): Promise<Me> {
  if (!loading || fresh) {
    const request = api<Me>('GET', '/api/me');
    loading = request;
    request.then(setUser, () => {
      if (loading === request) loading = null;
    });
  }
  return loading;
}

/** Shows or hides the bar; shown, it loads the user (so a signed-out visitor goes to sign-in). */
export function showNav(show: boolean): void {
  const nav = document.getElementById('nav');
  if (!nav) return;
  nav.hidden = !show;
  if (!show || nav.childElementCount) return;
  const name = h('span', { class: 'nav-user', id: 'nav-user' }, user ? displayName(user) : '');
  const signOut = h('button', { type: 'button', class: 'link', id: 'sign-out' }, 'Sign out');
  signOut.addEventListener('click', () => {
    signOut.disabled = true;
    api('POST', '/api/auth/logout', { allow401: true })
      .catch((e: unknown) => {
        // A session already gone is signed out all the same.
        if (!(e instanceof Error && 'status' in e && e.status === 401)) throw e;
      })
      .then(() => location.assign('/'))
      .catch((e: unknown) => {
        signOut.disabled = false;
        showError(messageOf(e));
      });
  });
  nav.append(
    h('a', { href: '/dashboard', class: 'brand' }, 'chatcode'),
    h('a', { href: '/dashboard', class: 'nav-link' }, 'Dashboard'),
    h('a', { href: '/dashboard/billing', class: 'nav-link', id: 'nav-billing' }, 'Billing'),
    h('a', { href: '/dashboard/account', class: 'nav-link', id: 'nav-account' }, 'Account'),
    h('span', { class: 'nav-spacer' }),
    name,
    signOut,
  );
  loadUser().catch(() => {});
}

function setUser(me: Me): void {
  user = me;
  const el = document.getElementById('nav-user');
  if (el) el.textContent = displayName(me);
}

function displayName(me: Me): string {
  return me.username ?? me.providers.github?.username ?? me.emails[0]?.email ?? 'signed in';
}
