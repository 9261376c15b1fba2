// The room at a glance, for the instructor's dashboard: per step, how many attendees are on it now,
// how long those who finished it took (median), and which checks fail most among those on it. Pure:
// the dashboard derives it from each snapshot, so a room of 300 costs the server nothing extra.
import type { DashboardSnapshot } from './workshop.ts';

export interface FailingCheck {
  /** The check's description when it has one, else its subject ("unit web@2.service"). */
  label: string;
  /** Attendees on this step whose last check failed it (one per attendee, whatever the host count). */
  count: number;
}

export interface StepHeat {
  step: number;
  title: string;
  /** Attendees whose current step this is. */
  here: number;
  /** Attendees who finished it (done or skipped). */
  finished: number;
  /** Median time attendees took on it before finishing it; null when nobody finished it. */
  medianMs: number | null;
  /** The checks failing for most attendees on it now, most first (at most three). */
  failing: FailingCheck[];
}

/**
 * Time spent on each step before it was done, from the done marks in the order they happened: each
 * step took from the previous completion (or `since`, the join or the last reset) to its own. Null
 * for a step not done.
 */
export function stepDurations(stepCount: number, marks: readonly { step: number; at: number }[], since: number): (number | null)[] {
  const out: (number | null)[] = Array.from({ length: stepCount }, () => null);
  const ordered = [...marks].sort((a, b) => a.at - b.at);
  // Marks older than the start (seeded or imported progress) count from the first mark, not below 0.
  let prev = Math.min(since, ordered[0]?.at ?? since);
  for (const m of ordered) {
    if (m.step < 0 || m.step >= stepCount) continue;
    out[m.step] = Math.max(0, m.at - prev);
    prev = Math.max(prev, m.at);
  }
  return out;
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? (v[mid] ?? null) : ((v[mid - 1] ?? 0) + (v[mid] ?? 0)) / 2;
}

export function roomHeat(s: Pick<DashboardSnapshot, 'steps' | 'attendees'>): StepHeat[] {
  return s.steps.map((title, step) => {
    const on = s.attendees.filter((a) => a.current === step);
    const finished = s.attendees.filter((a) => a.cells[step] === 'done' || a.cells[step] === 'skipped');
    const spent = finished.flatMap((a) => {
      const ms = a.spentMs?.[step];
      return ms === undefined || ms === null ? [] : [ms];
    });
    const counts = new Map<string, number>();
    for (const a of on) {
      const r = a.lastReport;
      if (!r || r.step !== step || r.passed) continue;
      const labels = new Set(r.results.filter((x) => x.status !== 'pass').map((x) => x.description ?? x.subject));
      for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
    }
    const failing = [...counts.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, 3)
      .map(([label, count]) => ({ label, count }));
    return { step, title, here: on.length, finished: finished.length, medianMs: median(spent), failing };
  });
}
