// Test helpers: start the real server on an ephemeral loopback port, get a session cookie the way
// a browser does (by loading the page), and open WebSockets with chosen headers.
import { WebSocket } from 'ws';
import type { ServerMessage } from '../../common/protocol.ts';
import { PROTOCOL_VERSION, parseServerFrame, parseServerMessage } from '../../common/protocol.ts';
import type { RunningServer } from '../app.ts';
import { startServer } from '../app.ts';
import { loadConfig } from '../config.ts';
import type { GatewayModule } from '../ws/gateway-module.ts';
import { StaticLabViews } from './static-lab-views.ts';
import { sampleLabView } from './test-labs.ts';

export interface TestServer {
  server: RunningServer;
  labs: StaticLabViews;
  /** http://127.0.0.1:PORT — without the base path. */
  origin: string;
}

export async function startTestServer(opts: { basePath?: string; modules?: GatewayModule[]; labs?: StaticLabViews; clientDir?: string } = {}): Promise<TestServer> {
  const config = loadConfig({}, { port: 0, basePath: opts.basePath ?? '/' });
  const labs = opts.labs ?? new StaticLabViews([sampleLabView()]);
  const server = await startServer(config, { labs, gatewayModules: opts.modules ?? [], ...(opts.clientDir ? { clientDir: opts.clientDir } : {}) });
  return { server, labs, origin: new URL(server.url).origin };
}

/** Loads the page and returns the `name=value` of the session cookie it set. */
export async function sessionCookie(pageUrl: string): Promise<string> {
  const res = await fetch(pageUrl);
  await res.arrayBuffer();
  const set = res.headers.get('set-cookie');
  if (!set) throw new Error('page load set no cookie');
  return set.split(';')[0]!;
}

/** A WebSocket client that queues every server message for `next()`. */
export class TestSocket {
  readonly ws: WebSocket;
  readonly #queue: ServerMessage[] = [];
  readonly #waiters: ((m: ServerMessage) => void)[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(url: string, headers: Record<string, string>) {
    this.ws = new WebSocket(url, { headers });
    this.ws.on('message', (data: Buffer, isBinary: boolean) => {
      const parsed = isBinary ? parseServerFrame(data) : parseServerMessage(data.toString('utf8'));
      if (!parsed.ok) throw new Error(parsed.error);
      const w = this.#waiters.shift();
      if (w) w(parsed.value);
      else this.#queue.push(parsed.value);
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) => this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  send(raw: string | object): void {
    this.ws.send(typeof raw === 'string' ? raw : JSON.stringify(raw));
  }

  next(): Promise<ServerMessage> {
    const m = this.#queue.shift();
    if (m) return Promise.resolve(m);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Reads messages until `pred` returns something other than undefined, and returns that. */
  async until<T>(pred: (m: ServerMessage) => T | undefined): Promise<T> {
    for (;;) {
      const v = pred(await this.next());
      if (v !== undefined) return v;
    }
  }

  close(): void {
    this.ws.close();
  }
}

export interface ApiInit {
  method?: string;
  cookie?: string;
  body?: unknown;
}

/** A JSON request to `{serverUrl}api/{path}`, with an optional session cookie. */
export function apiCall(serverUrl: string, apiPath: string, init: ApiInit = {}): Promise<Response> {
  return fetch(`${serverUrl}api/${apiPath}`, {
    method: init.method ?? 'GET',
    headers: { 'Content-Type': 'application/json', ...(init.cookie ? { Cookie: init.cookie } : {}) },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
}

/** The `name=value` of the cookie a response set (throws when it set none: the test is wrong). */
export function cookieOf(res: Response): string {
  const set = res.headers.get('set-cookie');
  if (!set) throw new Error(`${res.url} set no cookie (status ${res.status})`);
  return set.split(';')[0]!;
}

export interface HelloOptions {
  /** The server's URL ending with its base path, e.g. http://127.0.0.1:8080/lw/. */
  serverUrl: string;
  origin: string;
  cookie: string;
  labId: string;
  /** Endpoint below the base path: ws (a lab page) or dashboard-ws. */
  path?: string;
  /** Sockets the test terminates afterwards; this one joins them before it opens. */
  track?: TestSocket[];
}

/** Opens a page's WebSocket with its session cookie and Origin, and says hello for a lab. */
export async function openHello(o: HelloOptions): Promise<TestSocket> {
  const s = new TestSocket(`${o.serverUrl.replace('http', 'ws')}${o.path ?? 'ws'}`, { Cookie: o.cookie, Origin: o.origin });
  o.track?.push(s);
  await s.opened;
  s.send({ type: 'hello', version: PROTOCOL_VERSION, labId: o.labId });
  return s;
}
