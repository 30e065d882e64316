// The JSON the console reads from the app's routes (timestamps are Unix milliseconds); fields it
// does not use are left out.

export interface Me {
  username: string | null;
  emails: { email: string }[];
  providers: {
    github: { username: string } | null;
    digitalocean: { email: string | null; connected_at: number } | null;
  };
}

export interface Vps {
  id: string;
  name: string;
  status: string;
  region: string;
  size: string;
  ipv4: string | null;
  updated_at: number;
  gateway: {
    connected: boolean;
    last_seen_at: number | null;
    version: string | null;
    hostname: string | null;
    /** Only in `GET /vps/:id`: the gateway's last `gateway.health` event, as it sent it. */
    health?: Record<string, unknown> | null;
  };
}

export interface Size {
  slug: string;
  vcpus: number;
  /** MiB. */
  memory: number;
  /** GB. */
  disk: number;
  price_monthly: number;
  regions: string[];
}

export interface VpsOptions {
  regions: { slug: string; name: string; sizes: string[] }[];
  sizes: Size[];
}

export interface Session {
  id: string;
  title: string;
  agent_type: string;
  workdir: string;
  status: string;
  error: string | null;
  exit_code: number | null;
  created_at: number;
  ended_at: number | null;
  last_activity_at: number | null;
}

export interface SshKey {
  fingerprint: string;
  label: string;
  algorithm: string;
  added_at: string;
  expires_at?: string;
}

/** `agent_type` values `POST /vps/:id/sessions` accepts. */
export const AGENTS = ['claude-code', 'codex', 'gemini', 'opencode', 'none'] as const;

/** `GET /api/account`. */
export interface AccountSettings {
  id: string;
  username: string | null;
  email: string | null;
  github_login: string | null;
  created_at: number;
  low_balance_threshold: number | null;
}

/** An API key as `GET /api/account/api-keys` lists it (never the key). */
export interface ApiKeySummary {
  id: string;
  prefix: string;
  name: string;
  created_at: number;
  last_used_at: number | null;
}

/** `POST /api/account/api-key`: the key, shown this once. */
export interface NewApiKey extends ApiKeySummary {
  key: string;
}

/** `GET /api/billing/balance`. */
export interface Balance {
  signup_credits: number;
  purchased_credits: number;
  total_credits: number;
  low_balance_threshold: number | null;
  low_balance_warned: boolean;
  purchases_frozen: boolean;
}

/** A credit package of `GET /api/billing/credits`. */
export interface CreditPackage {
  id: string;
  name: string | null;
  credits: number;
  price_cents: number;
  currency: string;
}

/** A card of `GET /api/stripe/payment-methods`. */
export interface PaymentMethod {
  id: string;
  type: string;
  card: { brand: string; last4: string; exp_month: number; exp_year: number } | null;
  is_default: boolean;
}

/** A usage event of `GET /api/billing/usage`. */
export interface UsageEvent {
  id: string;
  idempotency_key: string | null;
  model: string | null;
  input_tokens: number;
  output_tokens: number;
  credits_used: number;
  session_id: string | null;
  created_at: number;
}

/** A ledger entry of `GET /api/billing/ledger`. */
export interface LedgerEntry {
  id: string;
  kind: 'signup_grant' | 'purchase' | 'usage' | 'refund' | 'dispute';
  amount: number;
  requested: number;
  balance_after: number;
  created_at: number;
}

/** `GET|PATCH /api/billing/settings`. */
export interface BudgetSettings {
  budget_guard: boolean;
  power_off_grace_minutes: number | null;
}

/** A purchase as `POST /api/billing/credits/purchase` answers it. */
export interface Purchase {
  id: string;
  package_id: string;
  credits: number;
  amount_cents: number;
  currency: string;
  status: 'pending' | 'requires_action' | 'failed' | 'succeeded';
  payment_intent_id: string | null;
  created_at: number;
}
