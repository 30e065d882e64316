// Stripe.js, loaded from js.stripe.com in production only. In development (and in tests, which use
// the in-repo Stripe fake) nothing is loaded: the page shows what it would hand Stripe.js instead.

import type { Config } from './config';

/** The part of Stripe.js the console uses (https://docs.stripe.com/js). */
export interface StripeJs {
  elements(): { create(type: 'card'): CardElement };
  confirmCardSetup(clientSecret: string, data: { payment_method: { card: CardElement } }): Promise<StripeResult>;
  confirmCardPayment(clientSecret: string, data?: { payment_method?: string }): Promise<StripeResult>;
}

export interface CardElement {
  mount(target: HTMLElement): void;
  destroy(): void;
}

export interface StripeResult {
  error?: { message?: string };
}

declare global {
  interface Window {
    Stripe?: (publishableKey: string) => StripeJs;
  }
}

const SOURCE = 'https://js.stripe.com/v3/';
let loading: Promise<StripeJs> | null = null;

/** Whether this deployment loads Stripe.js at all. */
export function usesStripeJs(config: Config): boolean {
  return config.environment === 'production';
}

/** Stripe.js for `publishableKey`, loaded once; null outside production. */
export function loadStripe(config: Config, publishableKey: string): Promise<StripeJs | null> {
  if (!usesStripeJs(config)) return Promise.resolve(null);
  loading ??= new Promise<StripeJs>((resolve, reject) => {
    const ready = () => (window.Stripe ? resolve(window.Stripe(publishableKey)) : reject(new Error('Stripe.js did not start')));
    if (window.Stripe) return ready();
    const script = document.createElement('script');
    script.src = SOURCE;
    script.async = true;
    script.addEventListener('load', ready, { once: true });
    script.addEventListener('error', () => {
      loading = null;
      reject(new Error('Stripe.js could not be loaded'));
    }, { once: true });
    document.head.appendChild(script);
  });
  return loading;
}
