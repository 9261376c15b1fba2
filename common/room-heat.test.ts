import { describe, expect, it } from 'vitest';
import { roomHeat, stepDurations } from './room-heat.ts';
import type { AttendeeRow } from './workshop.ts';
import type { CheckResult } from './checks.ts';

const result = (subject: string, status: CheckResult['status'], host: string, description?: string): CheckResult => ({
  status,
  kind: 'unit',
  subject,
  ...(description !== undefined ? { description } : {}),
  host,
  expected: 'active',
  actual: 'inactive',
  message: `${host}: ${subject}`,
  durationMs: 1,
});

function row(id: string, cells: AttendeeRow['cells'], spentMs: (number | null)[], failing: CheckResult[] = []): AttendeeRow {
  const current = cells.findIndex((c) => c !== 'done' && c !== 'skipped');
  const r: AttendeeRow = { id, name: id, joinedAt: 0, connected: true, env: 'ready', cells, current: current < 0 ? cells.length : current, currentSince: 0, failedOnCurrent: 0, failedTotal: 0, spentMs };
  if (failing.length > 0) r.lastReport = { step: r.current, passed: false, results: failing, at: 1 };
  return r;
}

describe('stepDurations', () => {
  it('each done step took from the previous completion (or the join) to its own, in the order they happened', () => {
    expect(stepDurations(4, [{ step: 1, at: 1500 }, { step: 0, at: 1100 }], 1000)).toEqual([100, 400, null, null]);
  });
  it('ignores marks of steps the lab no longer has', () => {
    expect(stepDurations(1, [{ step: 3, at: 5 }], 0)).toEqual([null]);
  });
});

describe('roomHeat', () => {
  it('counts who is on each step, the median time of those who finished it, and the checks failing most there (once per attendee)', () => {
    const steps = ['One', 'Two', 'Three'];
    const attendees = [
      row('a', ['done', 'current', 'locked'], [60_000, null, null], [result('unit etcd', 'fail', 'host0'), result('unit etcd', 'fail', 'host1'), result('key /x', 'pass', 'host0')]),
      row('b', ['done', 'current', 'locked'], [120_000, null, null], [result('unit etcd', 'fail', 'host0', 'every host runs etcd'), result('key /x', 'fail', 'host0')]),
      row('c', ['done', 'done', 'current'], [180_000, 30_000, null]),
      row('d', ['current', 'locked', 'locked'], [null, null, null]),
    ];
    const heat = roomHeat({ steps, attendees });
    expect(heat.map((h) => h.here)).toEqual([1, 2, 1]);
    expect(heat.map((h) => h.finished)).toEqual([3, 1, 0]);
    expect(heat.map((h) => h.medianMs)).toEqual([120_000, 30_000, null]);
    expect(heat[1]?.failing).toEqual([
      { label: 'every host runs etcd', count: 1 },
      { label: 'key /x', count: 1 },
      { label: 'unit etcd', count: 1 },
    ]);
    expect(heat[0]?.failing).toEqual([]);
  });
  it('a passed or stale report (of another step) counts for nothing', () => {
    const a = row('a', ['done', 'current'], [1, null], [result('unit etcd', 'fail', 'host0')]);
    a.lastReport = { step: 0, passed: false, results: [result('unit etcd', 'fail', 'host0')], at: 1 };
    expect(roomHeat({ steps: ['One', 'Two'], attendees: [a] })[1]?.failing).toEqual([]);
  });
});
