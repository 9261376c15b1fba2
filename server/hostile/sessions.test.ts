// Hostile input against sessions and per-client caps, over real HTTP and WebSockets against the
// server `labwright serve` composes (workshop stack, SQLite in a temporary data folder; a fake
// provider stands in for lab hosts): cookieless floods, socket/terminal/check/join floods, a
// solo page opening lab after lab, logout, and a changed instructor credential.
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Lab } from '../../common/lab.ts';
import type { ServerMessage } from '../../common/protocol.ts';
import { CloseCode } from '../../common/protocol.ts';
import { FakeProvider } from '../../provisioning/testing/fake-provider.ts';
import type { RunningServer } from '../app.ts';
import { startServer } from '../app.ts';
import { loadConfig } from '../config.ts';
import { StaticLabViews } from '../testing/static-lab-views.ts';
import { sampleLabView } from '../testing/test-labs.ts';
import type { TestSocket } from '../testing/test-server.ts';
import { apiCall, type ApiInit, cookieOf, openHello } from '../testing/test-server.ts';
import { DATABASE_FILE } from '../store/database.ts';
import type { WorkshopStack } from '../workshops/workshop-stack.ts';
import { createWorkshopStack } from '../workshops/workshop-stack.ts';
import { ownerLabel } from '../workspaces/workspace-manager.ts';

/** A lab whose steps have no checks: a Check press runs at once, without hosts to reach. */
const checklessLab = (id: string): Lab => {
  const v = sampleLabView(id);
  return { id, file: `${id}/lab.md`, meta: v.meta, intro: [], steps: v.steps.map((s) => ({ index: s.index, id: s.id, title: s.title, line: 1, parts: [], checks: [], solves: [], setups: [] })), faults: [] };
};

const TOKEN_A = 'instructor-token-A-0123456789';
const TOKEN_B = 'instructor-token-B-0123456789';
const LIMITS = {
  LABWRIGHT_NEW_SESSIONS_PER_MINUTE: '50',
  LABWRIGHT_PROVISIONAL_SESSIONS: '100',
  LABWRIGHT_JOINS_PER_MINUTE: '20',
  LABWRIGHT_CHECK_RUNS_PER_MINUTE: '10',
  LABWRIGHT_TERMINALS_PER_SESSION: '4',
  LABWRIGHT_ENVIRONMENTS_PER_SESSION: '2',
};

interface Stack {
  stack: WorkshopStack;
  server: RunningServer;
  provider: FakeProvider;
  origin: string;
  close(): Promise<void>;
}

async function startStack(dataDir: string, token: string, env: Record<string, string> = {}): Promise<Stack> {
  const config = loadConfig({ LABWRIGHT_INSTRUCTOR_TOKEN: token, ...LIMITS, ...env }, { port: 0, dataDir });
  const labs = new StaticLabViews(['demo', 'other', 'third'].map((id) => sampleLabView(id)));
  const provider = new FakeProvider();
  const stack = createWorkshopStack({ config, catalog: { get: (id) => ({ ok: true, lab: checklessLab(id) }) }, labs, provider, recheckMs: 0 });
  await stack.start();
  const server = await startServer(config, { labs, ...stack.appDeps });
  return {
    stack,
    server,
    provider,
    origin: new URL(server.url).origin,
    async close() {
      await server.close();
      await stack.close();
    },
  };
}

/** A GET from a chosen loopback source address (127.0.0.0/8 is all ours), so "one client" is one address. */
function getFrom(url: string, from: string, headers: Record<string, string> = {}): Promise<{ status: number; cookie: string | undefined; body: string; retryAfter: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { localAddress: from, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        const set = res.headers['set-cookie']?.[0];
        resolve({ status: res.statusCode ?? 0, cookie: set?.split(';')[0], body, retryAfter: res.headers['retry-after'] });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const sessionRows = (dataDir: string, role?: string): number => {
  const db = new Database(path.join(dataDir, DATABASE_FILE), { readonly: true });
  try {
    const sql = role ? 'SELECT count(*) AS n FROM sessions WHERE role = ?' : 'SELECT count(*) AS n FROM sessions';
    return (db.prepare(sql).get(...(role ? [role] : [])) as { n: number }).n;
  } finally {
    db.close();
  }
};

async function next(s: TestSocket, type: ServerMessage['type'], pred: (m: ServerMessage) => boolean = () => true): Promise<ServerMessage> {
  for (;;) {
    const m = await s.next();
    if (m.type === type && pred(m)) return m;
  }
}

describe('sessions and per-client caps under hostile use', () => {
  let dir: string;
  let t: Stack;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lw-hostile-sessions-'));
    t = await startStack(dir, TOKEN_A);
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.ws.terminate();
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const socket = (cookie: string, labId = 'demo', p = 'ws'): Promise<TestSocket> => openHello({ serverUrl: t.server.url, origin: t.origin, cookie, labId, path: p, track: sockets });
  const api = (p: string, init: ApiInit = {}): Promise<Response> => apiCall(t.server.url, p, init);
  const pageCookie = async (from: string): Promise<string> => {
    const r = await getFrom(t.server.url, from);
    if (!r.cookie) throw new Error(`no cookie (HTTP ${r.status})`);
    return r.cookie;
  };

  it('500 cookieless GET / → 0 session rows written; the row appears only when a page opens a lab', async () => {
    const before = sessionRows(dir);
    const cookies: string[] = [];
    // Ten source addresses, 50 each: under the per-address limit.
    for (let a = 0; a < 10; a++) {
      for (let i = 0; i < 50; i++) {
        const r = await getFrom(t.server.url, `127.0.1.${a + 1}`);
        expect(r.status).toBe(200);
        cookies.push(r.cookie!);
      }
    }
    expect(new Set(cookies).size).toBe(500);
    expect(sessionRows(dir)).toBe(before);
    // A cookie still held in memory works for the API, still without a row…
    const last = cookies[cookies.length - 1]!;
    expect((await api('labs', { cookie: last })).status).toBe(200);
    expect(sessionRows(dir)).toBe(before);
    // …and gets its row when its page opens a lab (hosts and progress hang off it from then on).
    const s = await socket(last);
    expect((await s.next()).type).toBe('welcome');
    expect(sessionRows(dir)).toBe(before + 1);
  });

  it('cookieless flood from one address → 429 with a message after N, memory bounded', async () => {
    const from = '127.0.2.1';
    let ok = 0;
    let refused: Awaited<ReturnType<typeof getFrom>> | undefined;
    for (let i = 0; i < 80; i++) {
      const r = await getFrom(t.server.url, from);
      if (r.status === 200) ok++;
      else refused ??= r;
    }
    expect(ok).toBe(50);
    expect(refused?.status).toBe(429);
    expect(Number(refused?.retryAfter)).toBeGreaterThan(0);
    expect(refused?.body).toMatch(/Too many new sessions from your address \(at most 50 a minute\)\. Reload this page in \d+ s/);
    expect(refused?.cookie).toBeUndefined();
    // Another address is not held back; a visitor with a cookie reloads freely.
    const other = await getFrom(t.server.url, '127.0.2.2');
    expect(other.status).toBe(200);
    expect((await getFrom(t.server.url, '127.0.2.2', { Cookie: other.cookie! })).status).toBe(200);
    // However many addresses flood, provisional sessions stay within their cap (100).
    for (let a = 0; a < 6; a++) for (let i = 0; i < 50; i++) await getFrom(t.server.url, `127.0.3.${a + 1}`);
    expect(t.stack.store.sessions.provisionalCount).toBeLessThanOrEqual(100);
  });

  it('40 WebSockets on one session → the 17th and later refused with a message, the first 16 keep working', async () => {
    const cookie = await pageCookie('127.0.4.1');
    const open: TestSocket[] = [];
    const refused: { code: number; reason: string }[] = [];
    for (let i = 0; i < 40; i++) {
      const s = await socket(cookie);
      const first = await Promise.race([s.next().then(() => 'message' as const), s.closed]);
      if (first === 'message') open.push(s);
      else refused.push(first);
    }
    expect(open).toHaveLength(16);
    expect(refused).toHaveLength(24);
    expect(refused[0]?.code).toBe(CloseCode.TooManyConnections);
    expect(refused[0]?.reason).toMatch(/too many open pages of this session \(at most 16\)/);
    // Closing one page makes room for another.
    open[0]!.close();
    await open[0]!.closed;
    await new Promise((r) => setTimeout(r, 50));
    const again = await socket(cookie);
    expect((await again.next()).type).toBe('welcome');
  });

  it('check-run flood → refused past the rate with an error reply, the server still answers', async () => {
    const cookie = await pageCookie('127.0.5.1');
    const s = await socket(cookie);
    await next(s, 'env-status', (m) => m.type === 'env-status' && m.state === 'ready');
    for (let i = 0; i < 30; i++) s.send({ type: 'check-run', step: 0 });
    let reports = 0;
    let tooMany = 0;
    let message = '';
    while (reports + tooMany < 30) {
      const m = await s.next();
      if (m.type === 'check-report') reports++;
      if (m.type === 'error' && m.code === 'too-many') {
        tooMany++;
        message = m.message;
      }
    }
    expect(reports).toBe(10);
    expect(tooMany).toBe(20);
    expect(message).toMatch(/too many checks: at most 10 a minute; try again in \d+ s/);
    // The server still answers: HTTP, and another session's Check.
    expect((await api('health')).status).toBe(200);
    const other = await socket(await pageCookie('127.0.5.2'));
    await next(other, 'env-status', (m) => m.type === 'env-status' && m.state === 'ready');
    other.send({ type: 'check-run', step: 0 });
    expect((await next(other, 'check-report')).type).toBe('check-report');
  });

  it('terminal flood on one session → term-open refused past the cap with a message', async () => {
    const s = await socket(await pageCookie('127.0.6.1'));
    await next(s, 'env-status', (m) => m.type === 'env-status' && m.state === 'ready');
    for (let ch = 0; ch < 10; ch++) s.send({ type: 'term-open', channel: ch, host: 'host0', cols: 80, rows: 24 });
    let opened = 0;
    let refused = '';
    let refusals = 0;
    while (opened + refusals < 10) {
      const m = await s.next();
      if (m.type === 'term-opened') opened++;
      if (m.type === 'error' && m.ref === 'term-open') {
        expect(m.code).toBe('too-many');
        refusals++;
        refused = m.message;
      }
    }
    expect(opened).toBe(4);
    expect(refused).toMatch(/too many terminals open \(at most 4 for one session/);
  });

  it('a solo page opening lab after lab → the oldest unwatched environment is freed; with every one watched, refused with a message', async () => {
    const cookie = await pageCookie('127.0.7.1');
    const demo = await socket(cookie, 'demo');
    await next(demo, 'env-status', (m) => m.type === 'env-status' && m.state === 'ready');
    const other = await socket(cookie, 'other');
    await next(other, 'env-status', (m) => m.type === 'env-status' && m.state === 'ready');
    const id = cookie.split('=')[1]!;
    const mine = (): string[] => ['demo', 'other', 'third'].filter((lab) => [...t.provider.live.values()].some((e) => e.spec.owner === ownerLabel(id, lab)));
    expect(mine()).toEqual(['demo', 'other']);
    const third = await socket(cookie, 'third');
    const failed = await next(third, 'env-status');
    expect(failed.type === 'env-status' && failed.state).toBe('failed');
    expect(failed.type === 'env-status' && failed.message).toMatch(/you already have lab hosts for 2 labs open \(demo, other\)/);
    expect(mine()).toEqual(['demo', 'other']);
    // The demo page closes: opening the third lab frees demo's hosts instead.
    demo.close();
    await demo.closed;
    await new Promise((r) => setTimeout(r, 50));
    const retry = await socket(cookie, 'third');
    await next(retry, 'env-status', (m) => m.type === 'env-status' && m.state === 'ready');
    await new Promise((r) => setTimeout(r, 50));
    expect(mine()).toEqual(['other', 'third']);
  });

  it('join flood from one address → 429 with a message, another address still joins', async () => {
    const instructor = cookieOf(await api('instructor/login', { method: 'POST', body: { token: TOKEN_A } }));
    const w = (await (await api('workshops', { method: 'POST', cookie: instructor, body: { labId: 'demo', capacity: 5, minutes: 60 } })).json()) as { joinPath: string };
    const token = w.joinPath.split('/').pop()!;
    const join = (from: string, tok: string): Promise<{ status: number; body: string; retryAfter: string | undefined }> =>
      new Promise((resolve, reject) => {
        const body = JSON.stringify({ name: 'Eve' });
        const req = request(`${t.server.url}api/join/${tok}`, { method: 'POST', localAddress: from, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, retryAfter: res.headers['retry-after'] }));
        });
        req.on('error', reject);
        req.end(body);
      });
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) statuses.push((await join('127.0.8.1', 'x'.repeat(43))).status);
    expect(statuses.slice(0, 20).every((s) => s === 404)).toBe(true);
    expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
    // Even the right link waits now from that address; another address joins.
    const held = await join('127.0.8.1', token);
    expect(held.status).toBe(429);
    expect(Number(held.retryAfter)).toBeGreaterThan(0);
    const error = (JSON.parse(held.body) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('too-many-attempts');
    expect(error.message).toMatch(/too many join attempts from your address \(at most 20 a minute\); try again in \d+ s/);
    expect((await join('127.0.8.2', token)).status).toBe(201);
  });

  it('instructor logout → 204, that cookie is refused at once and its dashboard socket is closed', async () => {
    const cookie = cookieOf(await api('instructor/login', { method: 'POST', body: { token: TOKEN_A } }));
    expect((await api('workshops', { cookie })).status).toBe(200);
    const dash = await socket(cookie, 'demo', 'dashboard-ws');
    expect((await dash.next()).type).toBe('welcome');
    const out = await api('instructor/logout', { method: 'POST', cookie });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    expect((await api('workshops', { cookie })).status).toBe(401);
    expect(await (await api('instructor/me', { cookie })).json()).toEqual({ instructor: false });
    expect((await dash.closed).code).toBe(CloseCode.Unauthorized);
  });
});

describe('a changed instructor credential', () => {
  it('old instructor cookie after the credential changes → 401, and its row is gone', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lw-hostile-cred-'));
    try {
      const a = await startStack(dir, TOKEN_A);
      const login = await fetch(`${a.server.url}api/instructor/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token: TOKEN_A }) });
      const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
      expect((await fetch(`${a.server.url}api/workshops`, { headers: { Cookie: cookie } })).status).toBe(200);
      await a.close();
      // Same data folder, restarted with token A: the cookie still works.
      const again = await startStack(dir, TOKEN_A);
      expect((await fetch(`${again.server.url}api/workshops`, { headers: { Cookie: cookie } })).status).toBe(200);
      await again.close();
      // Restarted with token B: refused, and no instructor row of the old credential is left.
      const b = await startStack(dir, TOKEN_B);
      try {
        expect(sessionRows(dir, 'instructor')).toBe(0);
        const res = await fetch(`${b.server.url}api/workshops`, { headers: { Cookie: cookie } });
        expect(res.status).toBe(401);
        expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/log in as the instructor/);
        const fresh = await fetch(`${b.server.url}api/instructor/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token: TOKEN_B }) });
        expect(fresh.status).toBe(204);
      } finally {
        await b.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
