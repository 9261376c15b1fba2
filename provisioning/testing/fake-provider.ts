// The one fake Provider of the server's tests: environments are map entries (hosts at 127.0.0.1:1,
// which refuses at once). Creates and destroys can be held, so tests can drive races against a slow provider.
import type { CreateOptions, Environment, EnvironmentSpec, Provider } from '../provider.ts';

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
  readonly #pendingCreates: (() => void)[] = [];
  #destroyGate: { promise: Promise<void>; open: () => void } | undefined;
  #destroying = 0;

  /** holdCreates: every create() waits for finish(). */
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
      resolve(env);
    };
    return new Promise((resolve, reject) => {
      if (this.#holdCreates) this.#pendingCreates.push(() => settle(resolve, reject));
      else settle(resolve, reject);
    });
  }

  /** Lets every held create() complete. */
  finish(): void {
    for (const p of this.#pendingCreates.splice(0)) p();
  }

  async destroy(env: Environment | string): Promise<void> {
    const id = typeof env === 'string' ? env : env.id;
    this.destroyed.push(id);
    this.#destroying++;
    try {
      this.onDestroy?.(id);
      if (this.#destroyGate) await this.#destroyGate.promise;
      this.live.delete(id);
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
}
