// The HTTP server: builds the app (API, browser app, security headers, request logs), the WebSocket
// gateway and the session store, all under config.basePath, and starts listening. What it serves is
// wired in server/compose.ts; tests start it directly with only the parts they exercise.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express from 'express';
import type { ErrorRequestHandler, Request, Router } from 'express';
import type { Config } from './config.ts';
import { sendApiError } from './http/api-error.ts';
import { storageFailureMessage, storageFailureOf } from './store/store-error.ts';
import { apiRoutes } from './http/api-routes.ts';
import { clientRoutes } from './http/client-routes.ts';
import { edgeGuard } from './http/edge-guard.ts';
import type { EdgeGuard } from './http/edge-guard.ts';
import type { LabViewSource } from './http/lab-source.ts';
import { requestLog } from './http/request-log.ts';
import { requestOriginGuard } from './http/request-origin-guard.ts';
import type { PreviewService } from './previews/preview-service.ts';
import { securityHeaders } from './http/security-headers.ts';
import { logger } from './log.ts';
import { MemorySessionStore } from './sessions/session-store.ts';
import type { SessionStore } from './sessions/session-store.ts';
import type { DurableStore } from './store/durable-store.ts';
import { createGateway } from './ws/gateway.ts';
import type { Gateway, GatewayOptions } from './ws/gateway.ts';
import type { GatewayModule } from './ws/gateway-module.ts';

export interface AppDeps {
  labs: LabViewSource;
  /** Defaults to the durable store's sessions, else an in-memory store. */
  sessions?: SessionStore;
  /** Durable state (one SQLite file); closed with the server. */
  store?: DurableStore;
  /** Workshop mode: instructor and join routes under {base}api/, the dashboard socket, the hello check. */
  workshops?: WorkshopDeps;
  /** Feature modules plugged into the WebSocket gateway (terminals, checks). */
  gatewayModules?: readonly GatewayModule[];
  /** The built browser app; defaults to dist/client of this checkout. */
  clientDir?: string;
  /** Service previews: their origins are answered by its proxy, never by the app. */
  previews?: PreviewService;
}

export interface WorkshopDeps {
  /** Mounted at {base}api/ before the session-only API; must pass on what it does not serve. */
  routes: readonly Router[];
  /** Modules of the instructor dashboard's own socket at {base}dashboard-ws. */
  dashboardModules: readonly GatewayModule[];
  authorizeHello: NonNullable<GatewayOptions['authorizeHello']>;
}

export interface RunningServer {
  /** e.g. http://127.0.0.1:8080/labwright/ — always ends with the base path. */
  url: string;
  /** The origins it serves (loopback, this machine, public URLs); any other Host is refused. */
  origins: readonly string[];
  gateway: Gateway;
  /** Stops accepting, closes every WebSocket and HTTP connection, and resolves once all is released. */
  close(): Promise<void>;
}

const DEFAULT_CLIENT_DIR = path.resolve(import.meta.dirname, '..', 'dist', 'client');

export async function startServer(config: Readonly<Config>, deps: AppDeps): Promise<RunningServer> {
  const log = logger('http');
  const base = config.basePath;
  const sessions = deps.sessions ?? deps.store?.sessions ?? new MemorySessionStore();

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Set once listening (the real port is known then), before any request can arrive.
  let edge: EdgeGuard | undefined = undefined;
  // req.ip and req.protocol believe X-Forwarded-For / -Proto only from a configured trusted proxy
  // (req.ip: the rightmost address that is not one); req.secure also knows an https public URL.
  app.set('trust proxy', (addr: string) => edge?.proxies.trusts(addr) ?? false);
  Object.defineProperty(app.request, 'secure', { configurable: true, get(this: Request) { return edge?.isSecure(this) ?? false; } });
  app.use(securityHeaders);
  app.use(requestLog(log));
  // Before any route, so a foreign name (DNS rebinding) never gets a session cookie.
  app.use((req, res, next) => {
    if (edge) edge.middleware(req, res, next);
    else res.status(503).end();
  });
  // A page of another origin (a preview's script above all) gets no API answer and changes nothing.
  app.use(requestOriginGuard(() => edge, base));
  // "/labwright" → "/labwright/": the page's relative URLs (assets, api/, ws) resolve against it.
  if (base !== '/') {
    const bare = base.slice(0, -1);
    app.use((req, res, next) => {
      if (req.path === bare) res.redirect(308, base);
      else next();
    });
  }
  for (const r of deps.workshops?.routes ?? []) app.use(`${base}api`, r);
  app.use(`${base}api`, apiRoutes(deps.labs, sessions));
  app.use(base, clientRoutes(deps.clientDir ?? DEFAULT_CLIENT_DIR, base, sessions, config.sessions));
  app.use((_req, res) => {
    sendApiError(res, 404, 'not-found', 'not found');
  });
  // Last resort: log the error with its stack, answer without one.
  const onError: ErrorRequestHandler = (e: unknown, req, res, _next) => {
    // A write the disk refused (full, read-only): the user is told it was not saved; the server runs on.
    const storage = storageFailureOf(e, config.dataDir);
    if (storage && !res.headersSent) {
      log.error({ path: req.path, failure: storage, err: e instanceof Error ? e.message : String(e) }, 'request failed: storage');
      res.setHeader('Retry-After', '30');
      sendApiError(res, 503, 'unavailable', storageFailureMessage(storage));
      return;
    }
    log.error({ err: e, path: req.path }, 'request failed');
    const status = typeof e === 'object' && e !== null && 'status' in e && typeof e.status === 'number' && e.status < 500 ? e.status : 500;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendApiError(res, status, status === 500 ? 'internal' : 'bad-request', status === 500 ? 'internal error' : 'bad request');
  };
  app.use(onError);

  const hello = { ...(deps.workshops ? { authorizeHello: deps.workshops.authorizeHello } : {}), maxConnectionsPerSession: config.sessions.socketsPerSession };
  const gateway = createGateway({ config, sessions, labs: deps.labs, modules: deps.gatewayModules ?? [], ...hello });
  const dashboard = deps.workshops
    ? createGateway({ config, sessions, labs: deps.labs, modules: deps.workshops.dashboardModules, path: 'dashboard-ws', ...hello })
    : undefined;
  const dashboardPath = `${base}dashboard-ws`;
  // A preview origin is the proxy's alone: nothing of the app (routes, cookies, pages) answers there.
  const server = createServer((req, res) => {
    const previews = deps.previews?.proxy();
    if (previews?.handles(req)) previews.handleRequest(req, res);
    else app(req, res);
  });
  server.on('upgrade', (req, socket, head) => {
    const previews = deps.previews?.proxy();
    if (previews?.handles(req)) {
      previews.handleUpgrade(req, socket, head);
      return;
    }
    // Host, Origin and proxy for both endpoints, before either looks at the session.
    const refused = edge?.refusal(req, true);
    if (!edge || refused) {
      if (refused) edge?.refuseUpgrade(socket, refused);
      else socket.destroy();
      return;
    }
    if (dashboard && (req.url ?? '').split('?')[0] === dashboardPath) dashboard.handleUpgrade(req, socket, head);
    else gateway.handleUpgrade(req, socket, head);
  });
  server.on('clientError', (_e, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.bind, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  edge = edgeGuard(config, addr.port, log);
  deps.previews?.listening(addr.port);
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}${base}`;
  log.info({ url }, 'listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    origins: [...edge.hosts.origins],
    gateway,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        await gateway.close();
        await dashboard?.close();
        server.closeAllConnections();
        await stopped;
        await sessions.close();
        deps.store?.close();
        log.info('stopped');
      })();
      return closing;
    },
  };
}
