// Turns a stream of SSH data chunks into few `term-output` frames: UTF-8 is decoded across
// chunk boundaries, and whatever arrives within one event-loop turn leaves as one frame.
import { StringDecoder } from 'node:string_decoder';

/**
 * Why batch per turn (setImmediate) rather than on a timer: a keystroke echo arrives alone and
 * leaves at once (no added latency), while a burst such as `cat` delivers many 32 KiB SSH
 * packets per turn, which then cost one JSON frame instead of dozens.
 */
export class OutputBatcher {
  #decoder = new StringDecoder('utf8');
  #parts: string[] = [];
  #scheduled: NodeJS.Immediate | null = null;

  /** `emit` receives each batch; its length is what flow control counts. */
  constructor(private readonly emit: (data: string) => void) {}

  push(chunk: Buffer): string {
    const text = this.#decoder.write(chunk);
    if (text.length > 0) {
      this.#parts.push(text);
      this.#scheduled ??= setImmediate(() => this.flush());
    }
    return text;
  }

  /** Sends what is pending now (also used before a state change, so output and state stay ordered). */
  flush(): void {
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = null;
    if (this.#parts.length === 0) return;
    const data = this.#parts.length === 1 ? (this.#parts[0] ?? '') : this.#parts.join('');
    this.#parts = [];
    this.emit(data);
  }

  /**
   * A new SSH channel starts a new byte stream: an incomplete sequence left by the old one
   * can never be completed, so it is dropped instead of being glued to unrelated bytes.
   */
  restart(): void {
    this.flush();
    this.#decoder = new StringDecoder('utf8');
  }

  dispose(): void {
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = null;
    this.#parts = [];
  }
}
