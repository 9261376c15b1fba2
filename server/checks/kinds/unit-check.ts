// `unit` check: the systemd state of a unit (ActiveState for active/failed/…, UnitFileState for
// enabled/disabled/…), read with `systemctl show` over SSH.
import type { CheckResult, unitCheck } from '../../../common/checks.ts';
import type { z } from 'zod';
import type { CheckTarget, EvalContext } from '../check-target.ts';
import { checkOnHosts } from '../per-host.ts';
import { shq } from '../shell-quote.ts';

type UnitSpec = z.output<typeof unitCheck>;

const ACTIVE_STATES = new Set(['active', 'inactive', 'failed', 'activating']);

/** Parses `Key=Value` lines of `systemctl show`. */
export function parseShow(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of out.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return m;
}

export function evalUnit(target: CheckTarget, spec: UnitSpec, ctx: EvalContext): Promise<CheckResult[]> {
  const field = ACTIVE_STATES.has(spec.state) ? 'ActiveState' : 'UnitFileState';
  const d = { kind: 'unit' as const, subject: `unit ${spec.name}`, expected: spec.state };
  const cmd = `systemctl show -p ActiveState -p UnitFileState -p LoadState -- ${shq(spec.name)}`;
  return checkOnHosts(target, spec.on, d, async (host) => {
    const r = await target.exec(host, cmd, { timeoutMs: ctx.timeoutMs, signal: ctx.signal });
    const props = parseShow(r.stdout);
    if (r.code !== 0 && props.size === 0) throw new Error(`systemctl failed: ${r.stderr.trim() || `exit ${r.code}`}`);
    const load = props.get('LoadState') ?? '';
    const value = props.get(field) || 'unknown';
    const actual = load === 'not-found' ? `${value} (not found)` : value;
    return { pass: value === spec.state && load !== 'not-found', actual };
  });
}
