// One warm pool per environment shape (hosts + services), for a server whose labs ask for different
// shapes: claim(spec) takes from that shape's pool, or creates directly when pools are off (size 0).
import { quietLogger } from './log.ts';
import type { ProvisionLogger } from './log.ts';
import { WarmPool } from './pool.ts';
import type { CreateOptions, Environment, EnvironmentSpec, Provider } from './provider.ts';

/** The owner label of every pooled environment (until an owner claims it, and after a crash). */
export const POOL_OWNER = 'pool';

/** Owner labels are not part of the shape: a pooled environment fits any owner. */
export const shapeKey = (spec: EnvironmentSpec): string => JSON.stringify({ hosts: spec.hosts, etcd: spec.services.etcd, docker: spec.services.docker });

export class PoolSet {
  private readonly pools = new Map<string, WarmPool>();

  constructor(
    private readonly provider: Provider,
    /** Environments kept ready per shape (config.poolSize); 0 turns pooling off. */
    readonly size: number,
    /** Handed to every pool (refill failures). */
    private readonly log: ProvisionLogger = quietLogger,
  ) {}

  /** Starts filling pools for these shapes now (e.g. every lab of the catalogue at start-up). */
  warm(specs: readonly EnvironmentSpec[]): void {
    if (this.size === 0) return;
    for (const s of specs) this.poolFor(s);
  }

  /** An environment of this shape: from its pool when one is ready, else created now (and the pool started). */
  claim(spec: EnvironmentSpec, opts: CreateOptions = {}): Promise<Environment> {
    if (this.size === 0) return this.provider.create(spec, opts);
    return this.poolFor(spec).claim({ signal: opts.signal });
  }

  stats(): Record<string, ReturnType<WarmPool['stats']>> {
    return Object.fromEntries([...this.pools].map(([k, p]) => [k, p.stats()]));
  }

  async drain(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.drain()));
  }

  private poolFor(spec: EnvironmentSpec): WarmPool {
    const key = shapeKey(spec);
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new WarmPool(this.provider, { hosts: [...spec.hosts], services: { ...spec.services }, owner: POOL_OWNER }, this.size, 1, this.log);
      this.pools.set(key, pool);
    }
    return pool;
  }
}
