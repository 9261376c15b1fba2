// Catch-up: the instructor brings an attendee (or the whole room) to step N. Each step before N that
// is not done is prepared (its setup), its solve blocks run as root over the server's own SSH
// connection (bash -e, as `labwright test` replays them), and its checks must then pass; it is marked
// done as *replayed*. The first step whose solution fails or whose checks stay red stops it, and the
// dashboard says which and why. The attendee's pages get their progress as each step passes.
import type { CatchUpOutcome, CatchUpStatus } from '../../common/catch-up.ts';
import type { Lab } from '../../common/lab.ts';
import type { Environment } from '../../provisioning/provider.ts';
import { runStepChecks } from '../checks/check-engine.ts';
import type { CheckTarget } from '../checks/check-target.ts';
import type { StepSetups } from '../checks/setup-service.ts';
import { execSolves } from '../checks/solve-runner.ts';
import type { Logger } from '../log.ts';
import type { ProgressStore } from '../progress/progress-store.ts';
import type { DurableStore } from '../store/durable-store.ts';
import type { SessionRecord } from '../store/sqlite-session-store.ts';

export class CatchUpError extends Error {
  override name = 'CatchUpError';
  constructor(
    readonly code: 'not-found' | 'workshop-ended' | 'bad-request',
    message: string,
  ) {
    super(message);
  }
}

export interface CatchUpDeps {
  store: DurableStore;
  /** The lab version this session works on (a workshop's pinned version). */
  lab(sessionId: string, labId: string): Lab | undefined;
  /** The attendee's ready environment, or undefined. */
  environment(sessionId: string, labId: string): Environment | undefined;
  target(env: Environment): CheckTarget;
  setups: StepSetups;
  /** Progress as the checks keep it (observed: the dashboard hears of every step done). */
  progress: ProgressStore;
  /** The attendee's pages get their progress again. */
  refreshPages(sessionId: string): Promise<void>;
  /** The session's catch-up changed state: the dashboard is told. */
  onChange(sessionId: string): void;
  log: Logger;
  /** How long a replayed step's checks are retried for while its solution takes effect. */
  settleMs?: number;
}

const MAX_MESSAGE = 300;
const short = (s: string): string => (s.length > MAX_MESSAGE ? `${s.slice(0, MAX_MESSAGE - 1)}…` : s);

export class CatchUpService {
  readonly #status = new Map<string, CatchUpStatus>();
  readonly #jobs = new Set<Promise<void>>();
  /** Bumped by forget (a reset): a replay still running for the old hosts no longer reports. */
  readonly #generation = new Map<string, number>();
  #closed = false;

  constructor(private readonly deps: CatchUpDeps) {}

  /** Whether a catch-up running now replays (or already replayed) step `step` (0-based) of the session: it takes every step before its target. */
  replays(sessionId: string, step: number): boolean {
    const s = this.#status.get(sessionId);
    return s?.state === 'running' && step < s.toStep;
  }

  /** Where the session's last catch-up stands, for its dashboard row. */
  statusOf(sessionId: string): CatchUpStatus | undefined {
    return this.#status.get(sessionId);
  }

  /**
   * Starts bringing one attendee of the workshop (or every attendee) to step `toStep` (1-based, as
   * the page numbers steps: the steps before it get done). Resolves once each has started or been
   * refused; the replays go on in the background.
   */
  start(workshopId: string, toStep: number, attendeeId?: string): CatchUpOutcome[] {
    const w = this.deps.store.workshops.get(workshopId);
    if (!w) throw new CatchUpError('not-found', 'no such workshop');
    if (w.endedAt !== undefined || w.expiresAt <= Date.now()) throw new CatchUpError('workshop-ended', 'this workshop has ended');
    let targets: SessionRecord[];
    if (attendeeId === undefined) targets = this.deps.store.sessions.attendeesOf(w.id);
    else {
      const a = this.deps.store.sessions.attendeeOf(w.id, attendeeId);
      if (!a) throw new CatchUpError('not-found', 'no such attendee in this workshop');
      targets = [a];
    }
    return targets.map((a) => this.#startOne(a, w.labId, toStep - 1));
  }

  #startOne(a: SessionRecord, labId: string, to: number): CatchUpOutcome {
    const who = { attendee: a.attendeeId ?? '', name: a.displayName ?? '' };
    const refuse = (message: string): CatchUpOutcome => ({ ...who, ok: false, message });
    const lab = this.deps.lab(a.id, labId);
    if (!lab) return refuse('the lab cannot be loaded now');
    if (to < 1 || to > lab.steps.length) throw new CatchUpError('bad-request', `step: bring attendees to a step from 2 to ${lab.steps.length + 1} (${lab.steps.length + 1}: every step done)`);
    if (this.#status.get(a.id)?.state === 'running') return refuse('a catch-up is already running for them');
    const env = this.deps.environment(a.id, labId);
    if (!env) return refuse('their hosts are not ready');
    const done = new Set(this.deps.store.progress.getSync(a.id, labId).done.map((d) => d.stepId));
    const todo = lab.steps.slice(0, to).filter((s) => !done.has(s.id));
    if (todo.length === 0) return refuse(`they are at step ${to + 1} or past it already`);
    const noSolution = todo.find((s) => s.solves.length === 0 && s.checks.length > 0);
    if (noSolution) return refuse(`step ${noSolution.index + 1} has no solution to replay`);
    this.#set(a.id, { toStep: to, state: 'running', step: todo[0]?.index ?? 0, at: Date.now() });
    const job = this.#run(a, lab, env, to, todo.map((s) => s.index))
      .catch((e: unknown) => {
        this.deps.log.error({ err: e, attendee: a.attendeeId }, 'catch-up failed unexpectedly');
        this.#set(a.id, { toStep: to, state: 'failed', message: 'unexpected error (see the server log)', at: Date.now() });
      })
      .finally(() => this.#jobs.delete(job));
    this.#jobs.add(job);
    return { ...who, ok: true, message: `replaying ${todo.length} step${todo.length === 1 ? '' : 's'} (to step ${to + 1})` };
  }

  async #run(a: SessionRecord, lab: Lab, env: Environment, to: number, steps: number[]): Promise<void> {
    const log = this.deps.log.child({ attendee: a.attendeeId, lab: lab.id, env: env.id });
    const gen = this.#generation.get(a.id) ?? 0;
    const current = (): boolean => !this.#closed && (this.#generation.get(a.id) ?? 0) === gen;
    const target = this.deps.target(env);
    const fail = (step: number, message: string): void => {
      if (!current()) return;
      log.warn({ step: step + 1, message }, 'catch-up stopped');
      this.#set(a.id, { toStep: to, state: 'failed', step, message: short(message), at: Date.now() });
    };
    log.info({ steps: steps.map((s) => s + 1), to: to + 1 }, 'catch-up started');
    for (const i of steps) {
      if (!current()) return;
      const step = lab.steps[i];
      if (!step) return fail(i, 'the step is gone from the lab');
      this.#set(a.id, { toStep: to, state: 'running', step: i, at: Date.now() });
      const setup = await this.deps.setups.prepare(a.id, lab.id, env, step);
      if (setup?.state === 'failed') return fail(i, `its setup failed${setup.host ? ` on ${setup.host}` : ''}: ${setup.reason ?? ''}`);
      const solved = await execSolves(target, step.solves);
      const bad = solved.find((s) => !s.ok);
      if (bad) return fail(i, `its solution failed on ${bad.host} (line ${bad.line}): ${bad.detail}${bad.stderr.trim() ? ` — ${bad.stderr.trim().split('\n').at(-1) ?? ''}` : ''}`);
      let report = await runStepChecks(target, step);
      const until = Date.now() + (this.deps.settleMs ?? 15_000);
      while (!report.passed && Date.now() < until && !this.#closed) {
        await new Promise((r) => setTimeout(r, 500));
        report = await runStepChecks(target, step);
      }
      if (!current()) return;
      if (!report.passed) return fail(i, `its checks still fail after the solution: ${report.results.find((r) => r.status !== 'pass')?.message ?? 'no result'}`);
      await this.deps.progress.markDone(a.id, lab.id, { stepId: step.id, at: report.at, skipped: false, replayed: true });
      await this.deps.refreshPages(a.id).catch((e: unknown) => log.warn({ err: e }, 'progress after a replayed step not sent'));
    }
    if (!current()) return;
    log.info({ to: to + 1 }, 'catch-up done');
    this.#set(a.id, { toStep: to, state: 'done', at: Date.now() });
  }

  /** An attendee was reset: a catch-up of the old hosts no longer applies. */
  forget(sessionId: string): void {
    this.#generation.set(sessionId, (this.#generation.get(sessionId) ?? 0) + 1);
    if (this.#status.delete(sessionId)) this.deps.onChange(sessionId);
  }

  /** Stops after the step each catch-up is on; resolves when they have. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#jobs]);
  }

  #set(sessionId: string, s: CatchUpStatus): void {
    this.#status.set(sessionId, s);
    this.deps.onChange(sessionId);
  }
}
