// One queue for every automatic re-check of the server: at most `concurrency` run at once over all
// attendees, started in order of arrival, so a room of 300 pages re-checking every few seconds
// cannot flood the event loop (terminals come first) or the hosts; when checks cannot keep up, each
// attendee's re-check period stretches evenly instead of some attendees never being checked.

export interface AutoCheckQueueOptions {
  /** Automatic check runs in flight at once, over every attendee. */
  concurrency: number;
}

export class AutoCheckQueue {
  readonly concurrency: number;
  readonly #waiting: (() => Promise<void>)[] = [];
  #running = 0;
  #peak = 0;
  #started = 0;

  constructor(opts: AutoCheckQueueOptions) {
    if (!(Number.isInteger(opts.concurrency) && opts.concurrency >= 1)) throw new RangeError('auto-check concurrency must be a whole number >= 1');
    this.concurrency = opts.concurrency;
  }

  /** Runs in flight now. */
  get running(): number {
    return this.#running;
  }
  /** Runs waiting for a free slot. */
  get waiting(): number {
    return this.#waiting.length;
  }
  /** Most runs ever in flight at once (tests and the bench). */
  get peak(): number {
    return this.#peak;
  }
  /** Runs started so far (the bench's checks/s). */
  get started(): number {
    return this.#started;
  }

  /**
   * Runs `run` once a slot is free (at once when one is), after every run added before it.
   * Returns a cancel: a run that has not started yet never will. A failing run frees its slot.
   */
  add(run: () => Promise<void>): () => void {
    let cancelled = false;
    const job = (): Promise<void> => (cancelled ? Promise.resolve() : run());
    this.#waiting.push(job);
    this.#pump();
    return () => {
      cancelled = true;
      const i = this.#waiting.indexOf(job);
      if (i >= 0) this.#waiting.splice(i, 1);
    };
  }

  #pump(): void {
    while (this.#running < this.concurrency) {
      const job = this.#waiting.shift();
      if (!job) return;
      this.#running++;
      this.#started++;
      if (this.#running > this.#peak) this.#peak = this.#running;
      let p: Promise<void>;
      try {
        p = job();
      } catch {
        p = Promise.resolve();
      }
      void p
        .catch(() => undefined)
        .finally(() => {
          this.#running--;
          this.#pump();
        });
    }
  }
}
