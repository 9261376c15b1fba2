// Failed instructor logins per client address: after too many within a window, that address is
// refused (429 with Retry-After) until its oldest failure leaves the window. A generated
// credential is 192 bits and cannot be guessed anyway; a configured one may be weaker, and a
// flood of guesses should show in the log, not go on forever.

export interface ThrottleOptions {
  /** Failures allowed per address within the window. */
  maxFailures: number;
  windowMs: number;
  /** Addresses remembered at most (the oldest are forgotten first), so memory stays bounded. */
  maxAddresses: number;
  now?: () => number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = { maxFailures: 10, windowMs: 10 * 60_000, maxAddresses: 10_000 };

export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();
  private readonly now: () => number;

  constructor(private readonly opts: ThrottleOptions = DEFAULT_THROTTLE) {
    this.now = opts.now ?? Date.now;
  }

  private recent(address: string): number[] {
    const since = this.now() - this.opts.windowMs;
    const kept = (this.failures.get(address) ?? []).filter((t) => t > since);
    if (kept.length === 0) this.failures.delete(address);
    else this.failures.set(address, kept);
    return kept;
  }

  /** Milliseconds until this address may try again; 0 when it may try now. */
  retryAfterMs(address: string): number {
    const kept = this.recent(address);
    if (kept.length < this.opts.maxFailures) return 0;
    const oldest = kept[kept.length - this.opts.maxFailures] ?? this.now();
    return Math.max(1, oldest + this.opts.windowMs - this.now());
  }

  recordFailure(address: string): void {
    const kept = this.recent(address);
    kept.push(this.now());
    // Re-inserting moves the address to the end: the map's first key is the least recently failed.
    this.failures.delete(address);
    this.failures.set(address, kept);
    while (this.failures.size > this.opts.maxAddresses) {
      const first = this.failures.keys().next().value;
      if (first === undefined) break;
      this.failures.delete(first);
    }
  }
}
