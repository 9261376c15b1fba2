// `labwright test`'s proof of a lab's faults: once a fault's step passes, firing the fault must make
// that step's checks fail (else the instructor's dashboard would never see it), and running its
// repair must make them pass again (else "Repaired" would never show).
import type { StepReport } from '../../common/checks.ts';
import type { Fault, Step } from '../../common/lab.ts';
import { runStepChecks } from './check-engine.ts';
import type { CheckTarget } from './check-target.ts';
import { execSolves } from './solve-runner.ts';

export interface FaultTestResult {
  name: string;
  line: number;
  ok: boolean;
  /** Why it failed, naming file:line; absent when it passed. */
  problem?: string;
  timings: { fireMs: number; detectMs: number; repairMs: number; passMs: number };
}

const RETRY_EVERY_MS = 300;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const failing = (r: StepReport): string => r.results.filter((x) => x.status !== 'pass').map((x) => x.message).join('; ');
const lastLines = (s: string): string => s.trim().split('\n').slice(-3).join(' | ');

/** Runs the step's checks until `want` (pass or not) or the deadline; returns the last report. */
async function checksUntil(target: CheckTarget, step: Step, want: boolean, settleMs: number): Promise<StepReport> {
  const until = Date.now() + settleMs;
  let r = await runStepChecks(target, step);
  while (r.passed !== want && Date.now() < until) {
    await sleep(RETRY_EVERY_MS);
    r = await runStepChecks(target, step);
  }
  return r;
}

/** Fires each fault of a step that has just passed, then repairs it; stops at the first that fails. */
export async function testFaults(target: CheckTarget, step: Step, faults: readonly Fault[], file: string, settleMs: number): Promise<FaultTestResult[]> {
  const out: FaultTestResult[] = [];
  for (const f of faults) {
    const res: FaultTestResult = { name: f.name, line: f.line, ok: false, timings: { fireMs: 0, detectMs: 0, repairMs: 0, passMs: 0 } };
    out.push(res);
    const at = `${file}:${f.line}`;
    let t = performance.now();
    const [fired] = await execSolves(target, [{ host: f.host, code: f.code, line: f.line }]);
    res.timings.fireMs = performance.now() - t;
    if (!fired?.ok) {
      res.problem = `fault "${f.name}" (${at}) failed to run on ${f.host}: ${fired?.detail ?? 'not run'}${fired?.stderr ? `: ${lastLines(fired.stderr)}` : ''}`;
      break;
    }
    t = performance.now();
    const broken = await checksUntil(target, step, false, settleMs);
    res.timings.detectMs = performance.now() - t;
    if (broken.passed) {
      res.problem = `fault "${f.name}" (${at}) is not detected: step ${step.index + 1}'s checks still pass after it fired`;
      break;
    }
    t = performance.now();
    const [repaired] = await execSolves(target, [f.repair]);
    res.timings.repairMs = performance.now() - t;
    if (!repaired?.ok) {
      res.problem = `repair "${f.name}" (${file}:${f.repair.line}) failed on ${f.repair.host}: ${repaired?.detail ?? 'not run'}${repaired?.stderr ? `: ${lastLines(repaired.stderr)}` : ''}`;
      break;
    }
    t = performance.now();
    const again = await checksUntil(target, step, true, settleMs);
    res.timings.passMs = performance.now() - t;
    if (!again.passed) {
      res.problem = `repair "${f.name}" (${file}:${f.repair.line}) does not make step ${step.index + 1}'s checks pass again: ${failing(again)}`;
      break;
    }
    res.ok = true;
  }
  return out;
}
