// Host selectors of a check (`on: host1 | all | any | N`): which hosts to probe, and how the
// per-host outcomes combine into results (every host must pass, one is enough, exactly N).
import type { CheckResult, HostSelector } from '../../common/checks.ts';
import type { Described, HostOutcome } from './outcome.ts';
import { toResult } from './outcome.ts';

export type ResolvedSelector =
  | { mode: 'one'; hosts: [string] }
  | { mode: 'all'; hosts: string[] }
  | { mode: 'any'; hosts: string[] }
  | { mode: 'exactly'; n: number; hosts: string[] };

/** Resolves a selector against the environment's host names; an unknown host name is an error string. */
export function resolveSelector(sel: HostSelector, hostNames: readonly string[]): ResolvedSelector | string {
  if (typeof sel === 'number') return { mode: 'exactly', n: sel, hosts: [...hostNames] };
  if (sel === 'all') return { mode: 'all', hosts: [...hostNames] };
  if (sel === 'any') return { mode: 'any', hosts: [...hostNames] };
  if (!hostNames.includes(sel)) return `no host named "${sel}" in this environment (hosts: ${hostNames.join(', ')})`;
  return { mode: 'one', hosts: [sel] };
}

const plural = (n: number): string => (n === 1 ? '1 host' : `${n} hosts`);
const listed = (hosts: string[]): string => (hosts.length === 0 ? '' : ` (${hosts.join(', ')})`);
const sum = (xs: HostOutcome[]): number => xs.reduce((a, o) => Math.max(a, o.durationMs), 0);

/** Combines per-host outcomes into the check's results according to the selector. */
export function combineOutcomes(sel: ResolvedSelector, d: Described, outcomes: HostOutcome[]): CheckResult[] {
  const perHost = (): CheckResult[] => outcomes.map((o) => toResult(d, o));
  switch (sel.mode) {
    case 'one':
    case 'all':
      return perHost();
    case 'any': {
      const winner = outcomes.find((o) => o.status === 'pass');
      if (winner) return [toResult(d, winner)];
      // No host passes: show every host's state, so the attendee sees where it is closest.
      const anyHost: Described = { ...d, expected: `${d.expected} on any host` };
      return outcomes.map((o) => toResult(anyHost, o));
    }
    case 'exactly': {
      const passing = outcomes.filter((o) => o.status === 'pass').map((o) => o.host);
      const errors = outcomes.filter((o) => o.status === 'error');
      const p = passing.length;
      const e = errors.length;
      const counted: Described = { ...d, expected: `${d.expected} on exactly ${plural(sel.n)}` };
      const actual = `${d.expected} on ${plural(p)}${listed(passing)}`;
      const durationMs = sum(outcomes);
      // A host that could not be checked might pass or not: the count is known only if it cannot matter.
      if (p > sel.n) return [toResult(counted, { status: 'fail', actual, durationMs })];
      if (e > 0 && p + e >= sel.n) {
        return errors.map((o) => toResult(d, o));
      }
      return [toResult(counted, { status: p === sel.n ? 'pass' : 'fail', actual, durationMs })];
    }
  }
}
