// The dashboard's order puts who needs help on top: raised hands first, then stuck, then the furthest behind.
import { describe, expect, it } from 'vitest';
import type { AttendeeRow, DashboardSnapshot } from '../../../common/workshop.ts';
import { orderAttendees } from './attendee-order.ts';

const NOW = 1_000_000_000;
const MIN = 60_000;

function row(name: string, current: number, minutesOnStep: number, failedOnCurrent = 0): AttendeeRow {
  return { id: name, name, joinedAt: 0, connected: true, env: 'ready', cells: [], current, currentSince: NOW - minutesOnStep * MIN, failedOnCurrent, failedTotal: failedOnCurrent };
}

function snapshot(attendees: AttendeeRow[]): DashboardSnapshot {
  return {
    workshop: { id: 'w', labId: 'etcd', labTitle: 'etcd', capacity: 10, attendeeCount: attendees.length, createdAt: 0, expiresAt: NOW + 60 * MIN, joinPath: '#/join/x' },
    steps: ['a', 'b', 'c'],
    attendees,
    stuck: { afterMs: 10 * MIN, afterFailures: 3 },
    now: NOW,
  };
}

const names = (rows: AttendeeRow[]): string[] => rows.map((r) => r.name);

describe('orderAttendees', () => {
  it('puts stuck attendees (too long on a step, or failing again and again) first', () => {
    const rows = [row('ada', 0, 1), row('bob', 2, 12), row('cy', 1, 2, 3)];
    expect(names(orderAttendees(rows, snapshot(rows), NOW))).toEqual(['cy', 'bob', 'ada']);
  });

  it('then the furthest behind, then the longest on their step, then by name', () => {
    const rows = [row('dan', 2, 1), row('eve', 1, 1), row('fay', 1, 5), row('abe', 1, 5)];
    expect(names(orderAttendees(rows, snapshot(rows), NOW))).toEqual(['abe', 'fay', 'eve', 'dan']);
  });

  it('never counts a finished attendee as stuck, however long ago they finished', () => {
    const rows = [row('done', 3, 120), row('busy', 0, 1)];
    expect(names(orderAttendees(rows, snapshot(rows), NOW))).toEqual(['busy', 'done']);
  });

  it('puts raised hands above everyone, the longest waiting first', () => {
    const rows = [row('stuck', 0, 30), { ...row('late', 2, 1), hand: { raisedAt: NOW - 1 * MIN } }, { ...row('early', 3, 1), hand: { raisedAt: NOW - 5 * MIN, text: 'help' } }];
    expect(names(orderAttendees(rows, snapshot(rows), NOW))).toEqual(['early', 'late', 'stuck']);
  });

  it('leaves the snapshot’s own list as it was', () => {
    const rows = [row('b', 1, 1), row('a', 0, 1)];
    orderAttendees(rows, snapshot(rows), NOW);
    expect(names(rows)).toEqual(['b', 'a']);
  });
});
