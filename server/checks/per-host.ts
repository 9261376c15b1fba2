// Shared shape of the host-side kinds (unit, container, command, file, http from a host): resolve
// the selector, probe every selected host in parallel, combine the outcomes.
import type { CheckResult, HostSelector } from '../../common/checks.ts';
import type { CheckTarget } from './check-target.ts';
import { combineOutcomes, resolveSelector } from './host-selector.ts';
import type { Described } from './outcome.ts';
import { probeHost, toResult } from './outcome.ts';

export type HostProbe = (host: string) => Promise<{ pass: boolean; actual: string }>;

export async function checkOnHosts(target: CheckTarget, on: HostSelector, d: Described, probe: HostProbe): Promise<CheckResult[]> {
  const sel = resolveSelector(
    on,
    target.hosts.map((h) => h.name),
  );
  if (typeof sel === 'string') return [toResult(d, { status: 'error', actual: sel, durationMs: 0 })];
  const outcomes = await Promise.all(sel.hosts.map((h) => probeHost(h, () => probe(h))));
  return combineOutcomes(sel, d, outcomes);
}

/** First line of a command's error output, for an `actual` that fits in one sentence. */
export const firstLine = (s: string): string => s.trim().split('\n')[0]?.trim() ?? '';
