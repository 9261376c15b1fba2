// The instructor dashboard's socket: `dashboard-watch` (instructors only) pushes the workshop's
// snapshot now and after every change, coalesced so a burst of events sends one frame.
import type { ConnectionContext } from '../ws/connection-context.ts';
import type { GatewayModule } from '../ws/gateway-module.ts';
import type { DurableStore } from '../store/durable-store.ts';
import { sessionTag } from '../sessions/session-store.ts';
import type { WorkshopService } from './workshop-service.ts';

/** Long enough to fold a check report, its progress write and the step-done into one frame. */
const COALESCE_MS = 100;
/**
 * At most one snapshot a second while changes keep coming: a snapshot walks every attendee of the
 * workshop, and a room of hundreds changes (checks, presence) many times a second.
 */
export const MIN_PUSH_INTERVAL_MS = 1000;

export function createDashboardModule(service: WorkshopService, store: DurableStore): GatewayModule {
  const watching = new WeakMap<ConnectionContext, string>();
  return {
    name: 'dashboard',
    handlers: {
      'dashboard-watch'(ctx, msg) {
        if (store.sessions.record(ctx.session.id)?.role !== 'instructor') {
          ctx.log.warn({ session: sessionTag(ctx.session.id) }, 'dashboard refused: not an instructor');
          ctx.sendError('forbidden', 'the dashboard needs the instructor login', msg.type);
          return;
        }
        const w = store.workshops.get(msg.workshopId);
        if (!w || w.labId !== ctx.labId) {
          ctx.sendError('invalid-message', 'no such workshop on this lab', msg.type);
          return;
        }
        if (watching.has(ctx)) return;
        watching.set(ctx, w.id);
        let timer: NodeJS.Timeout | undefined;
        let lastPush = -Infinity;
        const push = (): void => {
          timer = undefined;
          lastPush = Date.now();
          if (!ctx.closed) ctx.send({ type: 'dashboard', snapshot: service.snapshot(w.id) });
        };
        const off = service.watch(w.id, () => {
          timer ??= setTimeout(push, Math.max(COALESCE_MS, lastPush + MIN_PUSH_INTERVAL_MS - Date.now()));
        });
        ctx.onClose(() => {
          off();
          clearTimeout(timer);
        });
        push();
      },
    },
  };
}
