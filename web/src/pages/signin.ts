// The sign-in page: GitHub and DigitalOcean when configured, and the development login.

import { api, ApiError, messageOf } from '../api';
import { h, showFieldErrors } from '../dom';
import { navigate, type PageContext } from '../router';

export function signInPage(ctx: PageContext): void {
  const { providers, environment } = ctx.config;
  const provider = (id: string, href: string, label: string, configured: boolean) =>
    configured
      ? h('a', { id, href, class: 'button wide' }, label)
      : h('p', { class: 'muted' }, `${label.replace('Sign in with ', '')} sign-in is not configured on this server.`);

  const card = h('section', { class: 'card signin' },
    h('h1', {}, 'Sign in to chatcode'),
    h('p', { class: 'muted' }, 'Run coding agents on your own VPS and drive them from here.'),
    provider('signin-github', '/api/auth/github/start', 'Sign in with GitHub', providers.github),
    provider('signin-digitalocean', '/auth/do', 'Sign in with DigitalOcean', providers.digitalocean),
  );
  if (environment === 'development') card.append(devLogin());
  ctx.root.replaceChildren(card);

  // Signed in already: straight to the dashboard.
  api('GET', '/api/me', { allow401: true }).then(
    () => {
      if (!ctx.left()) navigate('/dashboard', true);
    },
    () => ctx.ready(),
  );
}

function devLogin(): HTMLFormElement {
  const status = h('p', { class: 'form-status', role: 'alert' });
  const submit = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form', { id: 'dev-login', class: 'stack' },
    h('h2', {}, 'Development login'),
    h('p', { class: 'muted' }, 'Signs in as any username. Only offered in development.'),
    h('label', { for: 'dev-username' }, 'Username'),
    h('input', { id: 'dev-username', name: 'username', required: true, autocomplete: 'username', maxlength: 64 }),
    submit,
    status,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const username = (form.elements.namedItem('username') as HTMLInputElement).value.trim();
    submit.disabled = true;
    status.textContent = '';
    api('POST', '/auth/dev/login', { body: { username }, allow401: true })
      .then(() => navigate('/dashboard'))
      .catch((e: unknown) => {
        status.textContent = messageOf(e);
        if (e instanceof ApiError) showFieldErrors(form, e.fields);
      })
      .finally(() => {
        submit.disabled = false;
      });
  });
  return form;
}
