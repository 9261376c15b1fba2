// A warm pool over any Provider: keeps N environments of one spec ready so that claim() hands one out at
// once, and refills in the background. Environments it holds are owned by the pool until claimed.
import { quietLogger } from './log.ts';
import type { ProvisionLogger } from './log.ts';
import type { CreateOptions, Environment, EnvironmentSpec, Provider } from './provider.ts';

function checkedSize(size: number): number {
  if (!Number.isInteger(size) || size < 0) throw new Error(`pool size must be a whole number ≥ 0, got ${size}`);
  return size;
}

export interface PoolStats {
  ready: number;
  creating: number;
  claimed: number;
  failures: number;
}

export class WarmPool {
  private readonly ready: Environment[] = [];
  private creating = 0;
  private claimed = 0;
  private failures = 0;
  private consecutiveFailures = 0;
  private draining = false;
  private readonly abort = new AbortController();
  private readonly inflight = new Set<Promise<void>>();
  /** Destroys of environments the pool no longer wants: drain() waits for them (a server exiting must not cut one short). */
  private readonly destroying = new Set<Promise<void>>();
  private waiters: (() => void)[] = [];

  #size: number;

  constructor(
    private readonly provider: Provider,
    readonly spec: EnvironmentSpec,
    size: number,
    /** How many environments are created at the same time (hosts boot in parallel already; 2 cores). */
    private readonly concurrency = 1,
    /** Where refill failures are logged (the server passes its logger for component 'warm-pool'). */
    private readonly log: ProvisionLogger = quietLogger,
    /** Creates refills (e.g. behind attendees in a boot queue, provisioning/boot-queue.ts); default: `provider`. */
    private readonly refillProvider: Provider = provider,
    /** Called when the number of ready environments changes (e.g. a dashboard showing hosts booted ahead). */
    private readonly onChange: () => void = () => undefined,
  ) {
    this.#size = checkedSize(size);
    this.refill();
  }

  /** Environments kept ready. */
  get size(): number {
    return this.#size;
  }

  /**
   * Keeps `n` environments ready from now on: more are created, or ready ones beyond `n` are destroyed
   * (memory goes back as the need goes; a boot already under way is destroyed when it finishes, if not wanted).
   */
  resize(n: number): Promise<void> {
    this.#size = checkedSize(n);
    const surplus = this.draining ? [] : this.ready.splice(this.#size);
    if (surplus.length > 0) this.onChange();
    this.refill();
    return Promise.all(surplus.map((e) => this.destroyTracked(e))).then(() => undefined);
  }

  stats(): PoolStats {
    return { ready: this.ready.length, creating: this.creating, claimed: this.claimed, failures: this.failures };
  }

  /**
   * A ready environment: from the pool when one is there (near-instant), otherwise created now. `shrink`: one
   * taken from the pool also lowers its size by one, so nothing is booted behind it until the size is set again
   * (a workshop whose every seat was booted ahead: the claimant's seat needs no other).
   */
  async claim(opts: CreateOptions = {}, shrink = false): Promise<Environment> {
    if (this.draining) throw new Error('the pool is draining');
    const env = this.ready.shift();
    if (env && shrink) this.#size = Math.max(0, this.#size - 1);
    this.refill();
    if (env) {
      this.claimed += 1;
      this.onChange();
      return env;
    }
    const fresh = await this.provider.create({ ...this.spec, owner: this.spec.owner ?? 'pool' }, opts);
    this.claimed += 1;
    return fresh;
  }

  /** Resolves once `n` environments are ready (or the pool is draining). For start-up and tests. */
  async waitReady(n = this.#size): Promise<void> {
    while (this.ready.length < Math.min(n, this.#size) && !this.draining) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Stops refilling, cancels environments being created and destroys the ready ones. */
  async drain(): Promise<void> {
    this.draining = true;
    this.abort.abort();
    this.wake();
    await Promise.allSettled([...this.inflight]);
    const envs = this.ready.splice(0);
    for (const e of envs) void this.destroyTracked(e);
    // Also the destroys a shrink started earlier (a workshop ended just before the server stops).
    while (this.destroying.size > 0) await Promise.all([...this.destroying]);
  }

  /** Destroys an environment the pool gives up, logging a failure; never rejects. */
  private destroyTracked(env: Environment): Promise<void> {
    const p: Promise<void> = this.provider
      .destroy(env)
      .catch((e: unknown) => this.log.warn({ env: env.id, err: e instanceof Error ? e.message : String(e) }, 'pool environment not destroyed'))
      .finally(() => this.destroying.delete(p));
    this.destroying.add(p);
    return p;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private refill(): void {
    while (!this.draining && this.ready.length + this.creating < this.#size && this.creating < this.concurrency) {
      // Back off after repeated failures (a broken image must not turn into a create loop burning the CPU).
      if (this.consecutiveFailures >= 3) {
        setTimeout(() => {
          this.consecutiveFailures = 0;
          this.refill();
        }, 30_000).unref();
        return;
      }
      this.creating += 1;
      const p = this.refillProvider
        .create({ ...this.spec, owner: this.spec.owner ?? 'pool' }, { signal: this.abort.signal })
        .then(async (env) => {
          // Not wanted any more (draining, or the pool shrank while it booted): its memory goes back now.
          if (this.draining || this.ready.length >= this.#size) await this.destroyTracked(env);
          else {
            this.ready.push(env);
            this.onChange();
          }
          this.consecutiveFailures = 0;
        })
        .catch((e: unknown) => {
          if (this.draining) return;
          this.failures += 1;
          this.consecutiveFailures += 1;
          this.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'pool refill failed');
        })
        .finally(() => {
          this.creating -= 1;
          this.inflight.delete(p);
          this.wake();
          this.refill();
        });
      this.inflight.add(p);
    }
  }
}
