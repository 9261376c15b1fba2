// Fair, bounded boots: at most `concurrency` environments are created at once, handed out in order of
// arrival, attendees' creates before warm-pool refills. A class joining at once then gets its first hosts
// in one boot's time instead of everyone's hosts together at the end (N boots sharing the cores).
import type { CreateOptions, Environment, EnvironmentSpec, Provider } from './provider.ts';
import { ProvisionError, providerView } from './provider.ts';

/** 'attendee': someone waits for these hosts; 'refill': a warm pool filling in the background. */
export type BootPriority = 'attendee' | 'refill';

interface Waiter {
  priority: BootPriority;
  start: () => void;
  /** Told how many boots are ahead of it whenever that changes. */
  ahead: (n: number) => void;
}

/** Boots that may run at once on a machine with `cores` CPUs: one per two cores, at least one. */
export const defaultBootConcurrency = (cores: number): number => Math.max(1, Math.floor(cores / 2));

export class BootQueue {
  #running = 0;
  readonly #waiting: Waiter[] = [];

  constructor(readonly concurrency: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`boot concurrency must be a whole number ≥ 1, got ${concurrency}`);
  }

  /** Boots running and waiting now. */
  stats(): { running: number; waiting: number } {
    return { running: this.#running, waiting: this.#waiting.length };
  }

  /**
   * Runs `job` once a slot is free and every earlier waiter of the same or a higher priority has started.
   * Aborting `signal` while waiting leaves the queue at once (the job never runs).
   */
  async run<T>(job: () => Promise<T>, opts: { priority?: BootPriority; signal?: AbortSignal; onWait?: (ahead: number) => void } = {}): Promise<T> {
    const { signal } = opts;
    signal?.throwIfAborted();
    if (this.#running >= this.concurrency || this.#waiting.length > 0) await this.#enqueue(opts.priority ?? 'attendee', signal, opts.onWait);
    else this.#running += 1;
    try {
      return await job();
    } finally {
      this.#running -= 1;
      this.#next();
    }
  }

  #enqueue(priority: BootPriority, signal: AbortSignal | undefined, onWait: ((ahead: number) => void) | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.#waiting.indexOf(w);
        if (i >= 0) this.#waiting.splice(i, 1);
        this.#tellPositions();
        reject(signal?.reason instanceof Error ? signal.reason : new ProvisionError('aborted', 'cancelled while waiting for a boot slot'));
      };
      const w: Waiter = {
        priority,
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        ahead: (n) => onWait?.(n),
      };
      // Attendees go after every waiting attendee but before any waiting refill; refills go last.
      const firstRefill = priority === 'attendee' ? this.#waiting.findIndex((x) => x.priority === 'refill') : -1;
      if (firstRefill >= 0) this.#waiting.splice(firstRefill, 0, w);
      else this.#waiting.push(w);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#tellPositions();
    });
  }

  #next(): void {
    while (this.#running < this.concurrency && this.#waiting.length > 0) {
      const w = this.#waiting.shift()!;
      this.#running += 1;
      w.start();
    }
    this.#tellPositions();
  }

  #tellPositions(): void {
    this.#waiting.forEach((w, i) => w.ahead(i + this.#running));
  }
}

/**
 * The provider seen through the queue: create() waits for a boot slot (progress says how many boots are
 * ahead), everything else passes straight through.
 */
export function queuedProvider(provider: Provider, queue: BootQueue, priority: BootPriority = 'attendee'): Provider {
  const view = providerView(provider, {
    create: (spec: EnvironmentSpec, opts: CreateOptions = {}): Promise<Environment> =>
      queue.run(() => provider.create(spec, opts), {
        priority,
        ...(opts.signal ? { signal: opts.signal } : {}),
        onWait: (ahead) => opts.onProgress?.({ phase: 'queue', done: 0, total: 1, message: `waiting to boot: ${ahead} environment${ahead === 1 ? '' : 's'} ahead` }),
      }),
  });
  if (provider.snapshot) view.snapshot = provider.snapshot.bind(provider);
  if (provider.restore) view.restore = provider.restore.bind(provider);
  return view;
}
