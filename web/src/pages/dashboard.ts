// The dashboard: the DigitalOcean connection, the VPS list with live status, and the create form.

import { act } from '../action';
import { api, messageOf, NetworkError } from '../api';
import { clearError, showError } from '../banners';
import { confirmDialog } from '../dialog';
import { card, h, setField, syncList } from '../dom';
import { ago, dateTime, health, sizeLabel } from '../format';
import { loadUser } from '../nav';
import { poll } from '../poll';
import type { PageContext } from '../router';
import type { Me, Vps, VpsOptions } from '../types';

/** Statuses DigitalOcean settles on `GET /vps/:id`: asked about on every refresh. */
const SETTLING = new Set(['provisioning', 'powering_off', 'powering_on', 'deleting']);
/** How old a VPS's health may get before it is asked again. */
const DETAIL_MAX_AGE_MS = 30_000;

export const vpsPath = (id: string) => `/dashboard/vps/${encodeURIComponent(id)}`;

export function dashboardPage(ctx: PageContext): () => void {
  const doState = h('div', { class: 'do-state' });
  const list = h('ul', { class: 'rows', id: 'vps-list', 'aria-live': 'polite' });
  const empty = h('p', { class: 'muted', hidden: true }, 'No VPS yet: create one below.');
  const create = createForm(() => void poller.now());
  ctx.root.replaceChildren(
    h('h1', {}, 'Dashboard'),
    card('digitalocean', 'DigitalOcean', doState),
    card('vps', 'Your VPSes', list, empty),
    card('create', 'Create a VPS', create.form),
  );

  const loadMe = async (fresh = false): Promise<void> => {
    const me = await loadUser(fresh);
    renderConnection(me);
    await create.enable(me.providers.digitalocean !== null);
  };

  const renderConnection = (me: Me) => {
    const link = me.providers.digitalocean;
    if (link) {
      const disconnect = h('button', { type: 'button', id: 'disconnect-digitalocean', class: 'secondary' }, 'Disconnect');
      disconnect.addEventListener('click', () => {
        void act(disconnect, async () => {
          await api('POST', '/auth/do/disconnect');
          await loadMe(true);
        });
      });
      doState.replaceChildren(
        h('p', {}, h('span', { class: 'state', 'data-status': 'connected' }, 'Connected'),
          link.email ? ` as ${link.email}` : '', ` since ${dateTime(link.connected_at)}.`),
        disconnect,
      );
    } else if (ctx.config.providers.digitalocean) {
      doState.replaceChildren(
        h('p', {}, 'Not connected. Connect your DigitalOcean account to create VPSes on it.'),
        h('a', { href: '/auth/do', id: 'connect-digitalocean', class: 'button' }, 'Connect DigitalOcean'),
      );
    } else {
      doState.replaceChildren(
        h('p', { class: 'muted' }, 'DigitalOcean is not configured on this server.'),
        h('button', { type: 'button', id: 'connect-digitalocean', disabled: true }, 'Connect DigitalOcean'),
      );
    }
  };

  const details = new Map<string, { at: number; vps: Vps }>();
  const refresh = async (): Promise<void> => {
    try {
      const { vps } = await api<{ vps: Vps[] }>('GET', '/vps');
      const now = Date.now();
      const stale = vps.filter((v) => SETTLING.has(v.status) || !v.ipv4 || now - (details.get(v.id)?.at ?? 0) > DETAIL_MAX_AGE_MS);
      await Promise.all(stale.map((v) =>
        api<Vps>('GET', `/vps/${encodeURIComponent(v.id)}`).then((d) => void details.set(v.id, { at: now, vps: d }), () => {}),
      ));
      const shown = vps.map((v) => {
        const d = details.get(v.id)?.vps;
        return d && d.updated_at >= v.updated_at ? { ...v, ...d, gateway: { ...v.gateway, ...d.gateway } } : { ...v, gateway: { ...v.gateway, health: d?.gateway.health ?? null } };
      });
      syncList(list, shown, (v) => v.id, (v) => vpsRow(v, () => void poller.now()), updateRow);
      empty.hidden = shown.length > 0;
      clearError('poll');
    } catch (e) {
      if (!(e instanceof NetworkError)) showError(messageOf(e), 'poll');
      throw e;
    }
  };

  const poller = poll(refresh);
  Promise.allSettled([loadMe(), poller.first]).then((results) => {
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed && !(failed.reason instanceof NetworkError)) showError(messageOf(failed.reason));
    ctx.ready();
  });
  return () => poller.stop();
}

function vpsRow(vps: Vps, changed: () => void): HTMLElement {
  const button = (action: string, label: string, cls = 'secondary') =>
    h('button', { type: 'button', 'data-action': action, class: cls }, label);
  const powerOff = button('power-off', 'Power off');
  const powerOn = button('power-on', 'Power on');
  const remove = button('delete', 'Delete…', 'danger');
  const row = h('li', { class: 'row', 'data-vps-id': vps.id },
    h('div', { class: 'row-head' },
      h('a', { href: vpsPath(vps.id), class: 'row-title', 'data-field': 'name' }, vps.name),
      h('span', { class: 'badge', 'data-field': 'status' }),
    ),
    h('p', { class: 'muted small', 'data-field': 'where' }),
    h('dl', { class: 'facts' },
      gatewayFact(),
      h('div', {}, h('dt', {}, 'Health'), h('dd', { 'data-field': 'health' })),
    ),
    h('div', { class: 'actions' }, powerOff, powerOn, remove),
  );
  const id = encodeURIComponent(vps.id);
  powerOff.addEventListener('click', () => void act(powerOff, () => api('POST', `/vps/${id}/power-off`)).then(changed));
  powerOn.addEventListener('click', () => void act(powerOn, () => api('POST', `/vps/${id}/power-on`)).then(changed));
  remove.addEventListener('click', async () => {
    const name = row.querySelector('[data-field="name"]')?.textContent ?? vps.name;
    const sure = await confirmDialog(`Delete ${name}?`, 'This destroys the droplet and everything on it. It cannot be undone.', 'Delete VPS');
    if (sure && (await act(remove, () => api('DELETE', `/vps/${id}`)))) {
      row.remove();
      changed();
    }
  });
  return row;
}

/** The status badge, gateway and health of a VPS, on a dashboard row or the VPS page. */
export function showVpsState(root: HTMLElement, vps: Vps): void {
  setField(root, 'name', vps.name);
  setField(root, 'status', vps.status, vps.status);
  const connected = vps.gateway.connected;
  setField(root, 'gateway', connected ? 'connected' : 'offline', connected ? 'connected' : 'offline');
  const version = [vps.gateway.hostname, vps.gateway.version].filter(Boolean).join(', ');
  setField(root, 'seen', connected ? version : `last seen ${ago(vps.gateway.last_seen_at)}`);
  setField(root, 'health', health(vps.gateway.health));
}

function updateRow(row: HTMLElement, vps: Vps): void {
  showVpsState(row, vps);
  setField(row, 'where', [vps.region, vps.size, vps.ipv4].filter(Boolean).join(' · '));
  const powerOff = row.querySelector<HTMLButtonElement>('[data-action="power-off"]');
  const powerOn = row.querySelector<HTMLButtonElement>('[data-action="power-on"]');
  if (powerOff && powerOn) {
    const off = vps.status === 'off' || vps.status === 'powering_on';
    powerOff.hidden = off;
    powerOn.hidden = !off;
    powerOff.disabled = vps.status !== 'active';
    powerOn.disabled = vps.status !== 'off';
  }
}

/** The gateway fact of a VPS: a dot, connected/offline, and when it was last seen. */
export const gatewayFact = () =>
  h('div', {}, h('dt', {}, 'Gateway'), h('dd', {}, h('span', { class: 'state', 'data-field': 'gateway' }), ' ', h('span', { class: 'muted', 'data-field': 'seen' })));

interface CreateForm {
  form: HTMLFormElement;
  /** Enables the form (loading the regions and sizes) or disables it. */
  enable(connected: boolean): Promise<void>;
}

function createForm(created: () => void): CreateForm {
  const region = h('select', { id: 'vps-region', name: 'region', required: true });
  const size = h('select', { id: 'vps-size', name: 'size', required: true });
  const name = h('input', { id: 'vps-name', name: 'name', maxlength: 63, autocomplete: 'off', spellcheck: 'false', placeholder: 'derived from the id when empty' });
  const submit = h('button', { type: 'submit' }, 'Create VPS');
  const status = h('p', { class: 'form-status', role: 'status' });
  const fieldset = h('fieldset', { class: 'stack', disabled: true },
    h('label', { for: 'vps-region' }, 'Region'), region,
    h('label', { for: 'vps-size' }, 'Size'), size,
    h('label', { for: 'vps-name' }, 'Name ', h('span', { class: 'muted' }, '(optional)')), name,
    h('div', { class: 'actions' }, submit),
  );
  const form = h('form', { id: 'create-vps' }, fieldset, status);
  let options: VpsOptions | null = null;

  const fillSizes = () => {
    const chosen = size.value;
    const sizes = (options?.sizes ?? [])
      .filter((s) => s.regions.includes(region.value))
      .sort((a, b) => a.price_monthly - b.price_monthly);
    size.replaceChildren(...sizes.map((s) => h('option', { value: s.slug, selected: s.slug === chosen }, sizeLabel(s))));
  };
  region.addEventListener('change', fillSizes);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const body: Record<string, string> = { region: region.value, size: size.value };
    if (name.value.trim()) body['name'] = name.value.trim();
    void act(submit, () => api('POST', '/vps', { body }), { status, form }).then((ok) => {
      if (!ok) return;
      status.textContent = `Creating ${body['name'] ?? 'your VPS'}: it shows in the list above, provisioning for a few minutes.`;
      name.value = '';
      created();
    });
  });

  return {
    form,
    async enable(connected) {
      fieldset.disabled = true;
      if (!connected) {
        status.textContent = 'Connect DigitalOcean to create a VPS.';
        return;
      }
      if (!options) {
        status.textContent = 'Loading regions and sizes…';
        try {
          options = await api<VpsOptions>('GET', '/vps/options');
        } catch (e) {
          status.textContent = messageOf(e);
          return;
        }
        region.replaceChildren(...options.regions.map((r) => h('option', { value: r.slug }, `${r.name} (${r.slug})`)));
        fillSizes();
      }
      status.textContent = '';
      fieldset.disabled = false;
    },
  };
}
