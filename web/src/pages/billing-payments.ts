// The billing page's Stripe cards: saved payment methods (added with Stripe.js in production) and
// buying credit packages (with on-session authentication when the bank asks for it).
//
// Outside production Stripe.js is not loaded: the page shows the SetupIntent or PaymentIntent it
// would hand Stripe.js (`#setup-intent`, `#purchase-action`), which tests complete with the
// in-repo Stripe fake, and offers to carry on.

import { act } from '../action';
import { ApiError, api } from '../api';
import type { Config } from '../config';
import { confirmDialog } from '../dialog';
import { card, h, setField, syncList } from '../dom';
import { type CardElement, type StripeJs, loadStripe, usesStripeJs } from '../stripe';
import type { CreditPackage, PaymentMethod, Purchase } from '../types';

/** How long the list is re-read after a card was handed to Stripe, waiting for it to show. */
const CARD_WAIT_MS = 120_000;
const CARD_POLL_MS = 2_000;

export interface PaymentCards {
  buy: HTMLElement;
  methods: HTMLElement;
  refresh(): Promise<void>;
  setFrozen(frozen: boolean): void;
  stop(): void;
}

export function money(cents: number, currency: string): string {
  try {
    return (cents / 100).toLocaleString(undefined, { style: 'currency', currency: currency.toUpperCase() });
  } catch {
    return `${(cents / 100).toFixed(2)} ${currency.toUpperCase()}`;
  }
}

/** A fresh idempotency key: one per purchase the person starts. */
function newKey(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function paymentCards(config: Config, onPaid: () => Promise<void>): PaymentCards {
  let stripe: Promise<StripeJs | null> | null = null;
  let configured = true;
  let waiting: number | undefined;
  const stripeJs = async (): Promise<StripeJs | null> => {
    stripe ??= api<{ publishable_key: string }>('GET', '/api/stripe/config').then((c) => loadStripe(config, c.publishable_key));
    return stripe;
  };

  // Payment methods.
  const list = h('ul', { class: 'rows', id: 'payment-method-list' });
  const empty = h('p', { class: 'muted' }, 'No card yet: add one to buy credits.');
  const add = h('button', { type: 'button', id: 'add-card' }, 'Add a card');
  const setup = h('div', { id: 'card-setup', hidden: true });
  const cardStatus = h('p', { class: 'form-status', role: 'status' });
  let count = 0;
  const refresh = async (): Promise<void> => {
    try {
      const { payment_methods } = await api<{ payment_methods: PaymentMethod[] }>('GET', '/api/stripe/payment-methods');
      syncList(list, payment_methods, (m) => m.id, (m) => methodRow(m, refresh, cardStatus), updateMethodRow);
      empty.hidden = payment_methods.length > 0;
      count = payment_methods.length;
    } catch (e) {
      if (e instanceof ApiError && e.status === 503) {
        configured = false;
        empty.textContent = 'Payments are not configured on this server.';
        add.disabled = true;
        buyButtons().forEach((b) => { b.disabled = true; });
        return;
      }
      throw e;
    }
  };
  const waitForCard = (before: number) => {
    window.clearInterval(waiting);
    const until = Date.now() + CARD_WAIT_MS;
    waiting = window.setInterval(() => {
      if (Date.now() > until) return window.clearInterval(waiting);
      void refresh().then(() => {
        if (count > before) {
          window.clearInterval(waiting);
          setup.hidden = true;
          cardStatus.textContent = 'Card saved.';
        }
      }, () => {});
    }, CARD_POLL_MS);
  };
  add.addEventListener('click', () => {
    void act(add, async () => {
      const intent = await api<{ setup_intent_id: string; client_secret: string }>('POST', '/api/stripe/setup-intent');
      const js = await stripeJs();
      const before = count;
      if (js) {
        mountCardForm(setup, js, intent.client_secret, cardStatus, () => waitForCard(before));
      } else {
        setup.replaceChildren(
          h('p', { class: 'muted', 'data-setup-intent-id': intent.setup_intent_id, id: 'setup-intent' },
            `Stripe.js is not loaded outside production. SetupIntent ${intent.setup_intent_id} waits for a card (the Stripe fake completes it in tests); it shows here once saved.`),
        );
        setup.hidden = false;
        waitForCard(before);
      }
    }, { status: cardStatus });
  });
  const methods = card('payment-methods', 'Payment methods', list, empty, setup, h('div', { class: 'actions' }, add), cardStatus);

  // Buying credits.
  const packages = h('ul', { class: 'rows', id: 'package-list' });
  const buyStatus = h('p', { class: 'form-status', role: 'status', id: 'purchase-status' });
  const action = h('div', { id: 'purchase-action', hidden: true });
  const frozenNote = h('p', { class: 'muted', hidden: true, id: 'purchases-frozen' }, 'Purchases are frozen while a payment of yours is disputed.');
  const buyButtons = () => Array.from(packages.querySelectorAll<HTMLButtonElement>('button[data-package-id]'));
  const purchase = async (pkg: CreditPackage, key: string, confirmed = false): Promise<void> => {
    action.hidden = true;
    try {
      const paid = await api<{ purchase: Purchase; balance: number }>('POST', '/api/billing/credits/purchase', {
        body: { package_id: pkg.id, idempotency_key: key },
      });
      buyStatus.textContent = `Bought ${paid.purchase.credits.toLocaleString()} credits.`;
      await onPaid();
    } catch (e) {
      if (!(e instanceof ApiError) || e.code !== 'authentication_required') throw e;
      const intent = e.details['payment_intent'] as { id: string; client_secret: string; payment_method: string | null };
      const js = await stripeJs();
      if (js) {
        if (confirmed) throw new Error('The payment still waits for your bank: try again in a moment.');
        const result = await js.confirmCardPayment(intent.client_secret, intent.payment_method ? { payment_method: intent.payment_method } : undefined);
        if (result.error) throw new Error(result.error.message ?? 'The payment was not confirmed.');
        return purchase(pkg, key, true);
      }
      const carryOn = h('button', { type: 'button', id: 'continue-purchase' }, 'Continue');
      carryOn.addEventListener('click', () => void act(carryOn, () => purchase(pkg, key), { status: buyStatus }));
      action.replaceChildren(
        h('p', { 'data-payment-intent-id': intent.id },
          `Your bank asks you to confirm this payment. Stripe.js is not loaded outside production: confirm PaymentIntent ${intent.id} (the Stripe fake does in tests), then continue.`),
        carryOn,
      );
      action.hidden = false;
      buyStatus.textContent = e.message;
    }
  };
  const packageRow = (pkg: CreditPackage): HTMLElement => {
    const buy = h('button', { type: 'button', 'data-package-id': pkg.id, disabled: !configured }, `Buy for ${money(pkg.price_cents, pkg.currency)}`);
    buy.addEventListener('click', () => {
      const key = newKey();
      void act(buy, () => purchase(pkg, key), { status: buyStatus });
    });
    return h('li', { class: 'row' },
      h('div', { class: 'row-head' },
        h('span', { class: 'row-title' }, pkg.name ?? `${pkg.credits.toLocaleString()} credits`),
        buy),
      h('p', { class: 'muted' }, `${money(Math.round((pkg.price_cents * 100_000) / pkg.credits), pkg.currency)} per 100,000 credits`),
    );
  };
  void api<{ packages: CreditPackage[] }>('GET', '/api/billing/credits').then((c) => {
    packages.replaceChildren(...c.packages.map(packageRow));
  }, (e: unknown) => {
    buyStatus.textContent = e instanceof Error ? e.message : String(e);
  });
  const buy = card('buy-credits', 'Buy credits',
    h('p', { class: 'muted' }, usesStripeJs(config) ? 'Charged to your default card.' : 'Charged to your default card (test mode: the Stripe fake).'),
    frozenNote, packages, action, buyStatus);

  return {
    buy,
    methods,
    refresh,
    setFrozen: (frozen) => {
      frozenNote.hidden = !frozen;
      buyButtons().forEach((b) => { b.disabled = frozen || !configured; });
    },
    stop: () => window.clearInterval(waiting),
  };
}

/** Stripe's card field and a Save button; `saved` once Stripe accepted the card. */
function mountCardForm(host: HTMLElement, js: StripeJs, clientSecret: string, status: HTMLElement, saved: () => void): void {
  const field = h('div', { id: 'card-element', class: 'card-element' });
  const save = h('button', { type: 'button', id: 'save-card' }, 'Save card');
  host.replaceChildren(field, h('div', { class: 'actions' }, save));
  host.hidden = false;
  const element: CardElement = js.elements().create('card');
  element.mount(field);
  save.addEventListener('click', () => {
    void act(save, async () => {
      const result = await js.confirmCardSetup(clientSecret, { payment_method: { card: element } });
      if (result.error) throw new Error(result.error.message ?? 'The card was not saved.');
      element.destroy();
      host.replaceChildren(h('p', { class: 'muted' }, 'Saving…'));
      saved();
    }, { status });
  });
}

function methodRow(method: PaymentMethod, refresh: () => Promise<void>, status: HTMLElement): HTMLElement {
  const makeDefault = h('button', { type: 'button', class: 'secondary small', 'data-action': 'default' }, 'Make default');
  const remove = h('button', { type: 'button', class: 'danger small', 'data-action': 'remove' }, 'Remove…');
  makeDefault.addEventListener('click', () => {
    void act(makeDefault, async () => {
      await api('POST', `/api/stripe/payment-methods/${encodeURIComponent(method.id)}/default`);
      await refresh();
    }, { status });
  });
  remove.addEventListener('click', async () => {
    if (!(await confirmDialog('Remove this card?', 'It is detached from your Stripe customer and cannot be charged again.', 'Remove'))) return;
    void act(remove, async () => {
      await api('DELETE', `/api/stripe/payment-methods/${encodeURIComponent(method.id)}`);
      await refresh();
    }, { status });
  });
  return h('li', { class: 'row', 'data-payment-method-id': method.id },
    h('div', { class: 'row-head' },
      h('span', { class: 'row-title', 'data-field': 'card' }),
      h('span', { class: 'badge', 'data-field': 'default', 'data-status': 'active' }, 'Default')),
    h('div', { class: 'actions' }, makeDefault, remove),
  );
}

function updateMethodRow(el: HTMLElement, method: PaymentMethod): void {
  const c = method.card;
  const label = c ? `${c.brand[0]?.toUpperCase() ?? ''}${c.brand.slice(1)} •••• ${c.last4}, expires ${String(c.exp_month).padStart(2, '0')}/${c.exp_year}` : method.type;
  setField(el, 'card', label);
  const badge = el.querySelector<HTMLElement>('[data-field="default"]');
  if (badge) badge.hidden = !method.is_default;
  const makeDefault = el.querySelector<HTMLButtonElement>('[data-action="default"]');
  if (makeDefault) makeDefault.hidden = method.is_default;
}
