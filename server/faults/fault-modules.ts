// The faults feature on the two sockets: `fault-fire` on the dashboard's (instructors only, a
// workshop of the page's lab) and `fault-notices` pushed to an attendee's lab page on connect and
// whenever a fault on their hosts is fired or repaired.
import type { DurableStore } from '../store/durable-store.ts';
import { sessionTag } from '../sessions/session-store.ts';
import type { GatewayModule } from '../ws/gateway-module.ts';
import { FaultError } from './fault-service.ts';
import type { FaultService } from './fault-service.ts';

export function createFaultFireModule(faults: FaultService, store: DurableStore): GatewayModule {
  return {
    name: 'fault-fire',
    handlers: {
      async 'fault-fire'(ctx, msg) {
        if (store.sessions.record(ctx.session.id)?.role !== 'instructor') {
          ctx.log.warn({ session: sessionTag(ctx.session.id) }, 'fault refused: not an instructor');
          ctx.sendError('forbidden', 'firing a fault needs the instructor login', msg.type);
          return;
        }
        const w = store.workshops.get(msg.workshopId);
        if (!w || w.labId !== ctx.labId) {
          ctx.sendError('invalid-message', 'no such workshop on this lab', msg.type);
          return;
        }
        try {
          const outcomes = await faults.fire(w.id, msg.fault, msg.attendee);
          ctx.send({ type: 'fault-fired', fault: msg.fault, outcomes });
        } catch (e) {
          if (!(e instanceof FaultError)) throw e;
          ctx.log.warn({ fault: msg.fault, reason: e.message }, 'fault refused');
          ctx.sendError(e.code, e.message, msg.type);
        }
      },
    },
  };
}

export function createFaultNoticeModule(faults: FaultService): GatewayModule {
  return {
    name: 'fault-notices',
    handlers: {},
    onConnect(ctx) {
      const send = (): void => ctx.send({ type: 'fault-notices', notices: faults.notices(ctx.session.id, ctx.labId) });
      if (faults.notices(ctx.session.id, ctx.labId).length > 0) send();
      ctx.onClose(faults.subscribe(ctx.session.id, send));
    },
  };
}
