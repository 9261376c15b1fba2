// Hostile bodies on every POST route of the API contract (common/http-api.ts), over real HTTP
// against the server `labwright serve` composes (workshop stack, SQLite; a fake provider stands
// in for hosts): malformed JSON, oversized and endless bodies, wrong types. Each is answered
// with an error body (never express's HTML page or a stack), nothing is created, and the
// server keeps answering.
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiRoute } from '../../common/http-api.ts';
import { API, fillPath } from '../../common/http-api.ts';
import type { WorkshopInfo } from '../../common/workshop.ts';
import type { RunningServer } from '../app.ts';
import { startServer } from '../app.ts';
import { loadConfig } from '../config.ts';
import { StaticLabViews } from '../testing/static-lab-views.ts';
import { sampleLabView } from '../testing/test-labs.ts';
import type { WorkshopStack } from '../workshops/workshop-stack.ts';
import { createWorkshopStack } from '../workshops/workshop-stack.ts';
import { FakeProvider } from '../../provisioning/testing/fake-provider.ts';

const TOKEN = 'instructor-token-for-hostile-bodies';

let dir: string;
let stack: WorkshopStack;
let server: RunningServer;
let instructor: string;
let workshop: WorkshopInfo;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lw-hostile-bodies-'));
  const config = loadConfig({ LABWRIGHT_INSTRUCTOR_TOKEN: TOKEN }, { port: 0, dataDir: dir });
  const labs = new StaticLabViews([sampleLabView('demo')]);
  stack = createWorkshopStack({ config, catalog: { get: () => undefined }, labs, provider: new FakeProvider(), recheckMs: 0 });
  server = await startServer(config, { labs, ...stack.appDeps });
  const res = await post('instructor/login', JSON.stringify({ token: TOKEN }));
  instructor = res.headers.get('set-cookie')!.split(';')[0]!;
  workshop = (await (await post('workshops', JSON.stringify({ labId: 'demo', capacity: 5, minutes: 60 }), instructor)).json()) as WorkshopInfo;
});

afterAll(async () => {
  await server.close();
  await stack.close();
  rmSync(dir, { recursive: true, force: true });
});

function post(p: string, body: string, cookie?: string): Promise<Response> {
  return fetch(`${server.url}api/${p}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...(cookie ? { Cookie: cookie } : {}) }, body });
}

const rank = (name: string): number => (name === 'instructorLogout' ? 2 : name === 'endWorkshop' ? 1 : 0);

/** Every POST route, its path filled with real ids, in an order where ending the workshop and logging out come last. */
function postRoutes(): { name: string; route: ApiRoute; path: string }[] {
  const sample: Record<string, string> = { id: workshop.id, token: workshop.joinPath.split('/').pop()!, attendee: 'aNobodyHere' };
  return Object.entries(API)
    .filter(([, r]) => r.method === 'POST')
    .sort(([a], [b]) => rank(a) - rank(b))
    // A route under /labs/ names a lab by `id`; the others, the workshop.
    .map(([name, r]) => ({ name, route: r, path: fillPath(r.path, Object.fromEntries(Object.keys(r.params).map((k) => [k, k === 'id' && r.path.startsWith('/labs/') ? 'demo' : sample[k]!])) as never).slice(1) }));
}

async function expectErrorBody(res: Response, status: number, code: string, what: string): Promise<string> {
  expect(res.status, what).toBe(status);
  expect(res.headers.get('content-type'), what).toMatch(/^application\/json/);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code, what).toBe(code);
  expect(body.error.message, what).not.toMatch(/at .*\.ts:\d+|SyntaxError/);
  return body.error.message;
}

/** Streams a chunked body that never ends (1 KiB at a time) until the server answers; resolves with the status and how much was sent. */
function endlessBody(p: string, cookie: string): Promise<{ status: number; sent: number; body: string }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = request(`${server.url}api/${p}`, { method: 'POST', headers: { 'Content-Type': 'application/json', Cookie: cookie, 'Transfer-Encoding': 'chunked' } }, (res) => {
      answered = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, sent, body });
      });
    });
    req.on('error', (e) => {
      if (!answered) reject(e);
    });
    req.write('{"name": "');
    const chunk = 'x'.repeat(1024);
    const pump = (): void => {
      // 16 MiB without an answer would mean the server is reading it all.
      while (!answered && sent < 16 * 1024 * 1024) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

describe('hostile JSON bodies on every POST route', () => {
  it('malformed JSON on every POST route → 400 with an error body saying so', async () => {
    for (const { name, path: p } of postRoutes()) {
      for (const body of ['{"token": ', '{name: "x"}', "{'a': 1}", '\u0000\u0001', '{"a":1}}']) {
        expect(await expectErrorBody(await post(p, body, instructor), 400, 'bad-request', `${name} ${body}`)).toBe('body: not valid JSON');
      }
    }
  });

  it('a body past 4 KiB (declared length) on every POST route → 413 too-large with an error body', async () => {
    const big = JSON.stringify({ name: 'x'.repeat(64 * 1024), token: 'y', labId: 'demo', capacity: 1, minutes: 1 });
    for (const { name, path: p } of postRoutes()) {
      await expectErrorBody(await post(p, big, instructor), 413, 'too-large', name);
    }
  });

  it('an endless chunked body on every POST route → 413 after a bounded read, connection not held open', async () => {
    for (const { name, path: p } of postRoutes()) {
      const { status, sent, body } = await endlessBody(p, instructor);
      expect(status, name).toBe(413);
      expect(JSON.parse(body), name).toMatchObject({ error: { code: 'too-large' } });
      // The server stopped at its 4 KiB bound; what was sent meanwhile is socket buffers, not reads.
      expect(sent, name).toBeLessThan(16 * 1024 * 1024);
    }
  });

  it('wrong-typed JSON on every route that reads a body → 400 naming the field; routes that read none ignore it', async () => {
    const wrong = ['[]', '"text"', 'null', '42', JSON.stringify({ token: 5, name: { a: 1 }, labId: ['demo'], capacity: '5', minutes: '60' })];
    for (const { name, route, path: p } of postRoutes()) {
      for (const body of wrong) {
        const res = await post(p, body, instructor);
        if (route.body === undefined) {
          // Its usual answer (a reset of nobody is 404), never a 400 about the body, never a 5xx.
          expect(res.status, `${name} ${body}`).not.toBe(400);
          expect(res.status, `${name} ${body}`).toBeLessThan(500);
          await res.arrayBuffer();
        } else {
          expect(await expectErrorBody(res, 400, 'bad-request', `${name} ${body}`)).toMatch(/^(body|token|name|labId|capacity|minutes|host|port|step|on): /);
        }
      }
    }
    // None of the refused bodies created anything.
    expect(stack.store.sessions.attendeesOf(workshop.id)).toEqual([]);
  });

  it('after all of it → the server still answers, and a good body still works', async () => {
    expect(await (await fetch(`${server.url}api/health`)).json()).toEqual({ status: 'ok' });
    const fresh = stack.service.create({ labId: 'demo', capacity: 5, minutes: 60 });
    const joined = await post(`join/${fresh.joinPath.split('/').pop()!}`, JSON.stringify({ name: 'Ada' }));
    expect(joined.status).toBe(201);
  });
});
