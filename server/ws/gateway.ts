// The WebSocket endpoint at {base}ws: checks the session before the upgrade (app.ts has already
// checked Host and Origin against what the server serves), validates
// every frame with the shared protocol, runs the hello handshake, and dispatches the other
// messages to the feature modules (see gateway-module.ts). One bad frame or failing handler
// never affects another connection.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';
import { WebSocketServer } from 'ws';
import type { ClientMessage, ClientMessageType, CloseCode as CloseCodeType, ErrorCode, ServerMessage } from '../../common/protocol.ts';
import { isLabId } from '../../common/lab.ts';
import { CloseCode, MAX_CLIENT_MESSAGE_BYTES, PROTOCOL_VERSION, encodeServerMessage, parseClientFrame, parseClientMessage } from '../../common/protocol.ts';
import type { Config } from '../config.ts';
import type { LabViewSource } from '../http/lab-source.ts';
import { logger } from '../log.ts';
import { sessionOf } from '../sessions/session-cookie.ts';
import type { Session, SessionStore } from '../sessions/session-store.ts';
import { sessionTag } from '../sessions/session-store.ts';
import { storageFailureMessage, storageFailureOf } from '../store/store-error.ts';
import type { Cleanup, ConnectionContext } from './connection-context.ts';
import type { GatewayModule, RoutedMessage } from './gateway-module.ts';
import { buildHandlerTable, dispatchRouted } from './gateway-module.ts';

export interface GatewayOptions {
  config: Readonly<Pick<Config, 'basePath' | 'allowedOrigins'>>;
  sessions: SessionStore;
  labs: LabViewSource;
  modules?: readonly GatewayModule[];
  /** How often dead connections are detected with a ping. */
  heartbeatMs?: number;
  /** Endpoint below the base path; default "ws". The instructor dashboard has its own. */
  path?: string;
  /**
   * Decides whether this session may open this lab (workshop mode: an attendee only their
   * workshop's lab, and only while it runs). A refusal closes with its code and reason.
   */
  authorizeHello?: (session: Session, labId: string) => { ok: true } | { ok: false; code: CloseCodeType; reason: string };
  /** Open WebSockets one session may have on this endpoint; more are closed with TooManyConnections. Default 16. */
  maxConnectionsPerSession?: number;
}

export interface Gateway {
  /** Handles an HTTP upgrade request; refuses (and destroys the socket for) anything not ours. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  readonly connectionCount: number;
  /** Closes every connection with ServerShutdown (the client retries) and runs their cleanups. */
  close(): Promise<void>;
}

/**
 * Frames above the protocol limit get a `too-large` reply; frames above this hard limit are
 * not even buffered (ws closes the connection with 1009), so a client cannot exhaust memory.
 */
const HARD_FRAME_LIMIT = 4 * MAX_CLIENT_MESSAGE_BYTES;

function refuse(socket: Duplex, status: 401 | 403 | 404, message: string): void {
  const reason = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found' }[status];
  const body = JSON.stringify({ error: { code: status === 401 ? 'unauthorized' : status === 403 ? 'forbidden' : 'not-found', message } });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

export function createGateway(opts: GatewayOptions): Gateway {
  const log = logger('ws');
  const wsPath = `${opts.config.basePath}${opts.path ?? 'ws'}`;
  const table = buildHandlerTable(opts.modules ?? []);
  const modules = opts.modules ?? [];
  const wss = new WebSocketServer({ noServer: true, maxPayload: HARD_FRAME_LIMIT, clientTracking: true });
  const closers = new Set<() => Promise<void>>();
  const alive = new WeakSet<WebSocket>();
  // The open sockets of each session: the per-session cap, ending a session's pages, and
  // keeping a session with an open page from expiring as idle.
  const bySession = new Map<string, Set<WebSocket>>();
  const maxPerSession = opts.maxConnectionsPerSession ?? 16;
  const offEnd = opts.sessions.onEnd?.((id) => {
    for (const ws of bySession.get(id) ?? []) ws.close(CloseCode.Unauthorized, 'your session has ended (logged out or expired): reload the page');
  });

  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.has(ws)) {
        ws.terminate();
        continue;
      }
      alive.delete(ws);
      ws.ping();
    }
    for (const id of bySession.keys()) opts.sessions.touch?.(id);
  }, opts.heartbeatMs ?? 30_000);
  heartbeat.unref();

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const pathname = (req.url ?? '').split('?')[0];
    if (pathname !== wsPath) {
      refuse(socket, 404, 'no WebSocket endpoint here');
      return;
    }
    sessionOf(req, opts.sessions).then(
      (session) => {
        if (!session) {
          log.warn('WebSocket refused: no session');
          refuse(socket, 401, 'no session: open the Labwright page first');
          return;
        }
        wss.handleUpgrade(req, socket, head, (ws) => accept(ws, session));
      },
      (e: unknown) => {
        log.error({ err: e }, 'session lookup failed');
        socket.destroy();
      },
    );
  }

  function accept(ws: WebSocket, session: Session): void {
    const connectionId = randomUUID();
    const connLog = log.child({ conn: connectionId.slice(0, 8), session: sessionTag(session.id) });
    // Upgraded first and then closed, so a browser page reads the reason (an HTTP refusal of the
    // upgrade reaches page script only as a bare 1006).
    const mine = bySession.get(session.id) ?? new Set<WebSocket>();
    if (mine.size >= maxPerSession) {
      connLog.warn({ open: mine.size }, 'WebSocket refused: too many open pages for this session');
      ws.close(CloseCode.TooManyConnections, `too many open pages of this session (at most ${maxPerSession}): close some tabs, then reload`);
      return;
    }
    mine.add(ws);
    bySession.set(session.id, mine);
    const cleanups: Cleanup[] = [];
    let ctx: ConnectionContext | undefined;
    alive.add(ws);
    ws.on('pong', () => alive.add(ws));
    connLog.info('connected');

    const send = (msg: ServerMessage): void => {
      if (ws.readyState === ws.OPEN) ws.send(encodeServerMessage(msg));
    };
    const sendError = (code: ErrorCode, message: string, ref?: ClientMessageType): void => {
      send(ref === undefined ? { type: 'error', code, message } : { type: 'error', code, message, ref });
    };

    /** Hands a message to its module's handler; a failure is answered on this connection only. */
    function runHandler(c: ConnectionContext, msg: RoutedMessage): void {
      const failed = (e: unknown): void => {
        // A write the disk refused: say so (nothing was saved), keep the connection and the server.
        const storage = storageFailureOf(e);
        if (storage) {
          c.log.error({ type: msg.type, failure: storage, err: e instanceof Error ? e.message : String(e) }, 'handler failed: storage');
          c.sendError('unavailable', storageFailureMessage(storage), msg.type);
          return;
        }
        c.log.error({ err: e, type: msg.type }, 'handler failed');
        c.sendError('internal', 'the server could not handle this message', msg.type);
      };
      try {
        const p = dispatchRouted(table, c, msg);
        if (p instanceof Promise) p.catch(failed);
      } catch (e) {
        failed(e);
      }
    }

    function hello(msg: Extract<ClientMessage, { type: 'hello' }>): void {
      if (ctx) {
        sendError('invalid-message', 'hello was already received on this connection', 'hello');
        return;
      }
      if (msg.version !== PROTOCOL_VERSION) {
        connLog.info({ version: msg.version }, 'protocol version mismatch');
        ws.close(CloseCode.VersionMismatch, `server speaks protocol ${PROTOCOL_VERSION}; reload the page`);
        return;
      }
      if (!isLabId(msg.labId) || !opts.labs.list().some((l) => l.id === msg.labId)) {
        ws.close(CloseCode.NotFound, 'no such lab');
        return;
      }
      const verdict = opts.authorizeHello?.(session, msg.labId) ?? { ok: true };
      if (!verdict.ok) {
        connLog.warn({ lab: msg.labId, code: verdict.code }, `hello refused: ${verdict.reason}`);
        ws.close(verdict.code, verdict.reason);
        return;
      }
      // From here hosts, progress and reports hang off the session id: it must outlive this process.
      opts.sessions.persist?.(session.id);
      ctx = makeContext(msg.labId);
      // Only a tag of the id: the cookie is httpOnly so that page script never holds the secret.
      send({ type: 'welcome', version: PROTOCOL_VERSION, sessionId: sessionTag(session.id), labId: msg.labId });
      const labId = msg.labId;
      const c = ctx;
      // Author live preview: tell this page when its lab file changes on disk.
      // A workshop's attendees are told only when their workshop moves to another version.
      const notify = (): void => c.send({ type: 'lab-changed', labId });
      c.onClose(
        opts.labs.watch
          ? opts.labs.watch(session.id, labId, notify)
          : opts.labs.onChange((changed) => {
              if (changed === labId) notify();
            }),
      );
      for (const mod of modules) {
        if (!mod.onConnect) continue;
        Promise.resolve()
          .then(() => mod.onConnect?.(c))
          .catch((e: unknown) => c.log.error({ err: e, module: mod.name }, 'onConnect failed'));
      }
    }

    function makeContext(labId: string): ConnectionContext {
      return {
        connectionId,
        session,
        labId,
        log: connLog.child({ lab: labId }),
        send,
        sendError,
        onClose: (cleanup) => {
          if (ws.readyState === ws.CLOSED) void Promise.resolve(cleanup()).catch(() => undefined);
          else cleanups.push(cleanup);
        },
        get bufferedAmount() {
          return ws.bufferedAmount;
        },
        get closed() {
          return ws.readyState !== ws.OPEN;
        },
        close: (code, reason) => ws.close(code, reason),
      };
    }

    function dispatch(msg: ClientMessage, c: ConnectionContext | undefined): void {
      if (msg.type === 'hello') {
        hello(msg);
        return;
      }
      if (!c) {
        // The handshake is what tells an outdated client to reload; anything else first is a protocol error.
        ws.close(CloseCode.VersionMismatch, 'the first message must be hello');
        return;
      }
      runHandler(c, msg);
    }

    ws.on('message', (data: RawData, isBinary: boolean) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      // Terminal input comes as a binary frame (common/term-frame.ts); everything else as JSON text.
      const parsed = isBinary ? parseClientFrame(bytes) : parseClientMessage(bytes.toString('utf8'));
      if (!parsed.ok) {
        connLog.warn({ code: parsed.error.code, bytes: bytes.length, binary: isBinary }, `bad frame: ${parsed.error.message}`);
        sendError(parsed.error.code, parsed.error.message, isBinary ? 'term-input' : undefined);
        return;
      }
      try {
        dispatch(parsed.value, ctx);
      } catch (e) {
        // A synchronous failure (the hello's session write on a full disk, say) must not take the
        // process down: this connection is told, every other one carries on.
        const storage = storageFailureOf(e);
        connLog.error({ type: parsed.value.type, ...(storage ? { failure: storage, err: e instanceof Error ? e.message : String(e) } : { err: e }) }, 'message failed');
        const message = storage ? storageFailureMessage(storage) : 'the server could not handle this message';
        sendError(storage ? 'unavailable' : 'internal', message, parsed.value.type);
        // Without a finished hello the page has nothing to work with: close so that it retries.
        if (!ctx) ws.close(CloseCode.ServerShutdown, storage ? 'the server cannot save right now; retrying' : 'the server could not open this lab; retrying');
      }
    });

    let closing: Promise<void> | undefined;
    const runCleanups = (): Promise<void> => {
      closing ??= (async () => {
        for (const cleanup of cleanups.splice(0).reverse()) {
          try {
            await cleanup();
          } catch (e) {
            connLog.error({ err: e }, 'cleanup failed');
          }
        }
      })();
      return closing;
    };
    const closer = async (): Promise<void> => {
      ws.close(CloseCode.ServerShutdown, 'server shutting down');
      await runCleanups();
    };
    closers.add(closer);
    ws.on('error', (e) => connLog.warn({ err: e.message }, 'socket error'));
    ws.on('close', (code) => {
      closers.delete(closer);
      mine.delete(ws);
      if (mine.size === 0 && bySession.get(session.id) === mine) bySession.delete(session.id);
      connLog.info({ code }, 'disconnected');
      void runCleanups();
    });
  }

  return {
    handleUpgrade,
    get connectionCount() {
      return wss.clients.size;
    },
    async close() {
      clearInterval(heartbeat);
      offEnd?.();
      await Promise.all([...closers].map((c) => c()));
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      for (const mod of modules) {
        try {
          await mod.close?.();
        } catch (e) {
          log.error({ err: e, module: mod.name }, 'module close failed');
        }
      }
    },
  };
}
