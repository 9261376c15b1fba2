// How features plug into the WebSocket gateway: a GatewayModule handles a group of client
// message types (terminals: term-*; checks: check-run, step-skip) and may act on connect.
// Message types no module of this endpoint handles (dashboard-watch on a lab page's socket,
// check-run on the dashboard's, any on a server built without that feature) answer `not-ready`.
import type { ClientMessage } from '../../common/protocol.ts';
import type { ConnectionContext } from './connection-context.ts';

/** Every client message except `hello`, which the gateway itself handles. */
export type RoutedMessage = Exclude<ClientMessage, { type: 'hello' }>;
export type RoutedType = RoutedMessage['type'];
export type MessageOf<T extends RoutedType> = Extract<RoutedMessage, { type: T }>;

/**
 * Handles one message. Handlers are called in arrival order but not awaited one after the
 * other: a slow check must not hold up terminal input. A thrown error or rejected promise is
 * logged and answered with an `internal` error; it never closes the connection.
 */
export type MessageHandler<T extends RoutedType> = (ctx: ConnectionContext, msg: MessageOf<T>) => void | Promise<void>;

/** A handler for every routed type: mapped over them, so a type the protocol adds must be given one. */
export type HandlerTable = { [T in RoutedType]: MessageHandler<T> };

export interface GatewayModule {
  /** For logs and for the duplicate-handler error. */
  readonly name: string;
  /** Runs after the `welcome` is sent, e.g. to attach the session's environment and send `env-status`. */
  onConnect?(ctx: ConnectionContext): void | Promise<void>;
  readonly handlers: Partial<HandlerTable>;
  /** Runs once when the server stops, after every connection (and its cleanups) has closed. */
  close?(): void | Promise<void>;
}

const notReady =
  (feature: string) =>
  (ctx: ConnectionContext, msg: RoutedMessage): void => {
    ctx.sendError('not-ready', `${feature} are not available on this connection`, msg.type);
  };

// Typed as the full table: a message type added to common/protocol.ts without a default here
// (and so, possibly, without any handler) is a compile error.
const DEFAULTS: HandlerTable = {
  'term-open': notReady('terminals'),
  'term-input': notReady('terminals'),
  'term-resize': notReady('terminals'),
  'term-ack': notReady('terminals'),
  'term-close': notReady('terminals'),
  'term-probe': notReady('terminals'),
  'term-interrupt': notReady('terminals'),
  'check-run': notReady('checks'),
  'step-skip': notReady('checks'),
  'setup-retry': notReady('checks'),
  'step-reset': notReady('step resets'),
  'dashboard-watch': notReady('workshops'),
  'cluster-watch': notReady('cluster views'),
  'fault-fire': notReady('faults'),
  'hand-raise': notReady('help requests'),
  'hand-lower': notReady('help requests'),
  'keyboard-reply': notReady('help requests'),
  'keyboard-take-back': notReady('help requests'),
  'help-answer': notReady('help answers'),
  'hand-resolve': notReady('help answers'),
  'help-broadcast': notReady('help answers'),
  'keyboard-request': notReady('help answers'),
  'keyboard-release': notReady('help answers'),
};

/** Merges the modules' handlers over the `not-ready` defaults; two modules claiming one type is a startup error. */
export function buildHandlerTable(modules: readonly GatewayModule[]): HandlerTable {
  const table: HandlerTable = { ...DEFAULTS };
  const owner = new Map<RoutedType, string>();
  for (const mod of modules) {
    for (const type of Object.keys(mod.handlers) as RoutedType[]) {
      const prev = owner.get(type);
      if (prev !== undefined) throw new Error(`gateway modules "${prev}" and "${mod.name}" both handle "${type}"`);
      owner.set(type, mod.name);
      const handler = mod.handlers[type];
      // Each key of Partial<HandlerTable> holds the handler of that same type.
      if (handler) (table as Record<RoutedType, unknown>)[type] = handler;
    }
  }
  return table;
}

/** Runs the table's handler for the message's own type: the gateway's one dispatch for every routed message. */
export function dispatchRouted(table: HandlerTable, ctx: ConnectionContext, msg: RoutedMessage): void | Promise<void> {
  return callHandler(table, msg.type, ctx, msg);
}

// Generic in the type so that the compiler pairs the handler looked up by `type` with `msg`
// (with a plain union `msg.type` the lookup is a union of handlers no one message fits).
function callHandler<T extends RoutedType>(table: HandlerTable, type: T, ctx: ConnectionContext, msg: MessageOf<T>): void | Promise<void> {
  return table[type](ctx, msg);
}
