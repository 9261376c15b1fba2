// Output flow control (ttyd style): per channel, count output the browser has not acknowledged
// and pause the source past a high-water mark; per connection, also pause every source while the
// socket itself has too much queued, because acknowledgements are the client's word and can lie.

/**
 * Why these numbers: xterm.js parses a few MB/s, so 256 KiB in flight is roughly
 * 50–100 ms of rendering — enough to keep the pipe full across a WebSocket round trip, small
 * enough that Ctrl-C is seen within a frame or two and a slow tab costs the server at most this
 * much per terminal. Resuming at a quarter (not just below the mark) avoids toggling the SSH
 * window on every acknowledgement.
 */
export const HIGH_WATER = 256 * 1024;
export const LOW_WATER = 64 * 1024;

export interface FlowTarget {
  pause(): void;
  resume(): void;
}

/**
 * Units are whatever both ends count: the bridge counts the bytes of each `term-output`
 * frame and the browser acknowledges the same bytes once xterm has rendered them.
 */
export class FlowControl {
  #unacked = 0;
  #paused = false;
  /** Largest unacknowledged amount ever seen: the memory bound tests assert on. */
  #peak = 0;

  constructor(
    private readonly target: FlowTarget,
    readonly highWater: number = HIGH_WATER,
    readonly lowWater: number = LOW_WATER,
  ) {
    if (!(lowWater >= 0 && lowWater < highWater)) throw new RangeError('flow control needs 0 <= lowWater < highWater');
  }

  get unacked(): number {
    return this.#unacked;
  }
  get paused(): boolean {
    return this.#paused;
  }
  get peak(): number {
    return this.#peak;
  }

  /** Output of this size left (or is about to leave) for the browser. */
  sent(size: number): void {
    this.#unacked += size;
    if (this.#unacked > this.#peak) this.#peak = this.#unacked;
    if (!this.#paused && this.#unacked >= this.highWater) {
      this.#paused = true;
      this.target.pause();
    }
  }

  /**
   * The browser rendered this much more. Over-acknowledging (a buggy or hostile client) is
   * clamped at what is outstanding rather than trusted, so it can never drive the count negative
   * and open the window wider than the high-water mark; an ack that is not a positive finite
   * number (NaN, negative, Infinity) is ignored.
   */
  acked(size: number): void {
    if (!(Number.isFinite(size) && size > 0)) return;
    this.#unacked -= Math.min(size, this.#unacked);
    if (this.#paused && this.#unacked <= this.lowWater) {
      this.#paused = false;
      this.target.resume();
    }
  }
}

/**
 * Why these numbers: a browser that keeps up leaves almost nothing queued in the server (the
 * kernel's socket buffers absorb bursts first), so 1 MiB queued means the client is not reading.
 * Per-channel acks cannot catch that alone: a client may acknowledge output it never read.
 */
export const SOCKET_HIGH_WATER = 1024 * 1024;
export const SOCKET_LOW_WATER = 256 * 1024;
/** How often a paused connection looks whether its socket drained (only while paused). */
export const SOCKET_POLL_MS = 50;

export interface SocketGateOptions {
  /** Bytes queued on the connection's socket and not yet handed to the kernel (ws bufferedAmount). */
  buffered: () => number;
  highWater?: number;
  lowWater?: number;
  pollMs?: number;
}

/**
 * One per connection: pauses every terminal of the connection while the WebSocket has more than
 * the high-water mark queued, whatever the client acknowledged, and resumes them once the queue
 * is down to the low-water mark. ws has no drain event of its own, so a paused gate polls.
 */
export class SocketGate {
  #paused = false;
  #timer: NodeJS.Timeout | null = null;
  #pauses = 0;
  #peak = 0;
  readonly #listeners = new Set<(paused: boolean) => void>();
  readonly highWater: number;
  readonly lowWater: number;
  readonly #pollMs: number;

  constructor(private readonly opts: SocketGateOptions) {
    this.highWater = opts.highWater ?? SOCKET_HIGH_WATER;
    this.lowWater = opts.lowWater ?? SOCKET_LOW_WATER;
    this.#pollMs = opts.pollMs ?? SOCKET_POLL_MS;
    if (!(this.lowWater >= 0 && this.lowWater < this.highWater)) throw new RangeError('socket gate needs 0 <= lowWater < highWater');
  }

  get paused(): boolean {
    return this.#paused;
  }
  /** How many times the gate closed (tests and the bench). */
  get pauses(): number {
    return this.#pauses;
  }
  /** Largest queue seen at a check (tests and the bench). */
  get peak(): number {
    return this.#peak;
  }

  /** Told true when the sources must pause, false when they may resume; returns an unsubscribe. */
  subscribe(listener: (paused: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Call after each frame queued on the socket. */
  check(): void {
    const queued = this.opts.buffered();
    if (queued > this.#peak) this.#peak = queued;
    if (this.#paused || queued < this.highWater) return;
    this.#paused = true;
    this.#pauses++;
    for (const l of this.#listeners) l(true);
    this.#timer = setInterval(() => this.#poll(), this.#pollMs);
    this.#timer.unref();
  }

  dispose(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#listeners.clear();
  }

  #poll(): void {
    if (this.opts.buffered() > this.lowWater) return;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#paused = false;
    for (const l of this.#listeners) l(false);
  }
}
