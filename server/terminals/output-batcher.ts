// Turns a stream of SSH data chunks into few `term-output` frames of raw bytes: whatever arrives
// within one read of the SSH connection leaves as one frame, and a frame never ends inside a UTF-8 character.
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
 * Why batch per socket read (a microtask) rather than per event-loop turn or on a timer: what one read
 * of the SSH connection carries (ssh2 decrypts a read's packets in one go) leaves as one frame, so a
 * `cat` flood's 32 KiB packets cost one frame per read instead of one each, while a keystroke's echo
 * leaves as soon as its connection's read is decrypted. Batching per turn (setImmediate) made every
 * echo wait until the server had read and decrypted every other connection that was ready in the same
 * turn: under a room's load, hundreds of reads.
 */
export class OutputBatcher {
  #carry: Buffer | null = null;
  #parts: Buffer[] = [];
  #scheduled = false;

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
    if (!this.#scheduled) {
      this.#scheduled = true;
      // Runs once the read that delivered this chunk has been handled (flush() may have run before: then nothing is pending).
      queueMicrotask(() => {
        if (this.#scheduled) this.flush();
      });
    }
    return bytes.length;
  }

  /** Sends what is pending now (also used before a state change, so output and state stay ordered). */
  flush(): void {
    this.#scheduled = false;
    if (this.#parts.length === 0) return;
    let size = 0;
    for (const p of this.#parts) size += p.length;
    const data = allocTermData(size);
    let at = 0;
    for (const p of this.#parts) {
      data.set(p, at);
      at += p.length;
    }
    this.#parts = [];
    this.emit(data);
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
    this.#scheduled = false;
    this.#parts = [];
    this.#carry = null;
  }
}
