// Turns a stream of SSH data chunks into few `term-output` frames of raw bytes: whatever arrives
// within one read of the SSH connection (a flood: within one event-loop turn) leaves as one frame, and a frame never ends inside a UTF-8 character.
import { allocTermData } from '../../common/term-frame.ts';

/**
 * Bytes at the end of `b` that start a UTF-8 character not yet complete (0–3): they wait for the
 * next chunk, so each frame is whole characters (the browser decodes frame by frame).
 */
export function incompleteUtf8Tail(b: Uint8Array): number {
  const n = b.length;
  for (let back = 1; back <= Math.min(3, n); back++) {
    const byte = b[n - back] ?? 0;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

/**
 * A read of the SSH connection that brought less than this much for a terminal is sent at once; more
 * (a flood such as `cat`, whose reads bring 32–64 KiB) waits for the end of the event-loop turn.
 */
export const BULK_BYTES = 8 * 1024;

/**
 * Why batch per socket read (a microtask) for small output and per event-loop turn (setImmediate)
 * for bulk: a keystroke's echo leaves as soon as the read of its SSH connection is decrypted (ssh2
 * hands a read's chunks over synchronously), instead of waiting until the server has read and
 * decrypted every other connection that was ready in the same turn — under a room's load, hundreds
 * of reads; while a flood's reads of one turn still leave as one frame, as few frames as before.
 */
export class OutputBatcher {
  #carry: Buffer | null = null;
  #parts: Buffer[] = [];
  #pending = 0;
  /** 'read': a flush after the current read is queued; 'turn': one at the end of the turn. */
  #scheduled: 'none' | 'read' | 'turn' = 'none';
  #turnEnd: NodeJS.Immediate | null = null;

  /** `emit` receives each batch (room for the frame header in front, see allocTermData); its length (bytes) is what flow control counts. */
  constructor(private readonly emit: (data: Uint8Array) => void) {}

  /** Queues a chunk; returns how many bytes were queued for the browser (an incomplete character waits). */
  push(chunk: Buffer): number {
    let bytes = chunk;
    if (this.#carry) {
      bytes = Buffer.concat([this.#carry, chunk]);
      this.#carry = null;
    }
    const tail = incompleteUtf8Tail(bytes);
    if (tail > 0) {
      this.#carry = Buffer.from(bytes.subarray(bytes.length - tail));
      bytes = bytes.subarray(0, bytes.length - tail);
    }
    if (bytes.length === 0) return 0;
    this.#parts.push(bytes);
    this.#pending += bytes.length;
    if (this.#scheduled === 'none') {
      this.#scheduled = 'read';
      queueMicrotask(() => this.#readDone());
    }
    return bytes.length;
  }

  /** Runs once the read that delivered the first pending chunk has been handled (unless a flush came first). */
  #readDone(): void {
    if (this.#scheduled !== 'read') return;
    if (this.#pending < BULK_BYTES) {
      this.flush();
      return;
    }
    this.#scheduled = 'turn';
    this.#turnEnd = setImmediate(() => this.flush());
  }

  /** Sends what is pending now (also used before a state change, so output and state stay ordered). */
  flush(): void {
    this.#unschedule();
    if (this.#parts.length === 0) return;
    const data = allocTermData(this.#pending);
    let at = 0;
    for (const p of this.#parts) {
      data.set(p, at);
      at += p.length;
    }
    this.#parts = [];
    this.#pending = 0;
    this.emit(data);
  }

  #unschedule(): void {
    if (this.#turnEnd) clearImmediate(this.#turnEnd);
    this.#turnEnd = null;
    this.#scheduled = 'none';
  }

  /**
   * A new SSH channel starts a new byte stream: an incomplete sequence left by the old one
   * can never be completed, so it is dropped instead of being glued to unrelated bytes.
   */
  restart(): void {
    this.flush();
    this.#carry = null;
  }

  dispose(): void {
    this.#unschedule();
    this.#parts = [];
    this.#pending = 0;
    this.#carry = null;
  }
}
