import { describe, expect, it } from 'vitest';
import { combineOutcomes, resolveSelector } from './host-selector.ts';
import type { HostOutcome } from './outcome.ts';

const hosts = ['host0', 'host1', 'host2'];
const d = { kind: 'unit' as const, subject: 'unit web.service', expected: 'active' };
const o = (host: string, status: HostOutcome['status'], actual = status === 'pass' ? 'active' : status === 'fail' ? 'failed' : 'host1 is unreachable'): HostOutcome => ({
  host,
  status,
  actual,
  durationMs: 1,
});
const combine = (sel: Parameters<typeof resolveSelector>[0], outcomes: HostOutcome[]) => {
  const r = resolveSelector(sel, hosts);
  if (typeof r === 'string') throw new Error(r);
  return combineOutcomes(r, d, outcomes);
};

describe('host selectors', () => {
  it('resolves a name, all, any and N; an unknown host is reported, not guessed', () => {
    expect(resolveSelector('host1', hosts)).toEqual({ mode: 'one', hosts: ['host1'] });
    expect(resolveSelector('all', hosts)).toEqual({ mode: 'all', hosts });
    expect(resolveSelector('any', hosts)).toEqual({ mode: 'any', hosts });
    expect(resolveSelector(2, hosts)).toEqual({ mode: 'exactly', n: 2, hosts });
    expect(resolveSelector('host9', hosts)).toMatch(/no host named "host9"/);
  });

  it('all: one result per host with the sentence the attendee reads', () => {
    const r = combine('all', [o('host0', 'pass'), o('host1', 'fail'), o('host2', 'pass')]);
    expect(r.map((x) => x.status)).toEqual(['pass', 'fail', 'pass']);
    expect(r[1]!.message).toBe('host1: unit web.service is failed, expected active');
    expect(r[1]!.host).toBe('host1');
  });

  it('any: one passing host is enough; none passing shows every host', () => {
    expect(combine('any', [o('host0', 'fail'), o('host1', 'pass'), o('host2', 'error')])).toMatchObject([{ status: 'pass', host: 'host1' }]);
    const none = combine('any', [o('host0', 'fail'), o('host1', 'fail'), o('host2', 'fail')]);
    expect(none).toHaveLength(3);
    expect(none[0]!.message).toBe('host0: unit web.service is failed, expected active on any host');
  });

  it('exactly N: passes on exactly N, fails on more or fewer', () => {
    expect(combine(2, [o('host0', 'pass'), o('host1', 'fail'), o('host2', 'pass')])).toMatchObject([
      { status: 'pass', actual: 'active on 2 hosts (host0, host2)' },
    ]);
    const more = combine(1, [o('host0', 'pass'), o('host1', 'pass'), o('host2', 'fail')]);
    expect(more).toMatchObject([{ status: 'fail' }]);
    expect(more[0]!.message).toBe('unit web.service is active on 2 hosts (host0, host1), expected active on exactly 1 host');
    expect(combine(3, [o('host0', 'pass'), o('host1', 'fail'), o('host2', 'pass')])).toMatchObject([{ status: 'fail' }]);
  });

  it('exactly N: an unreachable host that could change the count makes it an error, not a fail', () => {
    const r = combine(2, [o('host0', 'pass'), o('host1', 'error'), o('host2', 'fail')]);
    expect(r).toMatchObject([{ status: 'error', host: 'host1' }]);
    // Even if the unreachable host passed, 2 of 3 cannot make exactly 3: a plain fail.
    expect(combine(3, [o('host0', 'fail'), o('host1', 'error'), o('host2', 'pass')])).toMatchObject([{ status: 'fail' }]);
    // Already too many: the unknown host cannot bring it back to N.
    expect(combine(1, [o('host0', 'pass'), o('host1', 'error'), o('host2', 'pass')])).toMatchObject([{ status: 'fail' }]);
  });
});
