// The help loop on the two sockets: the lab page's (an attendee's own hand and keyboard answer,
// `help-state` pushed on connect and on change) and the dashboard's (instructors answer, message
// the room, and ask for or give back an attendee's keyboard). Refusals are error replies.
import type { ClientMessageType } from '../../common/protocol.ts';
import type { ConnectionContext } from '../ws/connection-context.ts';
import type { GatewayModule } from '../ws/gateway-module.ts';
import { HelpError } from './help-service.ts';
import type { HelpService, InstructorAsk } from './help-service.ts';

/** Runs one help action; a HelpError becomes an error reply naming the message, anything else is rethrown. */
function refusing(ctx: ConnectionContext, type: ClientMessageType, act: () => void): void {
  try {
    act();
  } catch (e) {
    if (!(e instanceof HelpError)) throw e;
    ctx.log.warn({ type, reason: e.message }, 'help request refused');
    ctx.sendError(e.code, e.message, type);
  }
}

export function createHelpPageModule(help: HelpService): GatewayModule {
  return {
    name: 'help-page',
    handlers: {
      'hand-raise': (ctx, msg) => refusing(ctx, msg.type, () => help.raise(ctx.session.id, msg.text)),
      'hand-lower': (ctx, msg) => refusing(ctx, msg.type, () => help.lower(ctx.session.id)),
      'keyboard-reply': (ctx, msg) => refusing(ctx, msg.type, () => help.replyKeyboard(ctx.session.id, msg.allow)),
      'keyboard-take-back': (ctx, msg) => refusing(ctx, msg.type, () => help.takeBack(ctx.session.id)),
    },
    onConnect(ctx) {
      const id = ctx.session.id;
      const send = (): void => {
        const state = help.state(id);
        if (state) ctx.send({ type: 'help-state', help: state });
      };
      // Only attendees' pages count towards the keyboard: solo and instructor pages have none to give.
      if (!help.state(id)) return;
      help.pages(id, 1);
      send();
      const off = help.subscribe(id, send);
      ctx.onClose(() => {
        off();
        help.pages(id, -1);
      });
    },
  };
}

export function createHelpDashboardModule(help: HelpService): GatewayModule {
  const asked = new WeakSet<ConnectionContext>();
  const ask = (ctx: ConnectionContext, workshopId: string): InstructorAsk => ({ sessionId: ctx.session.id, connectionId: ctx.connectionId, labId: ctx.labId, workshopId });
  return {
    name: 'help-dashboard',
    handlers: {
      'help-answer': (ctx, msg) => refusing(ctx, msg.type, () => help.answer(ask(ctx, msg.workshopId), msg.attendee, msg.text)),
      'hand-resolve': (ctx, msg) => refusing(ctx, msg.type, () => help.resolve(ask(ctx, msg.workshopId), msg.attendee)),
      'help-broadcast': (ctx, msg) => refusing(ctx, msg.type, () => void help.broadcast(ask(ctx, msg.workshopId), msg.text)),
      'keyboard-request': (ctx, msg) =>
        refusing(ctx, msg.type, () => {
          help.requestKeyboard(ask(ctx, msg.workshopId), msg.attendee);
          // Once per connection: what it asked for goes back when it closes.
          if (!asked.has(ctx)) {
            asked.add(ctx);
            ctx.onClose(() => help.connectionClosed(ctx.connectionId));
          }
        }),
      'keyboard-release': (ctx, msg) => refusing(ctx, msg.type, () => help.releaseKeyboard(ask(ctx, msg.workshopId), msg.attendee)),
    },
  };
}
