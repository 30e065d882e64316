// How times, sizes and health reports read on screen.

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** `14:02`, local time, 24-hour. */
export function clock(at: Date | number): string {
  const d = typeof at === 'number' ? new Date(at) : at;
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Milliseconds or an RFC 3339 string as a Date; null for nothing or nonsense. */
export function toDate(value: unknown): Date | null {
  if (typeof value !== 'number' && typeof value !== 'string') return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** A local date and time, e.g. `12 Mar 2026, 14:02`. */
export function dateTime(value: unknown): string {
  const d = toDate(value);
  if (!d) return '—';
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** `just now`, `5 min ago`, `3 h ago`, `2 days ago`; `never` for nothing. */
export function ago(value: unknown, now = Date.now()): string {
  const d = toDate(value);
  if (!d) return 'never';
  const s = Math.max(0, Math.round((now - d.getTime()) / 1000));
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  const days = Math.round(s / 86_400);
  return `${days} day${days === 1 ? '' : 's'} ago`;
}

/** Bytes in binary units: `512 MiB`, `1.5 GiB`. */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n >= 10 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** A gateway.health report in one line: `CPU 3% · RAM 0.4/1.0 GiB · disk 3/25 GiB · at 14:02`. */
export function health(report: unknown): string {
  if (!report || typeof report !== 'object') return 'no report yet';
  const r = report as Record<string, unknown>;
  const parts: string[] = [];
  const cpu = num(r['cpu_percent']);
  if (cpu !== null) parts.push(`CPU ${Math.round(cpu)}%`);
  for (const [label, used, total] of [
    ['RAM', r['ram_used_bytes'], r['ram_total_bytes']],
    ['disk', r['disk_used_bytes'], r['disk_total_bytes']],
  ] as const) {
    const u = num(used);
    const t = num(total);
    if (u !== null && t !== null) parts.push(`${label} ${bytes(u)} of ${bytes(t)}`);
  }
  const at = toDate(r['timestamp']);
  if (at) parts.push(`at ${clock(at)}`);
  return parts.length ? parts.join(' · ') : 'no report yet';
}

/** `s-1vcpu-1gb: 1 vCPU, 1 GiB, 25 GB, $6/month`. */
export function sizeLabel(size: { slug: string; vcpus: number; memory: number; disk: number; price_monthly: number }): string {
  const price = Number.isInteger(size.price_monthly) ? size.price_monthly : size.price_monthly.toFixed(2);
  return `${size.slug}: ${size.vcpus} vCPU, ${bytes(size.memory * 1024 * 1024)}, ${size.disk} GB, $${price}/month`;
}
