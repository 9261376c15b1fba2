// Destroys environments for the workspace manager and its leftover settlement, one place for
// both: each destroy of a (session, lab)'s hosts is registered as a gate that the next workspace
// of that (session, lab) waits for, so new hosts never run beside (or adopt) dying ones.
import type { Environment, Provider } from '../../provisioning/provider.ts';
import type { Logger } from '../log.ts';
import type { SshPool } from '../ssh/ssh-pool.ts';

/** The key of a (session, lab) in the manager's maps and in the gates. */
export const workspaceKey = (sessionId: string, labId: string): string => `${labId}\u0000${sessionId}`;

export class EnvironmentTeardown {
  /**
   * (session, lab) whose previous environment is still being destroyed. A new workspace of that
   * key waits for it before creating, so it can neither adopt the dying hosts nor run beside them.
   */
  readonly #gates = new Map<string, Promise<void>>();
  readonly #releaseListeners = new Set<(env: Environment) => void>();

  constructor(
    private readonly provider: Provider,
    /** Its connections to an environment are closed before the environment is destroyed. */
    private readonly ssh: SshPool | undefined,
  ) {}

  /** The destroy still running for this key's hosts, if any. */
  pending(k: string): Promise<void> | undefined {
    return this.#gates.get(k);
  }

  /** The destroys still running for any lab of this session. */
  pendingOfSession(sessionId: string): Promise<void>[] {
    return [...this.#gates].filter(([k]) => k.endsWith(`\u0000${sessionId}`)).map(([, g]) => g);
  }

  /** Every destroy still running (at shutdown, so the process does not exit with hosts half-destroyed). */
  all(): Promise<void> {
    return Promise.all([...this.#gates.values()]).then(() => undefined);
  }

  /** Registers a destroy of key's hosts: a workspace of that key provisions only after it. */
  gate(k: string, job: Promise<void>): Promise<void> {
    const before = this.#gates.get(k);
    const done = job.catch(() => undefined);
    const gate = before ? Promise.all([before, done]).then(() => undefined) : done;
    this.#gates.set(k, gate);
    void gate.then(() => {
      if (this.#gates.get(k) === gate) this.#gates.delete(k);
    });
    return gate;
  }

  /** Runs before an environment is destroyed, e.g. so terminals close their SSH connections to it. */
  onRelease(listener: (env: Environment) => void): () => void {
    this.#releaseListeners.add(listener);
    return () => this.#releaseListeners.delete(listener);
  }

  /** Never rejects (a failure is logged): gates and releases wait on it. */
  async destroy(env: Environment | string, log: Logger): Promise<void> {
    // An id only: recorded but never adopted by this process, so no terminal of ours is on it.
    if (typeof env !== 'string') for (const l of this.#releaseListeners) l(env);
    this.ssh?.closeEnvironment(typeof env === 'string' ? env : env.id);
    try {
      await this.provider.destroy(env);
      log.info('environment destroyed');
    } catch (err) {
      log.error({ err: err instanceof Error ? err.message : String(err) }, 'could not destroy environment');
    }
  }
}
