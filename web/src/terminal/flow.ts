// Feeds output to the screen in order with flow control: at most HIGH_WATER bytes parse at once,
// more only once xterm's write callbacks bring that under LOW_WATER (ttyd's watermarks). Each
// callback reports the frame as rendered, which is when it gets acked: a slow tab slows the stream.

export const HIGH_WATER = 256 * 1024;
export const LOW_WATER = 64 * 1024;
/** Largest single write: xterm parses it in time slices, and the ack comes after it. */
const CHUNK_BYTES = 64 * 1024;

/** What draws the output: the xterm on the page, a recorder in tests. */
export interface Screen {
  write(data: Uint8Array | string, done: () => void): void;
  reset(): void;
}

export interface SnapshotMessage {
  content: string;
  cols?: number;
  rows?: number;
  cursor_x?: number;
  cursor_y?: number;
  cursor_visible?: boolean;
  alternate_on?: boolean;
}

type Item =
  | { kind: 'frame'; seq: number; data: Uint8Array }
  | { kind: 'snapshot'; snapshot: SnapshotMessage; seq: number | null };

/** The text that redraws a snapshot on a freshly reset terminal. */
export function snapshotText(s: SnapshotMessage): string {
  let text = s.alternate_on ? '\x1b[?1049h' : '';
  text += s.content.replace(/\r?\n/g, '\r\n');
  if (s.cursor_x !== undefined && s.cursor_y !== undefined) text += `\x1b[${s.cursor_y + 1};${s.cursor_x + 1}H`;
  if (s.cursor_visible === false) text += '\x1b[?25l';
  return text;
}

export class RenderQueue {
  private items: Item[] = [];
  /** Index of the first item not yet written (a moving head keeps taking O(1)). */
  private head = 0;
  private inflight = 0;
  /** Bytes queued and not yet handed to the screen. */
  queued = 0;
  /** The seq of the newest frame handed to the screen (parsed or not). */
  lastWritten: number | null = null;

  /** `rendered(seq)` runs once the frame (or snapshot, with the seq it stands for) is drawn. */
  constructor(
    private readonly screen: Screen,
    private readonly rendered: (seq: number | null, snapshot: boolean) => void,
  ) {}

  frame(seq: number, data: Uint8Array): void {
    this.items.push({ kind: 'frame', seq, data });
    this.queued += data.length;
    this.pump();
  }

  /** Resets the screen and draws `snapshot` once everything before it has been parsed. */
  snapshot(snapshot: SnapshotMessage, seq: number | null): void {
    this.items.push({ kind: 'snapshot', snapshot, seq });
    this.pump();
  }

  /** Forgets what has not reached the screen yet (a snapshot is about to replace it). */
  clear(): void {
    this.items = [];
    this.head = 0;
    this.queued = 0;
  }

  private pump(): void {
    while (this.head < this.items.length && this.inflight < HIGH_WATER) {
      const item = this.items[this.head]!;
      if (item.kind === 'snapshot') {
        // A reset must not overtake writes xterm has not parsed yet.
        if (this.inflight > 0) break;
        this.head++;
        this.screen.reset();
        if (item.seq !== null) this.lastWritten = item.seq;
        this.write(snapshotText(item.snapshot), 0, () => this.rendered(item.seq, true));
        continue;
      }
      // Consecutive frames go to xterm as one chunk of up to CHUNK_BYTES, acked as its last seq.
      const frames: Uint8Array[] = [];
      let size = 0;
      let seq = item.seq;
      for (let next: Item | undefined = item; next?.kind === 'frame' && (size === 0 || size + next.data.length <= CHUNK_BYTES); next = this.items[this.head]) {
        this.head++;
        frames.push(next.data);
        size += next.data.length;
        seq = next.seq;
      }
      this.queued -= size;
      this.lastWritten = seq;
      this.write(frames.length === 1 ? frames[0]! : concat(frames, size), size, () => this.rendered(seq, false));
    }
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  private write(data: Uint8Array | string, size: number, done: () => void): void {
    // At least 1, so even an empty write holds a later reset back until xterm has parsed it.
    const weight = Math.max(size, 1);
    this.inflight += weight;
    this.screen.write(data, () => {
      this.inflight -= weight;
      done();
      if (this.inflight < LOW_WATER) this.pump();
    });
  }
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
