// Counts events per key (a client address, a session) in fixed one-window buckets and says when a
// key is over its budget. Remembers a bounded number of keys, least recently used forgotten first,
// so a flood of distinct keys cannot grow memory.

export interface RateWindowOptions {
  /** Events allowed per key within one window. */
  max: number;
  windowMs: number;
  /** Keys remembered at most. */
  maxKeys?: number;
  now?: () => number;
}

interface Bucket {
  start: number;
  count: number;
}

/**
 * A fixed window (not a sliding log): O(1) memory per key. At a window's edge a key may get up to
 * twice `max` within a short span; for flood control that is fine and the cost stays constant.
 */
export class RateWindow {
  readonly #buckets = new Map<string, Bucket>();
  readonly #now: () => number;
  readonly #maxKeys: number;

  constructor(private readonly opts: RateWindowOptions) {
    this.#now = opts.now ?? Date.now;
    this.#maxKeys = opts.maxKeys ?? 10_000;
  }

  get max(): number {
    return this.opts.max;
  }

  /** Counts one event for `key`; returns 0 when allowed, else the milliseconds until it would be. */
  take(key: string): number {
    const now = this.#now();
    let b = this.#buckets.get(key);
    if (!b || now - b.start >= this.opts.windowMs) b = { start: now, count: 0 };
    // Re-inserting moves the key to the end: the map's first key is the least recently seen.
    this.#buckets.delete(key);
    this.#buckets.set(key, b);
    while (this.#buckets.size > this.#maxKeys) {
      const first = this.#buckets.keys().next().value;
      if (first === undefined) break;
      this.#buckets.delete(first);
    }
    if (b.count >= this.opts.max) return Math.max(1, b.start + this.opts.windowMs - now);
    b.count++;
    return 0;
  }

  /** Keys remembered now (tests and figures). */
  get size(): number {
    return this.#buckets.size;
  }
}

/**
 * The key a client address is counted under. An IPv6 client usually holds a whole /64 and can
 * pick a new address in it for every request, so IPv6 counts per /64; an IPv4-mapped IPv6
 * address counts as the IPv4 address it is.
 */
export function addressKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(':')) return address;
  const [head = '', tail] = address.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => (g.replace(/^0+/, '') || '0').toLowerCase())
    .join(':')}::/64`;
}

/** "12 s" style wait for a refusal message. */
export const waitText = (ms: number): string => `${Math.max(1, Math.ceil(ms / 1000))} s`;
