// The terminal's wire client: attach tickets, the hub WebSocket, frames in seq order, acks after
// rendering, pings, and resume by last_seq with back-off. No DOM: the page hands it a Screen.

import { RenderQueue, type Screen, type SnapshotMessage } from './flow';
import { decodeFrame, toBase64 } from './frame';

export type WireState = 'connecting' | 'open' | 'reconnecting' | 'closed';
export type GatewayStatus = 'connected' | 'reconnecting' | 'offline';

/** `POST /vps/:id/sessions/:sid/attach`'s answer. */
export interface Ticket {
  url: string;
  ticket: string;
  expires_at: number;
}

/** Thrown by `attach` when trying again cannot help (the session ended, or is not yours). */
export class AttachRefused extends Error {}

export interface WireEvents {
  state?(state: WireState): void;
  gateway?(status: GatewayStatus): void;
  /** A hub `error`, a command the gateway refused, or an attach that failed (and is retried). */
  error?(code: string, message: string): void;
  latency?(ms: number): void;
  /** A snapshot has been drawn: the screen shows the session. */
  drawn?(): void;
  /** The session is over or cannot be attached: no more reconnects. */
  ended?(message: string): void;
}

/** The part of WebSocket the wire uses (a fake in tests). */
export type SocketLike = Pick<WebSocket, 'binaryType' | 'onopen' | 'onmessage' | 'onclose' | 'onerror' | 'send' | 'close'>;

export interface WireOptions {
  sessionId: string;
  readOnly: boolean;
  /** Asks for a fresh ticket; each (re)connect calls it (tickets last 60 s). */
  attach(): Promise<Ticket>;
  screen: Screen;
  events?: WireEvents;
  /** What a relative ticket URL is resolved against (the page's location). */
  base: string;
  connect?(url: string): SocketLike;
}

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10_000;
const PING_EVERY_MS = 5_000;
const PONG_TIMEOUT_MS = 20_000;
const RESIZE_DEBOUNCE_MS = 150;
const ACK_EVERY_MS = 100;
const INPUT_CHUNK_BYTES = 32 * 1024;
/** Output waiting for the screen past this: drop it and resume, as the hub does with a slow socket. */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

export class Wire {
  state: WireState = 'connecting';
  /** The newest seq rendered: what a resume asks after. Null until something is drawn. */
  lastSeq: number | null = null;
  gatewayStatus: GatewayStatus = 'connected';
  /** The latest ping round trip, in ms. */
  latency: number | null = null;
  /** `session.input` messages sent so far (a read-only terminal never sends one). */
  inputsSent = 0;

  private readonly queue: RenderQueue;
  private socket: SocketLike | null = null;
  private generation = 0;
  private everOpen = false;
  /** The newest seq accepted into the queue: anything at or below it is a duplicate. */
  private lastQueued: number | null = null;
  /** After a snapshot the next frame starts the run, whatever its seq (a restarted gateway). */
  private rebase = false;
  private backoff = BACKOFF_MIN_MS;
  private reconnectTimer?: ReturnType<typeof setTimeout>;
  private pingTimer?: ReturnType<typeof setInterval>;
  private resizeTimer?: ReturnType<typeof setTimeout>;
  private ackTimer?: ReturnType<typeof setTimeout>;
  private pings = 0;
  private pingOut: { id: string; at: number } | null = null;
  private ackedSeq: number | null = null;
  private size: { cols: number; rows: number } | null = null;
  /** What this browser last asked to write: a `writer_busy` for a resize alone is no news. */
  private lastWrite: 'input' | 'resize' | null = null;

  constructor(private readonly options: WireOptions) {
    this.queue = new RenderQueue(options.screen, (seq, snapshot) => this.rendered(seq, snapshot));
  }

  start(): void {
    void this.connect();
  }

  /** Stops for good (the page is left). */
  close(): void {
    this.setState('closed');
    this.stopTimers();
    this.dropSocket();
  }

  /** Tries again at once, from the smallest back-off. */
  reconnectNow(): void {
    if (this.state === 'closed') return;
    this.backoff = BACKOFF_MIN_MS;
    this.dropSocket();
    void this.connect();
  }

  /** Types into the session (text as UTF-8), a big paste in several messages; ignored read-only or while not open. */
  input(data: string | Uint8Array): void {
    if (this.options.readOnly || this.state !== 'open') return;
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    for (let at = 0; at < bytes.length; at += INPUT_CHUNK_BYTES) {
      this.send({ type: 'session.input', session_id: this.options.sessionId, data: toBase64(bytes.subarray(at, at + INPUT_CHUNK_BYTES)) });
      this.inputsSent += 1;
      this.lastWrite = 'input';
    }
  }

  /** Records the terminal's size and tells the gateway ~150 ms after the last change. */
  resize(cols: number, rows: number): void {
    this.size = { cols, rows };
    clearTimeout(this.resizeTimer);
    this.resizeTimer = setTimeout(() => this.sendResize(), RESIZE_DEBOUNCE_MS);
  }

  private async connect(): Promise<void> {
    const generation = ++this.generation;
    clearTimeout(this.reconnectTimer);
    this.setState(this.everOpen ? 'reconnecting' : 'connecting');
    let ticket: Ticket;
    try {
      ticket = await this.options.attach();
    } catch (e) {
      if (generation !== this.generation || this.state === 'closed') return;
      const message = e instanceof Error ? e.message : String(e);
      if (e instanceof AttachRefused) return this.end(message);
      this.options.events?.error?.('attach_failed', message);
      return this.scheduleReconnect();
    }
    if (generation !== this.generation || this.state === 'closed') return;
    let socket: SocketLike;
    try {
      socket = (this.options.connect ?? ((url: string) => new WebSocket(url)))(this.socketUrl(ticket.url));
    } catch (e) {
      // A malformed URL, or one the page's CSP (connect-src) refuses.
      this.options.events?.error?.('attach_failed', e instanceof Error ? e.message : String(e));
      return this.scheduleReconnect();
    }
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.everOpen = true;
      this.setGateway('connected');
      this.setState('open');
      this.pingOut = null;
      this.pingTimer = setInterval(() => this.ping(), PING_EVERY_MS);
      this.ping();
      this.sendResize();
    };
    socket.onmessage = (event) => {
      if (this.socket !== socket) return;
      this.backoff = BACKOFF_MIN_MS;
      this.receive(event.data);
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.dropSocket();
      this.scheduleReconnect();
    };
    socket.onerror = () => {
      // A close event always follows.
    };
  }

  /** The ticket's URL as a WebSocket URL, with `&last_seq=N` when resuming. */
  private socketUrl(url: string): string {
    const resume = this.lastSeq === null ? '' : `${url.includes('?') ? '&' : '?'}last_seq=${this.lastSeq}`;
    const full = new URL(url + resume, this.options.base);
    if (full.protocol === 'http:') full.protocol = 'ws:';
    if (full.protocol === 'https:') full.protocol = 'wss:';
    return full.href;
  }

  private scheduleReconnect(): void {
    if (this.state === 'closed') return;
    this.setState('reconnecting');
    const delay = this.backoff * (0.75 + Math.random() * 0.5);
    this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX_MS);
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.connect(), delay);
  }

  private dropSocket(): void {
    const socket = this.socket;
    this.socket = null;
    clearInterval(this.pingTimer);
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      try {
        socket.close(1000, 'closed');
      } catch {
        // Already closing.
      }
    }
  }

  private receive(data: unknown): void {
    if (data instanceof ArrayBuffer) return this.frame(data);
    if (typeof data !== 'string') return;
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(data) as Record<string, unknown>;
    } catch {
      return;
    }
    const mine = message['session_id'] === undefined || message['session_id'] === this.options.sessionId;
    const events = this.options.events;
    switch (message['type']) {
      case 'session.snapshot':
        if (!mine || typeof message['content'] !== 'string') return;
        this.queue.snapshot(message as unknown as SnapshotMessage, this.lastQueued);
        this.rebase = true;
        return;
      case 'gap': {
        if (!mine) return;
        // Frames in between are lost; the snapshot that follows replaces what is queued.
        const to = Number(message['to_seq']);
        this.queue.clear();
        this.lastQueued = to > 0 ? to - 1 : null;
        return;
      }
      case 'gateway.status': {
        const status = message['status'];
        if (status === 'connected' || status === 'reconnecting' || status === 'offline') this.setGateway(status);
        return;
      }
      case 'pong':
        if (this.pingOut && message['request_id'] === this.pingOut.id) {
          this.latency = Math.round(performance.now() - this.pingOut.at);
          this.pingOut = null;
          events?.latency?.(this.latency);
        }
        return;
      case 'error': {
        const code = String(message['code'] ?? 'error');
        // Another browser holds the writer's lease: the size it set stands, which needs no
        // notice until this one tries to type.
        if (code === 'writer_busy' && this.lastWrite === 'resize') return;
        events?.error?.(code, String(message['message'] ?? ''));
        return;
      }
      case 'ack':
        if (message['ok'] === false) events?.error?.('refused', `the gateway refused: ${String(message['error'] ?? 'no reason given')}`);
        return;
      case 'session.ended':
        if (!mine) return;
        return this.end(typeof message['exit_code'] === 'number' ? `session ended (exit code ${message['exit_code']})` : 'session ended');
      case 'session.error':
        if (mine) events?.error?.('session_error', String(message['error'] ?? 'the session failed'));
        return;
      default:
      // gateway.hello, gateway.health and newer types: nothing to draw.
    }
  }

  private frame(data: ArrayBuffer): void {
    const frame = decodeFrame(data);
    if (!frame || frame.sessionId !== this.options.sessionId) return;
    if (!this.rebase && this.lastQueued !== null && frame.seq <= this.lastQueued) return;
    this.rebase = false;
    this.lastQueued = frame.seq;
    this.queue.frame(frame.seq, frame.payload);
    if (this.queue.queued > MAX_QUEUED_BYTES) {
      // The tab cannot keep up: forget the backlog and resume after what reached the screen.
      this.queue.clear();
      this.lastQueued = this.queue.lastWritten ?? this.lastSeq;
      this.reconnectNow();
    }
  }

  private rendered(seq: number | null, snapshot: boolean): void {
    if (seq !== null) this.lastSeq = seq;
    if (snapshot) this.options.events?.drawn?.();
    this.ackSoon();
  }

  /** Acks the newest rendered seq now, then at most every 100 ms while rendering goes on. */
  private ackSoon(): void {
    if (this.ackTimer !== undefined) return;
    if (this.lastSeq === null || this.lastSeq === this.ackedSeq || this.state !== 'open') return;
    this.send({ type: 'session.ack', session_id: this.options.sessionId, seq: this.lastSeq });
    this.ackedSeq = this.lastSeq;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = undefined;
      this.ackSoon();
    }, ACK_EVERY_MS);
  }

  private ping(): void {
    if (this.pingOut) {
      // No pong for this long: the socket is dead without knowing it.
      if (performance.now() - this.pingOut.at > PONG_TIMEOUT_MS) {
        this.dropSocket();
        this.scheduleReconnect();
      }
      return;
    }
    this.pingOut = { id: `p-${++this.pings}`, at: performance.now() };
    this.send({ type: 'ping', request_id: this.pingOut.id });
  }

  /** Sends the size, unless read-only, not open, or the gateway is away (then on its return). */
  private sendResize(): void {
    if (this.options.readOnly || !this.size || this.state !== 'open' || this.gatewayStatus !== 'connected') return;
    this.send({ type: 'session.resize', session_id: this.options.sessionId, ...this.size });
    this.lastWrite = 'resize';
  }

  private send(message: Record<string, unknown>): void {
    this.socket?.send(JSON.stringify({ type: message['type'], schema_version: '1', ...message }));
  }

  private end(message: string): void {
    this.close();
    this.options.events?.ended?.(message);
  }

  private setState(state: WireState): void {
    if (this.state === state || this.state === 'closed') return;
    this.state = state;
    this.options.events?.state?.(state);
  }

  private setGateway(status: GatewayStatus): void {
    if (this.gatewayStatus === status) return;
    this.gatewayStatus = status;
    this.options.events?.gateway?.(status);
    // A size set while the gateway was away has not reached it.
    if (status === 'connected') this.sendResize();
  }

  private stopTimers(): void {
    clearTimeout(this.reconnectTimer);
    clearInterval(this.pingTimer);
    clearTimeout(this.resizeTimer);
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
  }
}
