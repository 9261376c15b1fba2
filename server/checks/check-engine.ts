// The check engine: evaluates one check (dispatching on its kind, under its timeout) or all
// checks of a step in parallel. It never throws: every outcome is a CheckResult.
import type { CheckKind, CheckResult, CheckSpec, StepReport } from '../../common/checks.ts';
import { DEFAULT_CHECK_TIMEOUT_MS } from '../../common/checks.ts';
import type { CheckTarget, EvalContext } from './check-target.ts';
import { evalCommand } from './kinds/command-check.ts';
import { evalContainer } from './kinds/container-check.ts';
import { evalEtcd } from './kinds/etcd-check.ts';
import { evalEtcdCluster } from './kinds/etcd-cluster-check.ts';
import { evalFile } from './kinds/file-check.ts';
import { evalHttp } from './kinds/http-check.ts';
import { evalNode } from './kinds/node-check.ts';
import { evalOverlay } from './kinds/overlay-check.ts';
import { evalService } from './kinds/service-check.ts';
import { evalUnit } from './kinds/unit-check.ts';
import { describedResult, errorText } from './outcome.ts';
import { deadline } from './deadline.ts';

/**
 * Grace after the deadline before the engine gives up on an evaluator: the evaluators pass the
 * deadline to SSH and fetch themselves and report per host; this backstop catches anything that
 * ignores it (e.g. an etcd call retrying against dead members).
 */
const BACKSTOP_GRACE_MS = 250;

function dispatch(target: CheckTarget, check: CheckSpec, ctx: EvalContext): Promise<CheckResult[]> {
  switch (check.kind) {
    case 'etcd':
      return evalEtcd(target, check.spec);
    case 'overlay':
      return evalOverlay(target, check.spec, ctx);
    case 'unit':
      return evalUnit(target, check.spec, ctx);
    case 'container':
      return evalContainer(target, check.spec, ctx);
    case 'http':
      return evalHttp(target, check.spec, ctx);
    case 'command':
      return evalCommand(target, check.spec, ctx);
    case 'file':
      return evalFile(target, check.spec, ctx);
    case 'etcd-cluster':
      return evalEtcdCluster(target, check.spec, ctx);
    case 'service':
      return evalService(target, check.spec, ctx);
    case 'node':
      return evalNode(target, check.spec, ctx);
  }
}

/**
 * Kinds whose default deadline is longer than DEFAULT_CHECK_TIMEOUT_MS: the swarm checks run the
 * docker CLI against the manager's Raft store, which answers in a fraction of a second on an idle
 * host but took over 5 s on a loaded one.
 */
const KIND_TIMEOUT_MS: Partial<Record<CheckKind, number>> = { service: 15_000, node: 15_000 };

/** A short label for a check when no evaluator got to say more (timeout, crash). */
export function checkLabel(check: CheckSpec): string {
  const s = check.spec as Record<string, unknown>;
  const name = s.key ?? s.prefix ?? s.name ?? s.image ?? s.url ?? s.path ?? s.run ?? s.network;
  return typeof name === 'string' ? `${check.kind} ${name}` : check.kind;
}

const errorResult = (kind: CheckKind, subject: string, actual: string, durationMs: number): CheckResult => ({
  status: 'error',
  kind,
  subject,
  expected: 'an answer',
  actual,
  message: `could not check ${subject}: ${actual}`,
  durationMs: Math.round(durationMs),
});

export interface RunCheckOptions {
  /** Cancels the check (e.g. the connection closed); reported as an error result. */
  signal?: AbortSignal;
}

/** The regexes of a check, which a described check's results must not show. */
function checkPatterns(check: CheckSpec): string[] {
  const s = check.spec as Record<string, unknown>;
  return [s.matches, s.stdout, s.body].filter((x): x is string => typeof x === 'string');
}

/**
 * Evaluates one check under its timeout (spec.timeout or DEFAULT_CHECK_TIMEOUT_MS). Never rejects.
 * A check with a description reports under it, without its raw command or regex.
 */
export async function runCheck(target: CheckTarget, check: CheckSpec, opts: RunCheckOptions = {}): Promise<CheckResult[]> {
  const results = await evaluate(target, check, opts);
  const { description } = check;
  if (description === undefined) return results;
  const raw = { patterns: checkPatterns(check) };
  return results.map((r) => describedResult(r, description, raw));
}

async function evaluate(target: CheckTarget, check: CheckSpec, opts: RunCheckOptions = {}): Promise<CheckResult[]> {
  const timeoutMs = check.spec.timeout ?? KIND_TIMEOUT_MS[check.kind] ?? DEFAULT_CHECK_TIMEOUT_MS;
  // Cleared once the evaluator has answered (an automatic re-check runs every few seconds per
  // attendee). Not when it failed: work it left behind (another host's command) still ends on time.
  const due = deadline(timeoutMs, opts.signal);
  const { signal } = due;
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const backstop = new Promise<CheckResult[]>((resolve) => {
    timer = setTimeout(() => resolve([errorResult(check.kind, checkLabel(check), `no answer within ${timeoutMs} ms`, performance.now() - start)]), timeoutMs + BACKSTOP_GRACE_MS);
  });
  try {
    const answered = dispatch(target, check, { signal, timeoutMs }).then((r) => {
      due.clear();
      return r;
    });
    return await Promise.race([answered, backstop]);
  } catch (e) {
    return [errorResult(check.kind, checkLabel(check), `internal error: ${errorText(e)}`, performance.now() - start)];
  } finally {
    clearTimeout(timer);
  }
}

/** Runs all checks of a step in parallel; the step passes when every result passes. */
export async function runStepChecks(target: CheckTarget, step: { index: number; checks: readonly CheckSpec[] }, opts: RunCheckOptions = {}): Promise<StepReport> {
  const results = (await Promise.all(step.checks.map((c) => runCheck(target, c, opts)))).flat();
  return { step: step.index, passed: results.every((r) => r.status === 'pass'), results, at: Date.now() };
}
