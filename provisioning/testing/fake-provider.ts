// The one fake Provider of the tests (server, provisioning) and the dashboard demo: environments are
// map entries (hosts at 127.0.0.1:1, which refuses at once). Creates and destroys can be held, so
// tests can drive races against a slow provider, and environments an earlier process left can be seeded.
import type { CreateOptions, Environment, EnvironmentSpec, Provider, SnapshotInfo } from '../provider.ts';
import { ProvisionError } from '../provider.ts';

export class FakeProvider implements Provider {
  readonly name = 'fake';
  /** Environments that exist now: added when create() resolves, removed when destroy() completes. */
  readonly live = new Map<string, Environment>();
  /** Every spec create() was called with, in order (its length is the number of create() calls). */
  readonly created: EnvironmentSpec[] = [];
  /** Every id destroy() was called with, in order (when it was called, not when it completed). */
  readonly destroyed: string[] = [];
  /** The next create() fails (after finish() when creates are held). */
  failNext = false;
  /** Called synchronously as a destroy starts: lets a test act "during" the destroy. */
  onDestroy: ((id: string) => void) | undefined;
  readonly #holdCreates: boolean;
  /** Held creates, oldest first; an aborted one leaves the queue. */
  readonly #pendingCreates: (() => void)[] = [];
  #destroyGate: { promise: Promise<void>; open: () => void } | undefined;
  #destroying = 0;

  /** holdCreates: every create() waits for finish() or finishOne(). */
  constructor(opts: { holdCreates?: boolean } = {}) {
    this.#holdCreates = opts.holdCreates ?? false;
  }

  create(spec: EnvironmentSpec, opts?: CreateOptions): Promise<Environment> {
    this.created.push(spec);
    const id = `env${this.created.length}`;
    opts?.onProgress?.({ phase: 'boot', done: 1, total: 3, message: 'booting hosts' });
    const fail = this.failNext;
    this.failNext = false;
    const settle = (resolve: (e: Environment) => void, reject: (e: Error) => void): void => {
      if (fail) {
        reject(new Error('no bridge'));
        return;
      }
      resolve(this.#add(id, spec));
    };
    return new Promise((resolve, reject) => {
      if (!this.#holdCreates) {
        settle(resolve, reject);
        return;
      }
      // Like a real create: an abort (a pool draining) ends it before it completes.
      const held = (): void => {
        opts?.signal?.removeEventListener('abort', onAbort);
        settle(resolve, reject);
      };
      const onAbort = (): void => {
        const i = this.#pendingCreates.indexOf(held);
        if (i >= 0) this.#pendingCreates.splice(i, 1);
        reject(new ProvisionError('aborted', 'creation aborted'));
      };
      opts?.signal?.addEventListener('abort', onAbort, { once: true });
      this.#pendingCreates.push(held);
    });
  }

  /** Lets every held create() complete. */
  finish(): void {
    for (const p of this.#pendingCreates.splice(0)) p();
  }

  /** Lets the oldest held create() complete. */
  finishOne(): void {
    this.#pendingCreates.shift()?.();
  }

  /** Creates held and not completed (nor aborted) yet. */
  get held(): number {
    return this.#pendingCreates.length;
  }

  /** An environment that exists already, as one an earlier process left (not counted in `created`). */
  seed(id: string, spec: EnvironmentSpec): Environment {
    return this.#add(id, spec);
  }

  #add(id: string, spec: EnvironmentSpec): Environment {
    const env: Environment = {
      id,
      provider: this.name,
      spec,
      hosts: spec.hosts.map((name) => ({ name, address: '127.0.0.1', port: 1, user: 'root' })),
      privateKey: 'KEY',
      privateKeyPath: '/dev/null',
      createdAt: 0,
    };
    this.live.set(id, env);
    return env;
  }

  async destroy(env: Environment | string): Promise<void> {
    const id = typeof env === 'string' ? env : env.id;
    this.destroyed.push(id);
    this.#destroying++;
    try {
      this.onDestroy?.(id);
      if (this.#destroyGate) await this.#destroyGate.promise;
      this.live.delete(id);
      this.snapshots.delete(id);
    } finally {
      this.#destroying--;
    }
  }

  /** From now on destroy() waits (hosts keep running) until releaseDestroys(). */
  holdDestroys(): void {
    if (this.#destroyGate) return;
    let open!: () => void;
    const promise = new Promise<void>((resolve) => (open = resolve));
    this.#destroyGate = { promise, open };
  }

  /** Completes every held destroy, and stops holding new ones. */
  releaseDestroys(): void {
    this.#destroyGate?.open();
    this.#destroyGate = undefined;
  }

  /** Destroys started and not completed yet. */
  get destroying(): number {
    return this.#destroying;
  }

  list(): Promise<Environment[]> {
    return Promise.resolve([...this.live.values()]);
  }

  /** Snapshots that exist now, by environment id (names). */
  readonly snapshots = new Map<string, Set<string>>();
  /** Every restore, in order, as "envId/name". */
  readonly restored: string[] = [];
  /** The next snapshot() fails. */
  failNextSnapshot = false;

  snapshot(env: Environment, name: string): Promise<SnapshotInfo> {
    if (!this.live.has(env.id)) return Promise.reject(new ProvisionError('busy', `environment ${env.id} is not ready`));
    if (this.failNextSnapshot) {
      this.failNextSnapshot = false;
      return Promise.reject(new ProvisionError('internal', 'disk full'));
    }
    let names = this.snapshots.get(env.id);
    if (!names) this.snapshots.set(env.id, (names = new Set()));
    names.add(name);
    const takenAt = Date.now();
    this.#takenAt.set(`${env.id}/${name}`, takenAt);
    return Promise.resolve({ name, takenAt, bytes: 1 });
  }

  readonly #takenAt = new Map<string, number>();

  snapshotInfo(env: Environment, name: string): Promise<SnapshotInfo | undefined> {
    const takenAt = this.snapshots.get(env.id)?.has(name) ? this.#takenAt.get(`${env.id}/${name}`) : undefined;
    return Promise.resolve(takenAt === undefined ? undefined : { name, takenAt });
  }

  /** The next restore() waits until the returned function is called (a reset that takes a while). */
  holdNextRestore(): () => void {
    let open!: () => void;
    this.#restoreGate = new Promise<void>((r) => (open = r));
    return open;
  }

  #restoreGate: Promise<void> | undefined;

  restore(env: Environment, name: string): Promise<void> {
    if (!this.snapshots.get(env.id)?.has(name)) return Promise.reject(new ProvisionError('no-snapshot', `environment ${env.id} has no snapshot "${name}"`));
    this.restored.push(`${env.id}/${name}`);
    const gate = this.#restoreGate;
    this.#restoreGate = undefined;
    return gate ?? Promise.resolve();
  }
}
