// `service` check: where a swarm service's tasks really run, as its manager schedules them — how
// many run and wait, and per host how many (at most N, all on one host, on every host, none on one).
import type { CheckResult, serviceCheck } from '../../../common/checks.ts';
import type { z } from 'zod';
import type { CheckTarget, EvalContext } from '../check-target.ts';
import type { Described } from '../outcome.ts';
import { errorText, toResult } from '../outcome.ts';
import type { SwarmTask } from './swarm-read.ts';
import { isPending, isRunning, managerOf, readTasks } from './swarm-read.ts';

type ServiceSpec = z.output<typeof serviceCheck>;

/** How many of the service's tasks a host may run: at least `min`, at most `max`. */
interface Bounds {
  min: number;
  max: number;
}

const tasks = (n: number): string => `${n} task${n === 1 ? '' : 's'}`;

function boundsText(b: Bounds): string {
  if (b.max === 0) return 'no task';
  if (b.min === b.max) return tasks(b.min);
  if (b.max === Infinity) return `at least ${tasks(b.min)}`;
  if (b.min === 0) return `at most ${tasks(b.max)}`;
  return `${b.min} to ${tasks(b.max)}`;
}

/** Per host, what the spec asks of it; hosts the spec says nothing about are left out. */
export function hostBounds(spec: ServiceSpec, hosts: readonly string[]): Map<string, Bounds> {
  const m = new Map<string, Bounds>();
  const tighten = (h: string, min: number, max: number): void => {
    const b = m.get(h) ?? { min: 0, max: Infinity };
    m.set(h, { min: Math.max(b.min, min), max: Math.min(b.max, max) });
  };
  const perHost = spec['per-host-max'];
  if (perHost !== undefined) for (const h of hosts) tighten(h, 0, perHost);
  if (spec.on === 'all') for (const h of hosts) tighten(h, 1, Infinity);
  else if (typeof spec.on === 'string' && spec.on !== 'any') for (const h of hosts) tighten(h, h === spec.on ? 1 : 0, h === spec.on ? Infinity : 0);
  if (spec['not-on'] !== undefined) tighten(spec['not-on'], 0, 0);
  return m;
}

/** The cluster-wide verdicts: running/pending counts, and `on: any | N` (how many hosts). */
function clusterResults(spec: ServiceSpec, subject: string, all: SwarmTask[], durationMs: number): CheckResult[] {
  const running = all.filter(isRunning);
  const pending = all.filter(isPending);
  const other = all.length - running.length - pending.length;
  const results: CheckResult[] = [];
  const wantRunning = spec.running === undefined ? `at least 1 running` : `${spec.running} running`;
  const expected = spec.pending === undefined ? `${wantRunning} task${spec.running === 1 ? '' : 's'}` : `${wantRunning} and ${spec.pending} pending`;
  const why = pending.find((t) => t.error !== '')?.error;
  const actual = [`${running.length} running`, `${pending.length} pending${why ? ` (${why})` : ''}`, ...(other > 0 ? [`${other} starting`] : [])].join(', ');
  const runningOk = spec.running === undefined ? running.length >= 1 : running.length === spec.running;
  const pendingOk = spec.pending === undefined || pending.length === spec.pending;
  const d: Described = { kind: 'service', subject, expected, verb: 'has' };
  results.push(toResult(d, { status: runningOk && pendingOk ? 'pass' : 'fail', actual, durationMs }));
  if (typeof spec.on === 'number') {
    const hosts = [...new Set(running.map((t) => t.node))].sort();
    const dn: Described = { kind: 'service', subject, expected: `tasks on exactly ${spec.on} host${spec.on === 1 ? '' : 's'}`, verb: 'has' };
    const where = `tasks on ${hosts.length} host${hosts.length === 1 ? '' : 's'}${hosts.length > 0 ? ` (${hosts.join(', ')})` : ''}`;
    results.push(toResult(dn, { status: hosts.length === spec.on ? 'pass' : 'fail', actual: where, durationMs }));
  }
  return results;
}

export async function evalService(target: CheckTarget, spec: ServiceSpec, ctx: EvalContext): Promise<CheckResult[]> {
  const subject = `service ${spec.name}`;
  const manager = managerOf(target, spec.from);
  const start = performance.now();
  const elapsed = (): number => performance.now() - start;
  let answer;
  try {
    answer = await readTasks(target, manager, spec.name, ctx);
  } catch (e) {
    return [toResult({ kind: 'service', subject, expected: 'an answer from the manager' }, { status: 'error', actual: errorText(e), durationMs: elapsed(), host: manager })];
  }
  if (!answer.ok) {
    return [toResult({ kind: 'service', subject, expected: 'running tasks' }, { status: 'fail', actual: `unknown: ${answer.why}`, durationMs: elapsed() })];
  }
  const results = clusterResults(spec, subject, answer.rows, elapsed());
  const running = answer.rows.filter(isRunning);
  for (const [host, b] of hostBounds(spec, target.hosts.map((h) => h.name))) {
    const here = running.filter((t) => t.node === host);
    const n = here.length;
    const names = n > 0 ? ` (${here.map((t) => t.name.replace(/\.[a-z0-9]{25}$/, '')).sort().join(', ')})` : '';
    const d: Described = { kind: 'service', subject, expected: boundsText(b), verb: 'runs' };
    results.push(toResult(d, { status: n >= b.min && n <= b.max ? 'pass' : 'fail', actual: `${tasks(n)}${names}`, durationMs: elapsed(), host }));
  }
  return results;
}
