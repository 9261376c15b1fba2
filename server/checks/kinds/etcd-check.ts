// `etcd` check over the etcd v3 API: a key exists / equals / matches / is absent, or a prefix
// holds at least N keys. Cluster-wide, so its result names no host.
import type { CheckResult, etcdCheck } from '../../../common/checks.ts';
import type { z } from 'zod';
import { linearRegex } from '../../../common/linear-regex.ts';
import type { CheckTarget } from '../check-target.ts';
import type { Described } from '../outcome.ts';
import { errorText, patternText, toResult } from '../outcome.ts';

type EtcdSpec = z.output<typeof etcdCheck>;

const quoted = (v: string): string => JSON.stringify(v.length > 80 ? `${v.slice(0, 79)}…` : v);

function describe(spec: EtcdSpec): Described {
  if (spec.prefix !== undefined) {
    const n = spec.count ?? 1;
    return { kind: 'etcd', subject: `etcd prefix ${spec.prefix}`, expected: `at least ${n} key${n === 1 ? '' : 's'}`, verb: 'has' };
  }
  const expected = spec.absent ? 'absent' : spec.equals !== undefined ? quoted(spec.equals) : spec.matches !== undefined ? `matching ${patternText(spec.matches)}` : 'present';
  return { kind: 'etcd', subject: `etcd key ${spec.key ?? ''}`, expected };
}

async function judge(target: CheckTarget, spec: EtcdSpec): Promise<{ pass: boolean; actual: string }> {
  const etcd = target.etcd();
  if (spec.prefix !== undefined) {
    const n = await etcd.countPrefix(spec.prefix);
    return { pass: n >= (spec.count ?? 1), actual: `${n} key${n === 1 ? '' : 's'}` };
  }
  const value = await etcd.get(spec.key ?? '');
  if (value === null) return { pass: spec.absent === true, actual: 'absent' };
  if (spec.absent) return { pass: false, actual: `present (${quoted(value)})` };
  if (spec.equals !== undefined) return { pass: value === spec.equals, actual: quoted(value) };
  if (spec.matches !== undefined) return { pass: linearRegex(spec.matches).test(value), actual: quoted(value) };
  return { pass: true, actual: `present (${quoted(value)})` };
}

export async function evalEtcd(target: CheckTarget, spec: EtcdSpec): Promise<CheckResult[]> {
  const d = describe(spec);
  const start = performance.now();
  try {
    const r = await judge(target, spec);
    return [toResult(d, { status: r.pass ? 'pass' : 'fail', actual: r.actual, durationMs: performance.now() - start })];
  } catch (e) {
    return [toResult(d, { status: 'error', actual: `etcd is not answering: ${errorText(e)}`, durationMs: performance.now() - start })];
  }
}
