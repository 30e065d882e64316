// The binary terminal frame (protocol/README.md) and the base64 the JSON messages carry.

const KIND_OUTPUT = 0x01;
const FIXED_HEADER_BYTES = 10;

export interface Frame {
  sessionId: string;
  seq: number;
  payload: Uint8Array;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * `kind u8 | sid_len u8 | session_id | seq u64 BE | payload`. Null for anything else: too
 * short, another kind, an empty or non-UTF-8 session id, a seq past 2^53.
 */
export function decodeFrame(data: ArrayBuffer): Frame | null {
  const bytes = new Uint8Array(data);
  if (bytes.length < FIXED_HEADER_BYTES || bytes[0] !== KIND_OUTPUT) return null;
  const sidLen = bytes[1] ?? 0;
  if (sidLen === 0 || bytes.length < FIXED_HEADER_BYTES + sidLen) return null;
  let sessionId: string;
  try {
    sessionId = utf8.decode(bytes.subarray(2, 2 + sidLen));
  } catch {
    return null;
  }
  const seq = new DataView(data).getBigUint64(2 + sidLen, false);
  if (seq > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return { sessionId, seq: Number(seq), payload: bytes.subarray(FIXED_HEADER_BYTES + sidLen) };
}

/** Standard base64 with padding (RFC 4648 §4) of `data`: text as UTF-8, bytes as they are. */
export function toBase64(data: string | Uint8Array): string {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
