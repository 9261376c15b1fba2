// The dashboard's push: a lone change shows within a tenth of a second, a room's stream of changes
// costs at most one snapshot (a walk over every attendee) a second.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ServerMessage } from '../../common/protocol.ts';
import type { DurableStore } from '../store/durable-store.ts';
import type { ConnectionContext } from '../ws/connection-context.ts';
import { MIN_PUSH_INTERVAL_MS, createDashboardModule } from './dashboard-module.ts';
import type { WorkshopService } from './workshop-service.ts';

describe('dashboard push', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('pushes a lone change after 100 ms, and a stream of changes once a second', () => {
    let listener = (): void => undefined;
    let snapshots = 0;
    const service = {
      watch: (_id: string, l: () => void) => ((listener = l), () => undefined),
      snapshot: () => (snapshots++, {}),
    } as unknown as WorkshopService;
    const store = {
      sessions: { record: () => ({ role: 'instructor' }) },
      workshops: { get: () => ({ id: 'w1', labId: 'lab' }) },
    } as unknown as DurableStore;
    const sent: ServerMessage[] = [];
    const ctx = { session: { id: 's' }, labId: 'lab', closed: false, send: (m: ServerMessage) => sent.push(m), onClose: () => undefined } as unknown as ConnectionContext;
    const mod = createDashboardModule(service, store);
    void mod.handlers['dashboard-watch']?.(ctx, { type: 'dashboard-watch', workshopId: 'w1' });
    expect(snapshots).toBe(1); // at once when watching starts
    // A room: a change every 10 ms for 5 s.
    for (let t = 0; t < 5000; t += 10) {
      listener();
      vi.advanceTimersByTime(10);
    }
    vi.advanceTimersByTime(MIN_PUSH_INTERVAL_MS);
    expect(snapshots).toBeGreaterThanOrEqual(5);
    expect(snapshots).toBeLessThanOrEqual(7);
    // Quiet for a while, then one change: shown within a tenth of a second.
    vi.advanceTimersByTime(5000);
    const before = snapshots;
    listener();
    vi.advanceTimersByTime(100);
    expect(snapshots).toBe(before + 1);
    expect(sent.every((m) => m.type === 'dashboard')).toBe(true);
  });
});
