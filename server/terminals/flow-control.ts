// Per-channel output flow control (ttyd style): count output the browser has not acknowledged
// yet, pause the source past a high-water mark and resume it once the browser catches up.

/**
 * Why these numbers: xterm.js parses a few MB/s, so 256 Ki characters in flight is roughly
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
 * Units are whatever both ends count: the bridge counts the length of each `term-output`
 * data string and the browser acknowledges the same lengths once xterm has rendered them.
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
   * clamped at zero rather than trusted, so it can never drive the count negative and open
   * the window wider than the high-water mark.
   */
  acked(size: number): void {
    this.#unacked = Math.max(0, this.#unacked - size);
    if (this.#paused && this.#unacked <= this.lowWater) {
      this.#paused = false;
      this.target.resume();
    }
  }
}
