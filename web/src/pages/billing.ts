// The billing page: the balance, buying credits and cards (billing-payments.ts), the budget guard,
// the ledger's latest entries and usage, paged.

import { act } from '../action';
import { api, messageOf } from '../api';
import { showError } from '../banners';
import { card, h, setField } from '../dom';
import { dateTime } from '../format';
import type { PageContext } from '../router';
import type { Balance, BudgetSettings, LedgerEntry, UsageEvent } from '../types';
import { paymentCards } from './billing-payments';

const KINDS: Record<LedgerEntry['kind'], string> = {
  signup_grant: 'Signup credits',
  purchase: 'Purchase',
  usage: 'Usage',
  refund: 'Refund',
  dispute: 'Dispute',
};

const credits = (n: number) => n.toLocaleString();
const signed = (n: number) => (n > 0 ? `+${credits(n)}` : credits(n));

export async function billingPage(ctx: PageContext): Promise<() => void> {
  const balance = balanceCard();
  const activity = activityCard();
  const usage = usageCard();
  const refreshAll = async () => {
    const b = await balance.refresh();
    payments.setFrozen(b.purchases_frozen);
    await activity.refresh();
  };
  const payments = paymentCards(ctx.config, refreshAll);
  const budget = budgetCard();
  ctx.root.replaceChildren(
    h('h1', {}, 'Billing'),
    balance.el,
    h('div', { class: 'grid' }, payments.buy, payments.methods),
    budget.el,
    activity.el,
    usage.el,
  );
  try {
    await Promise.all([refreshAll(), payments.refresh(), usage.refresh(), budget.refresh()]);
  } catch (e) {
    showError(messageOf(e), 'poll');
  }
  ctx.ready();
  return () => payments.stop();
}

function balanceCard(): { el: HTMLElement; refresh: () => Promise<Balance> } {
  const fact = (label: string, field: string) => h('div', {}, h('dt', {}, label), h('dd', { 'data-field': field, id: `balance-${field}` }));
  const warning = h('p', { class: 'field-error', id: 'low-balance', hidden: true });
  const el = card('balance', 'Balance',
    h('dl', { class: 'facts' }, fact('Credits', 'total'), fact('From signup', 'signup'), fact('Bought', 'purchased')),
    warning,
    h('p', { class: 'muted small' }, 'Usage spends signup credits first. Change the warning threshold on the ', h('a', { href: '/dashboard/account' }, 'account page'), '.'),
  );
  const refresh = async () => {
    const b = await api<Balance>('GET', '/api/billing/balance');
    setField(el, 'total', credits(b.total_credits));
    setField(el, 'signup', credits(b.signup_credits));
    setField(el, 'purchased', credits(b.purchased_credits));
    warning.hidden = !b.low_balance_warned;
    warning.textContent = b.low_balance_threshold === null ? '' : `Below your low-balance warning of ${credits(b.low_balance_threshold)} credits.`;
    return b;
  };
  return { el, refresh };
}

function budgetCard(): { el: HTMLElement; refresh: () => Promise<void> } {
  const guard = h('input', { id: 'budget-guard', name: 'budget_guard', type: 'checkbox' });
  const grace = h('input', { id: 'power-off-grace', name: 'power_off_grace_minutes', type: 'number', min: 0, max: 10080, step: 1, placeholder: 'never' });
  const save = h('button', { type: 'submit' }, 'Save');
  const status = h('p', { class: 'form-status', role: 'status' });
  const form = h('form', { id: 'budget-settings', class: 'stack' },
    h('label', { for: 'budget-guard' }, guard, ' Refuse new sessions when no credits are left'),
    h('label', { for: 'power-off-grace' }, 'Then power my VPSes off after', h('span', { class: 'muted' }, ' (minutes at zero; empty: never)')),
    grace,
    h('div', { class: 'actions' }, save),
    status,
  );
  const show = (s: BudgetSettings) => {
    guard.checked = s.budget_guard;
    grace.value = s.power_off_grace_minutes === null ? '' : String(s.power_off_grace_minutes);
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const body = {
      budget_guard: guard.checked,
      power_off_grace_minutes: grace.value.trim() === '' ? null : Number(grace.value),
    };
    void act(save, async () => {
      show(await api<BudgetSettings>('PATCH', '/api/billing/settings', { body }));
      status.textContent = 'Saved.';
    }, { form, status });
  });
  const el = card('budget', 'Budget guard', form);
  return { el, refresh: async () => show(await api<BudgetSettings>('GET', '/api/billing/settings')) };
}

function activityCard(): { el: HTMLElement; refresh: () => Promise<void> } {
  const list = h('ul', { class: 'rows', id: 'ledger-list' });
  const el = card('activity', 'Activity', list);
  const refresh = async () => {
    const { entries } = await api<{ entries: LedgerEntry[] }>('GET', '/api/billing/ledger?limit=20');
    list.replaceChildren(...entries.map((e) => h('li', { class: 'row', 'data-entry-kind': e.kind },
      h('div', { class: 'row-head' },
        h('span', { class: 'row-title' }, KINDS[e.kind] ?? e.kind),
        h('strong', {}, signed(e.amount))),
      h('p', { class: 'muted' }, `${dateTime(e.created_at)} · ${credits(e.balance_after)} left`,
        e.requested > -e.amount && e.amount < 0 ? ` · ${credits(e.requested)} asked, ${credits(-e.amount)} were left` : ''),
    )));
  };
  return { el, refresh };
}

function usageCard(): { el: HTMLElement; refresh: () => Promise<void> } {
  const rows = h('tbody', { id: 'usage-rows' });
  const empty = h('p', { class: 'muted' }, 'No usage yet.');
  const more = h('button', { type: 'button', class: 'secondary', id: 'more-usage', hidden: true }, 'Show more');
  const table = h('table', { class: 'usage' },
    h('thead', {}, h('tr', {}, h('th', {}, 'When'), h('th', {}, 'Model'), h('th', {}, 'Tokens in / out'), h('th', {}, 'Credits'))),
    rows);
  let next: string | null = null;
  const load = async (reset: boolean) => {
    const query = new URLSearchParams({ limit: '50' });
    if (!reset && next) query.set('before', next);
    const page = await api<{ usage: UsageEvent[]; next_before: string | null }>('GET', `/api/billing/usage?${query}`);
    if (reset) rows.replaceChildren();
    rows.append(...page.usage.map((u) => h('tr', { 'data-usage-id': u.id },
      h('td', {}, dateTime(u.created_at)),
      h('td', {}, u.model ?? '—'),
      h('td', {}, `${credits(u.input_tokens)} / ${credits(u.output_tokens)}`),
      h('td', {}, credits(u.credits_used)))));
    next = page.next_before;
    more.hidden = next === null;
    empty.hidden = rows.childElementCount > 0;
    table.hidden = rows.childElementCount === 0;
  };
  more.addEventListener('click', () => void act(more, () => load(false)));
  const el = card('usage', 'Usage', h('p', { class: 'muted small' }, 'Recorded by agents through POST /api/billing/usage with an API key.'), empty, table, more);
  return { el, refresh: () => load(true) };
}
