// The page-wide banners: #error-banner for API errors, #network-banner while the server is unreachable.

let retryHandler: () => void = () => location.reload();
let errorSource = '';

function byId(id: string): HTMLElement | null {
  return document.getElementById(id);
}

/** Wires the static banners of index.html; call once. */
export function initBanners(): void {
  byId('network-retry')?.addEventListener('click', () => retryHandler());
  byId('error-dismiss')?.addEventListener('click', () => clearError());
}

/** What the network banner's Retry button does on the current page. */
export function setRetry(handler: () => void): void {
  retryHandler = handler;
}

export function networkDown(): void {
  const banner = byId('network-banner');
  if (banner) banner.hidden = false;
}

export function networkUp(): void {
  const banner = byId('network-banner');
  if (banner) banner.hidden = true;
}

/** Shows `message`; `source` lets whoever caused it clear it later (a poll that succeeds again). */
export function showError(message: string, source = 'action'): void {
  const banner = byId('error-banner');
  const text = byId('error-text');
  if (!banner || !text) return;
  text.textContent = message;
  banner.hidden = false;
  errorSource = source;
}

/** Hides the error; with `source`, only if that source showed it. */
export function clearError(source?: string): void {
  if (source !== undefined && source !== errorSource) return;
  const banner = byId('error-banner');
  if (banner) banner.hidden = true;
  errorSource = '';
}
