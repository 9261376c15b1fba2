// "Reset this step": when a step opens on an environment (its setup ran), the provider snapshots the hosts;
// a reset puts them back to that snapshot. One snapshot per environment (the current step's), so disk use
// stays bounded. Providers without snapshots, or a snapshot not (yet) taken, are told apart for the fallback.
// Which step the snapshot belongs to is recorded durably (StepSnapshotRecords), so a restart keeps the reset.
// Hosts waiting in a warm pool are snapshotted there, as booted (takeAsBooted): a lab's first step without setup
// opens on exactly those hosts, so its claimant's snapshot is already there and a class arriving at once takes none.
import type { Step } from '../../common/lab.ts';
import type { Environment, Provider } from '../../provisioning/provider.ts';
import type { Logger } from '../log.ts';
import { logger } from '../log.ts';

/** The provider-side name: one per environment, replaced when the next step opens. */
export const STEP_SNAPSHOT = 'step';

/** Why a step cannot be put back (the page and the dashboard offer a full reset instead). */
export type StepResetRefusal = 'unsupported' | 'no-snapshot' | 'busy';

export class StepSnapshotError extends Error {
  override name = 'StepSnapshotError';
  constructor(
    readonly code: StepResetRefusal | 'failed',
    message: string,
  ) {
    super(message);
  }
}

/** Which step an environment's snapshot belongs to, as recorded once it was taken. */
export interface StepSnapshotRecord {
  stepId: string;
  takenAt: number;
}

/** Where the records live: the SQLite file (server/store/step-snapshot-records.ts), or memory in tests. */
export interface StepSnapshotRecords {
  get(envId: string): StepSnapshotRecord | undefined;
  set(envId: string, record: StepSnapshotRecord): void;
  forget(envId: string): void;
}

export class MemoryStepSnapshotRecords implements StepSnapshotRecords {
  readonly #m = new Map<string, StepSnapshotRecord>();
  get(envId: string): StepSnapshotRecord | undefined {
    return this.#m.get(envId);
  }
  set(envId: string, record: StepSnapshotRecord): void {
    this.#m.set(envId, record);
  }
  forget(envId: string): void {
    this.#m.delete(envId);
  }
}

interface Taken {
  /** undefined: hosts as booted, untouched (a pooled environment), not yet given to any step. */
  stepId: string | undefined;
  state: 'taking' | 'ready' | 'failed';
  at: number;
  job: Promise<void>;
}

export interface StepSnapshotsOptions {
  provider: Pick<Provider, 'name' | 'snapshot' | 'restore' | 'snapshotInfo'>;
  /** Durable records (default: memory only, lost with the process). */
  records?: StepSnapshotRecords;
  log?: Logger;
}

export class StepSnapshots {
  readonly #taken = new Map<string, Taken>();
  readonly #restoring = new Set<string>();
  readonly #log: Logger;
  readonly #records: StepSnapshotRecords;

  constructor(private readonly opts: StepSnapshotsOptions) {
    this.#log = opts.log ?? logger('step-snapshots');
    this.#records = opts.records ?? new MemoryStepSnapshotRecords();
  }

  /** What this process knows of env's snapshot, else what an earlier process recorded (taken, so ready). */
  #entry(envId: string): Taken | undefined {
    const t = this.#taken.get(envId);
    if (t) return t;
    const rec = this.#records.get(envId);
    if (!rec) return undefined;
    const adopted: Taken = { stepId: rec.stepId, state: 'ready', at: rec.takenAt, job: Promise.resolve() };
    this.#taken.set(envId, adopted);
    return adopted;
  }

  /** Whether the provider can snapshot at all. */
  get supported(): boolean {
    return typeof this.opts.provider.snapshot === 'function' && typeof this.opts.provider.restore === 'function';
  }

  /**
   * Snapshots env's hosts as booted, while nobody has them yet (a warm pool's environment, before it counts as
   * ready): the first step a claimant opens on them uses it (stepOpened). Kept in memory only: a pooled
   * environment does not outlive its server (the next one destroys it as an orphan); once a step adopts the
   * snapshot it is recorded like any other. Never rejects (a failure is logged; that step then takes its own).
   */
  takeAsBooted(env: Environment): Promise<void> {
    if (!this.opts.provider.snapshot || this.#restoring.has(env.id) || this.#entry(env.id)) return Promise.resolve();
    return this.#take(env, undefined);
  }

  /**
   * The step is open and prepared on env: snapshots it unless this step's snapshot exists or is being taken.
   * The lab's first step, if it has no setup, opens on hosts as booted: a snapshot taken of them while they
   * were pooled is that step's, and is recorded for it without taking another.
   * Never rejects (a failure is logged; the reset of that step falls back to a full reset).
   */
  stepOpened(env: Environment, step: Pick<Step, 'id' | 'index' | 'setups'>): Promise<void> {
    const had = this.#entry(env.id);
    if (!this.opts.provider.snapshot || this.#restoring.has(env.id)) return Promise.resolve();
    if (had && had.stepId === step.id && had.state !== 'failed') return had.job;
    if (had?.stepId === undefined && had?.state === 'ready' && step.index === 0 && step.setups.length === 0) {
      had.stepId = step.id;
      this.#records.set(env.id, { stepId: step.id, takenAt: had.at });
      this.#log.child({ env: env.id, step: step.id }).info('step snapshot taken while the hosts were pooled: recorded for this step');
      return had.job;
    }
    return this.#take(env, step.id);
  }

  /** Takes env's snapshot for `stepId` (undefined: as booted), after the one under way ends. */
  #take(env: Environment, stepId: string | undefined): Promise<void> {
    const snapshot = this.opts.provider.snapshot!.bind(this.opts.provider);
    const had = this.#taken.get(env.id);
    const log = this.#log.child({ env: env.id, step: stepId ?? '(as booted)' });
    const taken: Taken = { stepId, state: 'taking', at: Date.now(), job: Promise.resolve() };
    taken.job = (async () => {
      await had?.job;
      const t0 = Date.now();
      try {
        const info = await snapshot(env, STEP_SNAPSHOT);
        taken.at = info.takenAt;
        // Forgotten meanwhile (the environment was destroyed): nothing is recorded for it.
        if (this.#taken.get(env.id) !== taken) return;
        if (taken.stepId !== undefined) this.#records.set(env.id, { stepId: taken.stepId, takenAt: info.takenAt });
        taken.state = 'ready';
        log.info({ ms: Date.now() - t0, bytes: info.bytes }, 'step snapshot taken');
      } catch (e) {
        taken.state = 'failed';
        log.warn({ err: e instanceof Error ? e.message : String(e) }, 'step snapshot failed');
      }
    })();
    this.#taken.set(env.id, taken);
    return taken.job;
  }

  /** Why the step cannot be put back now, or undefined when it can. */
  refusal(env: Environment, step: Pick<Step, 'id'>): { code: StepResetRefusal; message: string } | undefined {
    if (!this.supported) return { code: 'unsupported', message: `the ${this.opts.provider.name} provider cannot snapshot hosts` };
    if (this.#restoring.has(env.id)) return { code: 'busy', message: 'this step is being reset already' };
    const t = this.#entry(env.id);
    if (t?.stepId === step.id && t.state === 'taking') return { code: 'busy', message: 'the snapshot of this step is still being taken; try again in a moment' };
    if (t?.stepId !== step.id || t.state !== 'ready') return { code: 'no-snapshot', message: 'there is no snapshot of this step (taking it failed, or snapshots were off when it opened)' };
    return undefined;
  }

  /**
   * Puts env back to the snapshot of `step` through `run` (which wraps the provider's restore, e.g. in the
   * workspace's restoreHosts). Throws StepSnapshotError with a refusal code, or 'failed'.
   */
  async restore(env: Environment, step: Pick<Step, 'id'>, run: (restore: (env: Environment) => Promise<void>) => Promise<unknown>): Promise<void> {
    // A snapshot of this very step still being taken (the step just opened) is waited for, not refused.
    const taking = this.#entry(env.id);
    if (taking?.stepId === step.id && taking.state === 'taking' && !this.#restoring.has(env.id)) await taking.job;
    const no = this.refusal(env, step);
    if (no) throw new StepSnapshotError(no.code, no.message);
    const t = this.#entry(env.id)!;
    const restore = this.opts.provider.restore!.bind(this.opts.provider);
    const log = this.#log.child({ env: env.id, step: step.id });
    this.#restoring.add(env.id);
    const t0 = Date.now();
    try {
      // The provider must still hold that very snapshot (a recorded one may have been lost with its disk).
      const info = await this.opts.provider.snapshotInfo?.(env, STEP_SNAPSHOT);
      if (this.opts.provider.snapshotInfo && info?.takenAt !== t.at) {
        this.#forget(env.id);
        throw new StepSnapshotError('no-snapshot', 'the snapshot of this step is no longer on the hosts’ disk');
      }
      await run((e) => restore(e, STEP_SNAPSHOT));
      log.info({ ms: Date.now() - t0 }, 'step restored');
    } catch (e) {
      if (e instanceof StepSnapshotError) throw e;
      log.error({ err: e instanceof Error ? e.message : String(e) }, 'step restore failed');
      this.#forget(env.id);
      throw new StepSnapshotError('failed', e instanceof Error ? e.message : String(e));
    } finally {
      this.#restoring.delete(env.id);
    }
  }

  /** The environment is gone (its snapshots went with it). */
  forgetEnvironment(envId: string): void {
    this.#forget(envId);
  }

  #forget(envId: string): void {
    this.#taken.delete(envId);
    this.#records.forget(envId);
  }

  /** Resolves once every snapshot being taken now has ended (tests, shutdown). */
  async idle(): Promise<void> {
    await Promise.all([...this.#taken.values()].map((t) => t.job));
  }
}
