// The workshop routes' one error middleware, over real HTTP: what the service refuses (thrown in a
// sync route or rejected in an async one) is answered with its status and code; any other failure
// goes on to the app's last-resort handler (500, no detail), never dressed up as a refusal.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningServer } from '../app.ts';
import { startServer } from '../app.ts';
import { loadConfig } from '../config.ts';
import { StaticLabViews } from '../testing/static-lab-views.ts';
import { apiCall, type ApiInit } from '../testing/test-server.ts';
import { sampleLabView } from '../testing/test-labs.ts';
import { FakeProvider } from '../../provisioning/testing/fake-provider.ts';
import { WorkshopError } from './workshop-service.ts';
import type { WorkshopStack } from './workshop-stack.ts';
import { createWorkshopStack } from './workshop-stack.ts';

const TOKEN = 'instructor-secret-for-route-tests';

describe('workshop routes: errors', () => {
  let dir: string;
  let stack: WorkshopStack;
  let server: RunningServer;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lw-workshop-routes-'));
    const config = loadConfig({ LABWRIGHT_INSTRUCTOR_TOKEN: TOKEN }, { port: 0, dataDir: dir });
    const labs = new StaticLabViews([sampleLabView('demo')]);
    stack = createWorkshopStack({ config, catalog: { get: () => undefined }, labs, provider: new FakeProvider(), recheckMs: 0 });
    server = await startServer(config, { labs, ...stack.appDeps });
  });
  afterEach(async () => {
    await server.close();
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const api = (p: string, init: ApiInit = {}): Promise<Response> => apiCall(server.url, p, init);
  const login = async (): Promise<string> => (await api('instructor/login', { method: 'POST', body: { token: TOKEN } })).headers.get('set-cookie')!.split(';')[0]!;

  it('a refusal thrown by a sync route or rejected by an async one → its status and code', async () => {
    const cookie = await login();
    const w = (await (await api('workshops', { method: 'POST', cookie, body: { labId: 'demo', capacity: 2, minutes: 30 } })).json()) as { id: string };
    const missing = await api('workshops/wNOPEnope', { cookie });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { code: 'not-found', message: 'no such workshop' } });
    expect((await api(`workshops/${w.id}/end`, { method: 'POST', cookie })).status).toBe(200);
    const reset = await api(`workshops/${w.id}/attendees/a1/reset`, { method: 'POST', cookie });
    expect(reset.status).toBe(404);
    expect(await reset.json()).toEqual({ error: { code: 'not-found', message: 'no such attendee in this workshop' } });
    expect(await api(`workshops/${w.id}/extend`, { method: 'POST', cookie, body: { minutes: 5 } })).toMatchObject({ status: 410 });
    stack.service.end = () => Promise.reject(new WorkshopError('workshop-ended', 'this workshop has ended'));
    const ended = await api(`workshops/${w.id}/end`, { method: 'POST', cookie });
    expect(ended.status).toBe(410);
    expect(await ended.json()).toEqual({ error: { code: 'workshop-ended', message: 'this workshop has ended' } });
  });

  it('any other failure, sync or async → 500 internal with no detail, and the server carries on', async () => {
    const cookie = await login();
    stack.service.snapshot = () => {
      throw new Error('secret detail of a bug');
    };
    stack.service.end = () => Promise.reject(new TypeError('another secret detail'));
    for (const r of [await api('workshops/w1', { cookie }), await api('workshops/w1/end', { method: 'POST', cookie })]) {
      expect(r.status).toBe(500);
      expect(await r.json()).toEqual({ error: { code: 'internal', message: 'internal error' } });
    }
    expect((await api('workshops', { cookie })).status).toBe(200);
  });
});
