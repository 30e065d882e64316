// Calls to the JSON API: the server's error shape, 401 back to sign-in, network loss to the retry banner.

import { networkDown, networkUp } from './banners';

/** A non-2xx answer: `{"error": {"code", "message", "fields"?, …}}`; `details` is the whole `error` object. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: Record<string, string> = {},
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** The request never got an answer (fetch rejected). */
export class NetworkError extends Error {}

export interface CallOptions {
  body?: unknown;
  /** Answer 401 with an ApiError instead of going to the sign-in page. */
  allow401?: boolean;
}

/** One API call; resolves with the parsed JSON (undefined for an empty body). */
export async function api<T>(method: string, path: string, options: CallOptions = {}): Promise<T> {
  const init: RequestInit = { method, credentials: 'same-origin', headers: { accept: 'application/json' } };
  if (options.body !== undefined) {
    init.headers = { accept: 'application/json', 'content-type': 'application/json' };
    init.body = JSON.stringify(options.body);
  }
  let response: Response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    networkDown();
    throw new NetworkError(e instanceof Error ? e.message : 'network error');
  }
  networkUp();
  const text = await response.text().catch(() => '');
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON (a proxy's error page): the status line says enough.
  }
  if (response.ok) return json as T;
  const error = (json as { error?: { code?: unknown; message?: unknown; fields?: unknown } } | undefined)?.error;
  const failure = new ApiError(
    response.status,
    typeof error?.code === 'string' ? error.code : `http_${response.status}`,
    typeof error?.message === 'string' ? error.message : `${response.status} ${response.statusText}`.trim(),
    error?.fields && typeof error.fields === 'object' ? (error.fields as Record<string, string>) : {},
    error && typeof error === 'object' ? (error as Record<string, unknown>) : {},
  );
  if (response.status === 401 && !options.allow401) {
    // Signed out: back to sign-in. The caller never hears back, so no error flashes meanwhile.
    location.assign('/');
    return new Promise<never>(() => {});
  }
  throw failure;
}

/** The message to show for any failure of `api`. */
export function messageOf(e: unknown): string {
  if (e instanceof NetworkError) return 'The server cannot be reached.';
  return e instanceof Error ? e.message : String(e);
}
