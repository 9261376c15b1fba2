// The dashboard's row order: who needs help is at the top.
import type { AttendeeRow, DashboardSnapshot } from '../../../common/workshop.ts';
import { isStuck } from '../../../common/workshop.ts';

/** Raised hands first (longest waiting on top), then stuck, then the furthest behind, so who needs help is at the top. */
export function orderAttendees(rows: readonly AttendeeRow[], snap: DashboardSnapshot, now: number): AttendeeRow[] {
  return [...rows].sort((a, b) => {
    const ha = a.hand?.raisedAt ?? Infinity;
    const hb = b.hand?.raisedAt ?? Infinity;
    if (ha !== hb) return ha < hb ? -1 : 1;
    const sa = isStuck(a, snap.steps.length, now, snap.stuck) ? 0 : 1;
    const sb = isStuck(b, snap.steps.length, now, snap.stuck) ? 0 : 1;
    return sa - sb || a.current - b.current || a.currentSince - b.currentSince || a.name.localeCompare(b.name);
  });
}
