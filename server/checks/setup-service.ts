// Runs a step's setup once per environment when the step opens (common/gating.ts: step 1 when the
// hosts are ready, the next one when a step passes or is skipped), records where it stands, and
// runs a failed one again when the attendee asks. Callers learn every change through onChange.
import type { Step } from '../../common/lab.ts';
import type { StepSetupStatus } from '../../common/protocol.ts';
import type { Environment } from '../../provisioning/provider.ts';
import type { Logger } from '../log.ts';
import { logger } from '../log.ts';
import type { CheckTarget } from './check-target.ts';
import type { SetupRecord, SetupRecords } from './setup-records.ts';
import { SETUP_TIMEOUT_MS, runStepSetup } from './step-setup.ts';

export interface StepSetupsOptions {
  records: SetupRecords;
  target(env: Environment): CheckTarget;
  /** Told whenever the setup of a step of (session, lab) changes state. */
  onChange?: (sessionId: string, labId: string, status: StepSetupStatus) => void;
  timeoutMs?: number;
}

/** What the attendee reads after "This step could not be prepared": short, one line. */
const MAX_REASON = 300;
const INTERRUPTED = 'the server stopped while this step was being prepared';

function status(step: Step, rec: SetupRecord): StepSetupStatus {
  const s: StepSetupStatus = { step: step.index, state: rec.state };
  if (rec.host !== undefined) s.host = rec.host;
  if (rec.reason !== undefined) s.reason = rec.reason;
  return s;
}

export class StepSetups {
  /** Setups running in this process, by environment and step id. */
  readonly #running = new Map<string, Promise<void>>();
  /** Running setups whose environment was released meanwhile (forgetEnvironment). */
  readonly #released = new Set<string>();
  readonly #log: Logger = logger('step-setup');

  constructor(private readonly opts: StepSetupsOptions) {}

  /** Where the step's setup stands on env; undefined when the step has no setup blocks. */
  status(env: Environment, step: Step): StepSetupStatus | undefined {
    if (step.setups.length === 0) return undefined;
    const rec = this.#record(env, step);
    return rec ? status(step, rec) : undefined;
  }

  /** Whether the step may be checked: it has no setup, or its setup ran. */
  prepared(env: Environment, step: Step): boolean {
    return step.setups.length === 0 || this.#record(env, step)?.state === 'ready';
  }

  /**
   * The step opened (or is current when a page connects): runs its setup unless it already ran,
   * runs, or failed on this environment. Returns where it stands.
   */
  open(sessionId: string, labId: string, env: Environment, step: Step): StepSetupStatus | undefined {
    if (step.setups.length === 0) return undefined;
    const stored = this.opts.records.get(env.id, step.id);
    const rec = this.#record(env, step);
    if (!rec) return this.#start(sessionId, labId, env, step);
    const s = status(step, rec);
    // One cut short by a restart is failed from now on: the pages and the dashboard learn it.
    if (stored?.state === 'running' && rec.state === 'failed') this.opts.onChange?.(sessionId, labId, s);
    return s;
  }

  /** Runs a failed setup again; anything else is left as it is. */
  retry(sessionId: string, labId: string, env: Environment, step: Step): StepSetupStatus | undefined {
    if (step.setups.length === 0) return undefined;
    const rec = this.#record(env, step);
    if (rec?.state !== 'failed') return rec ? status(step, rec) : this.open(sessionId, labId, env, step);
    return this.#start(sessionId, labId, env, step);
  }

  /**
   * Opens the step (as `open`) and waits for its setup to end: the catch-up replays a step's
   * solution only on hosts prepared as the attendee's would have been.
   */
  async prepare(sessionId: string, labId: string, env: Environment, step: Step): Promise<StepSetupStatus | undefined> {
    const s = this.open(sessionId, labId, env, step);
    if (s?.state !== 'running') return s;
    await this.#running.get(this.#key(env, step));
    return this.status(env, step);
  }

  /**
   * The environment's hosts are being destroyed (a reset, a release): its records go, and a setup
   * still running on them neither records nor tells anyone how it ended — the session's pages are
   * on new hosts by then, where that step is prepared afresh.
   */
  forgetEnvironment(envId: string): void {
    this.opts.records.forgetEnvironment(envId);
    for (const k of this.#running.keys()) if (k.startsWith(`${envId}\u0000`)) this.#released.add(k);
  }

  /** Resolves once every setup running now has ended (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running.values()]);
  }

  /** The stored record; a `running` one no setup of this process runs was cut short by a restart. */
  #record(env: Environment, step: Step): SetupRecord | undefined {
    const rec = this.opts.records.get(env.id, step.id);
    if (rec?.state === 'running' && !this.#running.has(this.#key(env, step))) {
      // Its commands may have half run: running them again could do harm; the attendee retries.
      const failed: SetupRecord = { state: 'failed', at: Date.now(), reason: INTERRUPTED };
      this.opts.records.set(env.id, step.id, failed);
      return failed;
    }
    return rec;
  }

  #key = (env: Environment, step: Step): string => `${env.id}\u0000${step.id}`;

  #start(sessionId: string, labId: string, env: Environment, step: Step): StepSetupStatus {
    const key = this.#key(env, step);
    const running: SetupRecord = { state: 'running', at: Date.now() };
    // Recorded before the first command runs: a restart from here on never runs it a second time.
    this.opts.records.set(env.id, step.id, running);
    const log = this.#log.child({ lab: labId, env: env.id, step: step.id });
    log.info({ blocks: step.setups.length }, 'preparing step');
    const job = (async () => {
      let rec: SetupRecord;
      try {
        const out = await runStepSetup(this.opts.target(env), step, this.opts.timeoutMs ?? SETUP_TIMEOUT_MS);
        if (out.ok) {
          rec = { state: 'ready', at: Date.now() };
          log.info('step prepared');
        } else {
          const last = out.output.split('\n').filter((l) => l.trim() !== '').at(-1) ?? '';
          const reason = `${out.reason}${last ? `: ${last}` : ''}`;
          rec = { state: 'failed', at: Date.now(), host: out.host, reason: reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON - 1)}…` : reason };
          log.warn({ host: out.host, line: out.line, reason: out.reason, output: out.output }, 'step setup failed');
        }
      } catch (e) {
        rec = { state: 'failed', at: Date.now(), reason: e instanceof Error ? e.message.slice(0, MAX_REASON) : 'unexpected error' };
        log.error({ err: e }, 'step setup failed unexpectedly');
      }
      if (this.#released.delete(key)) {
        this.#running.delete(key);
        log.info({ state: rec.state }, 'step setup ended on hosts that were given back meanwhile');
        return;
      }
      try {
        this.opts.records.set(env.id, step.id, rec);
      } finally {
        this.#running.delete(key);
      }
      this.opts.onChange?.(sessionId, labId, status(step, rec));
    })();
    this.#running.set(key, job);
    job.catch((e: unknown) => log.error({ err: e }, 'could not record the step setup'));
    const s = status(step, running);
    this.opts.onChange?.(sessionId, labId, s);
    return s;
  }
}
