// The lab tester behind `labwright test`: on fresh hosts, for every step in order, its setup blocks
// run (as the server runs them when the step opens), its checks must not pass yet, its solve blocks must run, and then its checks must pass. Stops at the first
// failing step (later steps build on it) and always tears the hosts down unless asked to keep them.
// With `asAttendee`, the step's run blocks are typed into its terminals instead of running its
// solutions: the proof that the text alone, followed by clicking Run, unlocks every step.
import type { StepReport } from '../../common/checks.ts';
import type { Lab, Step } from '../../common/lab.ts';
import type { Environment, Provider } from '../../provisioning/provider.ts';
import { SshPool } from '../ssh/ssh-pool.ts';
import { runStepChecks } from './check-engine.ts';
import type { CheckTarget } from './check-target.ts';
import { EtcdClients, WarmShells, environmentTarget } from './env-target.ts';
import { AttendeeWalk } from './attendee-walk.ts';
import { errorText } from './outcome.ts';
import type { FaultTestResult } from './fault-tester.ts';
import { testFaults } from './fault-tester.ts';
import type { SolveOutcome } from './solve-runner.ts';
import { execSolves } from './solve-runner.ts';
import { runStepSetup } from './step-setup.ts';

export type StepVerdict = 'pass' | 'fail' | 'not-run';

export interface StepTestResult {
  step: number;
  title: string;
  line: number;
  verdict: StepVerdict;
  /** Why the step failed, in one line; absent when it passed. */
  problem?: string;
  /** The step's setup blocks, run first (as the server does when the step opens). */
  setups: SolveOutcome[];
  /** The checks before the solve (they must not all pass). */
  before?: StepReport;
  solves: SolveOutcome[];
  /** The last check after the solve (it must pass). */
  after?: StepReport;
  timings: { beforeMs: number; solveMs: number; afterMs: number };
  /** The step's faults, fired and repaired once it passed (see fault-tester.ts). */
  faults?: FaultTestResult[];
}

export interface LabTestResult {
  labId: string;
  file: string;
  ok: boolean;
  /** Provisioning failure or the like: the lab could not be tested at all. */
  problem?: string;
  provisionMs: number;
  steps: StepTestResult[];
  /** Present when the hosts were kept (--keep); never the private key itself, only its path. */
  kept?: Pick<Environment, 'id' | 'hosts' | 'privateKeyPath'>;
}

export type TestEvent =
  | { type: 'provisioning'; hosts: string[] }
  | { type: 'provisioned'; env: Environment; ms: number }
  | { type: 'step'; result: StepTestResult }
  | { type: 'teardown' };

export interface LabTestOptions {
  provider: Provider;
  keep?: boolean;
  /** How long the checks after a solve are retried for (eventual consistency: units starting, leases). */
  settleMs?: number;
  /** Type the run blocks into the terminals, as an attendee clicking Run would, instead of the solves. */
  asAttendee?: boolean;
  onEvent?: (e: TestEvent) => void;
  signal?: AbortSignal;
}

const DEFAULT_SETTLE_MS = 10_000;
/** Typed commands may still be at work when the last block "ends" (a unit starting, a watch firing). */
const ATTENDEE_SETTLE_MS = 30_000;

/** How a step's work gets done: its solves run, or its run blocks typed. */
export interface StepReplay {
  run(step: Step): Promise<SolveOutcome[]>;
  /** The report's words for a block that failed. */
  failure(o: SolveOutcome): string;
  /** After the step passed: tidy up as the attendee would before the next step. */
  after?(): Promise<void>;
}

export const solveReplay = (target: CheckTarget): StepReplay => ({
  run: (step) => execSolves(target, step.solves),
  failure: (o) => `solve on ${o.host} (line ${o.line}) failed: ${o.detail}`,
});

export function attendeeReplay(target: CheckTarget): StepReplay {
  const walk = new AttendeeWalk(target);
  return {
    run: (step) => walk.replay(step),
    failure: (o) => `typing into ${o.host}'s terminal: ${o.detail}`,
    after: async () => void (await walk.stopWhatRuns()),
  };
}
const RETRY_EVERY_MS = 300;
/** How often, and how far apart, a check that errs before the solution is asked again. */
const BEFORE_ERROR_RETRIES = 3;
const BEFORE_ERROR_PAUSE_MS = 2000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const failedResults = (r: StepReport): string =>
  r.results.filter((x) => x.status !== 'pass').map((x) => (x.description === undefined ? x.message : `${x.description}: ${x.message}`)).join('; ');

/**
 * Tests one step on an environment that has gone through all earlier steps. `file` names the lab
 * file in the problem of a failed setup block (file:line).
 */
export async function testStep(target: CheckTarget, step: Step, settleMs = DEFAULT_SETTLE_MS, replay: StepReplay = solveReplay(target), file = 'lab.md'): Promise<StepTestResult> {
  const res: StepTestResult = { step: step.index, title: step.title, line: step.line, verdict: 'fail', solves: [], setups: [], timings: { beforeMs: 0, solveMs: 0, afterMs: 0 } };
  let t = performance.now();
  if (step.setups.length > 0) {
    const setup = await runStepSetup(target, step);
    res.setups = setup.blocks;
    if (!setup.ok) {
      res.problem = `setup block at ${file}:${setup.line} failed on ${setup.host}: ${setup.reason}${setup.output ? `: ${setup.output.split('\n').slice(-5).join(' | ')}` : ''}`;
      return res;
    }
  }
  if (step.checks.length > 0) {
    res.before = await runStepChecks(target, step);
    // A check that could not be evaluated (a host slow to answer on a loaded machine) is asked
    // again a few times before it counts: only a lasting error says something about the lab.
    for (let retry = 0; retry < BEFORE_ERROR_RETRIES && !res.before.passed && res.before.results.some((r) => r.status === 'error'); retry++) {
      await sleep(BEFORE_ERROR_PAUSE_MS);
      res.before = await runStepChecks(target, step);
    }
    res.timings.beforeMs = performance.now() - t;
    if (res.before.passed) {
      res.problem = 'its checks already pass before the solution ran (the step would unlock by itself)';
      return res;
    }
    const errors = res.before.results.filter((r) => r.status === 'error');
    if (errors.length > 0) {
      res.problem = `a check could not be evaluated before the solution ran: ${errors.map((e) => e.message).join('; ')}`;
      return res;
    }
  }
  t = performance.now();
  res.solves = await replay.run(step);
  res.timings.solveMs = performance.now() - t;
  const broken = res.solves.find((s) => !s.ok);
  if (broken) {
    const why = broken.stderr.trim().split('\n').slice(-3).join(' | ');
    res.problem = `${replay.failure(broken)}${why ? `: ${why}` : ''}`;
    return res;
  }
  if (step.checks.length === 0) {
    res.verdict = 'pass';
    await replay.after?.();
    return res;
  }
  t = performance.now();
  const until = Date.now() + settleMs;
  let after = await runStepChecks(target, step);
  while (!after.passed && Date.now() < until) {
    await sleep(RETRY_EVERY_MS);
    after = await runStepChecks(target, step);
  }
  res.after = after;
  res.timings.afterMs = performance.now() - t;
  if (!after.passed) {
    res.problem = `checks still fail after the solution ran: ${failedResults(after)}`;
    return res;
  }
  res.verdict = 'pass';
  await replay.after?.();
  return res;
}

export async function testLab(lab: Lab, opts: LabTestOptions): Promise<LabTestResult> {
  const result: LabTestResult = { labId: lab.id, file: lab.file, ok: false, provisionMs: 0, steps: [] };
  const emit = opts.onEvent ?? (() => undefined);
  const start = performance.now();
  emit({ type: 'provisioning', hosts: lab.meta.hosts });
  let env: Environment;
  try {
    const createOpts = opts.signal ? { signal: opts.signal } : {};
    env = await opts.provider.create({ hosts: lab.meta.hosts, services: lab.meta.services, owner: `labwright test ${lab.id}`, ...(lab.meta.vm ? { vm: true } : {}) }, createOpts);
  } catch (e) {
    result.problem = `could not provision hosts: ${errorText(e)}`;
    return result;
  }
  result.provisionMs = performance.now() - start;
  emit({ type: 'provisioned', env, ms: result.provisionMs });
  const pool = new SshPool();
  const etcd = new EtcdClients();
  const warm = new WarmShells();
  try {
    const target = environmentTarget(env, pool, etcd, warm);
    const replay = opts.asAttendee ? attendeeReplay(target) : solveReplay(target);
    const settleMs = opts.settleMs ?? (opts.asAttendee ? ATTENDEE_SETTLE_MS : DEFAULT_SETTLE_MS);
    let failed = false;
    for (const step of lab.steps) {
      if (failed || opts.signal?.aborted) {
        const skipped: StepTestResult = { step: step.index, title: step.title, line: step.line, verdict: 'not-run', solves: [], setups: [], timings: { beforeMs: 0, solveMs: 0, afterMs: 0 } };
        result.steps.push(skipped);
        emit({ type: 'step', result: skipped });
        continue;
      }
      const r = await testStep(target, step, settleMs, replay, lab.file);
      const faults = lab.faults.filter((f) => f.step === step.index);
      if (r.verdict === 'pass' && faults.length > 0) {
        r.faults = await testFaults(target, step, faults, lab.file, settleMs);
        const bad = r.faults.find((f) => !f.ok);
        if (bad) {
          r.verdict = 'fail';
          r.problem = bad.problem ?? `fault "${bad.name}" failed`;
        }
      }
      result.steps.push(r);
      emit({ type: 'step', result: r });
      failed = r.verdict !== 'pass';
    }
    result.ok = !failed && !opts.signal?.aborted;
    if (opts.signal?.aborted) result.problem = 'interrupted';
  } finally {
    etcd.closeAll();
    warm.closeAll();
    pool.closeAll();
    if (opts.keep) result.kept = { id: env.id, hosts: env.hosts, privateKeyPath: env.privateKeyPath };
    else {
      emit({ type: 'teardown' });
      await opts.provider.destroy(env);
    }
  }
  return result;
}
