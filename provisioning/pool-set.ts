// One warm pool per environment shape (hosts + services), for a server whose labs ask for different
// shapes: claim(spec) takes from that shape's pool, or creates directly when the shape has no pool.
// Sizes are either one size for every shape warmed (size > 0) or targets set per shape (setTargets, the
// workshops' sizing rule in server/workshops/workshop-pools.ts).
import { quietLogger } from './log.ts';
import type { ProvisionLogger } from './log.ts';
import { WarmPool } from './pool.ts';
import type { CreateOptions, Environment, EnvironmentSpec, Provider } from './provider.ts';

/** The owner label of every pooled environment (until an owner claims it, and after a crash). */
export const POOL_OWNER = 'pool';

/** Owner labels are not part of the shape: a pooled environment fits any owner. */
export const shapeKey = (spec: EnvironmentSpec): string => JSON.stringify({ hosts: spec.hosts, etcd: spec.services.etcd, docker: spec.services.docker });

export interface PoolSetOptions {
  /** Creates refills (e.g. behind attendees in the boot queue); default: the provider. */
  refillProvider?: Provider;
  /** Called when a pool's count of ready environments changes. */
  onChange?: () => void;
}

export class PoolSet {
  private readonly pools = new Map<string, WarmPool>();
  /** Shapes whose pool a target sizes (above the one size): a claim from one lowers it (see claim). */
  private readonly targeted = new Set<string>();
  private draining = false;

  constructor(
    private readonly provider: Provider,
    /** Environments kept ready per shape warmed with warm(); 0: only shapes given a target get a pool. */
    readonly size: number,
    /** Handed to every pool (refill failures). */
    private readonly log: ProvisionLogger = quietLogger,
    private readonly opts: PoolSetOptions = {},
  ) {}

  /** Starts filling pools of `size` for these shapes now (e.g. every lab of the catalogue at start-up). */
  warm(specs: readonly EnvironmentSpec[]): void {
    if (this.size === 0) return;
    for (const s of specs) this.poolFor(s, this.size);
  }

  /**
   * Keeps targets[i].size environments of each listed shape ready; shapes not listed keep `size` (0 when
   * pools of one size are off). Shrinking destroys the ready environments beyond the new size.
   */
  setTargets(targets: readonly { spec: EnvironmentSpec; size: number }[]): Promise<void> {
    if (this.draining) return Promise.resolve();
    const want = new Map<string, { spec: EnvironmentSpec; size: number }>();
    for (const t of targets) {
      const k = shapeKey(t.spec);
      want.set(k, { spec: t.spec, size: (want.get(k)?.size ?? 0) + t.size });
    }
    this.targeted.clear();
    for (const [k, t] of want) if (t.size > this.size) this.targeted.add(k);
    const jobs: Promise<void>[] = [];
    for (const [k, pool] of this.pools) if (!want.has(k)) jobs.push(pool.resize(this.size));
    for (const [k, t] of want) {
      const pool = this.pools.get(k);
      if (pool) jobs.push(pool.resize(Math.max(t.size, this.size)));
      else if (t.size > 0) this.poolFor(t.spec, t.size);
    }
    return Promise.all(jobs).then(() => undefined);
  }

  /**
   * An environment of this shape: from its pool when one is ready, else created now. A pool a target sizes
   * shrinks by the one it hands out, so nothing boots behind the claim: whoever set the target sets it again
   * once the claimant counts as served (WarmPool.claim's `shrink`). A pool of the one size refills behind it.
   */
  claim(spec: EnvironmentSpec, opts: CreateOptions = {}): Promise<Environment> {
    const key = shapeKey(spec);
    const pool = this.pools.get(key) ?? (this.size > 0 ? this.poolFor(spec, this.size) : undefined);
    if (!pool) return this.provider.create(spec, opts);
    return pool.claim(opts, this.targeted.has(key));
  }

  /** Environments of this shape ready in its pool now. */
  readyOf(spec: EnvironmentSpec): number {
    return this.pools.get(shapeKey(spec))?.stats().ready ?? 0;
  }

  stats(): Record<string, ReturnType<WarmPool['stats']> & { size: number }> {
    return Object.fromEntries([...this.pools].map(([k, p]) => [k, { ...p.stats(), size: p.size }]));
  }

  async drain(): Promise<void> {
    this.draining = true;
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.drain()));
  }

  private poolFor(spec: EnvironmentSpec, size: number): WarmPool {
    const key = shapeKey(spec);
    let pool = this.pools.get(key);
    if (!pool) {
      const shape = { hosts: [...spec.hosts], services: { ...spec.services }, owner: POOL_OWNER };
      pool = new WarmPool(this.provider, shape, size, 1, this.log, this.opts.refillProvider ?? this.provider, this.opts.onChange);
      this.pools.set(key, pool);
    }
    return pool;
  }
}
