// A gateway module on the attendees' socket: counts each session's open pages (the dashboard's
// "connected") and closes them when the instructor resets the attendee or the workshop ends.
import type { GatewayModule } from '../ws/gateway-module.ts';
import type { ConnectionContext } from '../ws/connection-context.ts';
import type { WorkshopService } from './workshop-service.ts';

export function createPresenceModule(service: WorkshopService): GatewayModule & { close(): void } {
  const bySession = new Map<string, Set<ConnectionContext>>();
  const off = service.onKick((sessionId, code, reason) => {
    for (const ctx of bySession.get(sessionId) ?? []) {
      ctx.log.info({ code }, `closing: ${reason}`);
      ctx.close(code, reason);
    }
  });
  return {
    name: 'presence',
    handlers: {},
    onConnect(ctx) {
      const id = ctx.session.id;
      let set = bySession.get(id);
      if (!set) bySession.set(id, (set = new Set()));
      set.add(ctx);
      service.presence(id, 1);
      const s = set;
      ctx.onClose(() => {
        s.delete(ctx);
        if (s.size === 0) bySession.delete(id);
        service.presence(id, -1);
      });
    },
    close() {
      off();
    },
  };
}
