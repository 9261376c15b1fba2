// `unit` check: the systemd state of a unit (ActiveState for active/failed/…, UnitFileState for
// enabled/disabled/…), read with `systemctl show` over SSH.
import type { CheckResult, unitCheck } from '../../../common/checks.ts';
import type { z } from 'zod';
import type { CheckTarget, EvalContext } from '../check-target.ts';
import { checkOnHosts } from '../per-host.ts';
import { shq } from '../../ssh/shell-quote.ts';

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
    if (props.get('LoadState') === 'not-found') return notFound(spec.state, props.get('ActiveState') ?? '');
    const value = props.get(field) || 'unknown';
    return { pass: value === spec.state, actual: value };
  });
}

/**
 * A unit with no unit file: systemd answers ActiveState=inactive, LoadState=not-found and an empty
 * UnitFileState. A removed (or never installed) unit is neither running nor enabled, so it meets
 * `inactive` and `disabled`, and nothing else. A unit whose file was removed while it still runs
 * keeps its ActiveState, so `inactive` still fails for it.
 */
function notFound(expected: UnitSpec['state'], activeState: string): { pass: boolean; actual: string } {
  const stillRunning = activeState !== '' && activeState !== 'inactive';
  const actual = stillRunning ? `${activeState} (not found)` : 'not found';
  const pass = expected === 'disabled' || (expected === 'inactive' && !stillRunning);
  return { pass, actual };
}
