// Hostile, on real nspawn hosts: the instructor ends a workshop while the attendee's page
// reconnects and the dashboard's mirror keeps reopening its shell. The destroy is held open so
// both land inside it; afterwards nothing of the workshop may run (no process, bridge, env dir).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabView } from '../../common/lab.ts';
import type { ServerMessage } from '../../common/protocol.ts';
import { CloseCode } from '../../common/protocol.ts';
import type { WorkshopInfo } from '../../common/workshop.ts';
import { leftoversOf } from '../../provisioning/local/leftovers.ts';
import type { LocalProvider } from '../../provisioning/local/local-provider.ts';
import { canRunHosts, testConfig, testProvider } from '../../provisioning/testing/host-test-support.ts';
import type { Provider } from '../../provisioning/provider.ts';
import type { RunningServer } from '../app.ts';
import { startServer } from '../app.ts';
import { loadConfig } from '../config.ts';
import { StaticLabViews } from '../testing/static-lab-views.ts';
import { sampleLabView } from '../testing/test-labs.ts';
import type { TestSocket } from '../testing/test-server.ts';
import { apiCall, type ApiInit, cookieOf, openHello } from '../testing/test-server.ts';
import type { WorkshopStack } from '../workshops/workshop-stack.ts';
import { createWorkshopStack } from '../workshops/workshop-stack.ts';
import { ownerLabel } from '../workspaces/workspace-manager.ts';

const TOKEN = 'instructor-secret-for-race-host-tests';
const base = sampleLabView('race');
const lab: LabView = { ...base, meta: { ...base.meta, hosts: ['host0'], services: { etcd: 'none', docker: false } } };

describe.skipIf(!canRunHosts)('hostile: ending a workshop on real hosts while it reconnects', () => {
  let dir: string;
  let local: LocalProvider;
  let stack: WorkshopStack;
  let server: RunningServer;
  let origin: string;
  const sockets: TestSocket[] = [];
  /** Every create the server asked for, and a destroy that waits until the test opens it. */
  const creates: string[] = [];
  let destroying = 0;
  let openDestroys: () => void = () => undefined;
  let destroysHeld: Promise<void> = Promise.resolve();

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lw-races-host-'));
    local = await testProvider();
    const slow: Provider = {
      name: local.name,
      create: (spec, o) => {
        creates.push(spec.owner ?? '');
        return local.create(spec, o);
      },
      destroy: async (env) => {
        destroying++;
        await destroysHeld;
        await local.destroy(env);
      },
      list: () => local.list(),
    };
    const config = loadConfig({ LABWRIGHT_INSTRUCTOR_TOKEN: TOKEN }, { port: 0, dataDir: dir, poolSize: 0 });
    const labs = new StaticLabViews([lab]);
    stack = createWorkshopStack({ config, catalog: { get: () => undefined }, labs, provider: slow, recheckMs: 0 });
    server = await startServer(config, { labs, ...stack.appDeps });
    origin = new URL(server.url).origin;
  });
  afterAll(async () => {
    openDestroys();
    for (const s of sockets.splice(0)) s.ws.terminate();
    await server?.close();
    await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const api = (p: string, init: ApiInit = {}): Promise<Response> => apiCall(server.url, p, init);
  const socket = (cookie: string, p = 'ws'): Promise<TestSocket> => openHello({ serverUrl: server.url, origin, cookie, labId: 'race', path: p, track: sockets });
  const until = <T>(s: TestSocket, pred: (m: ServerMessage) => T | undefined): Promise<T> => s.until(pred);
  const state = (channel: number, want: string) => (m: ServerMessage) => (m.type === 'term-state' && m.channel === channel && m.state === want ? m : undefined);
  /** The mirror's next attempt to reopen its shell, however it ends (connected, or not). */
  const attempt = (dash: TestSocket) => until(dash, (m) => (m.type === 'term-state' && m.channel === 512 && (m.state === 'connected' || m.state === 'unreachable') ? m : undefined));

  it('end while the page reconnects and a mirror reopens its shell → 4010, no create(), and no process, bridge or env dir left', { timeout: 300_000 }, async () => {
    const instructor = cookieOf(await api('instructor/login', { method: 'POST', body: { token: TOKEN } }));
    const w = (await (await api('workshops', { method: 'POST', cookie: instructor, body: { labId: 'race', capacity: 2, minutes: 60 } })).json()) as WorkshopInfo;
    const ada = cookieOf(await api(`join/${w.joinPath.split('/').pop()!}`, { method: 'POST', body: { name: 'Ada' } }));
    const session = stack.store.sessions.attendeesOf(w.id)[0]!;
    const env = await stack.workspaces.workspaces.whenReady(session.id, 'race');
    expect(await leftoversOf(testConfig.dataDir, env.id)).not.toEqual([]);

    // Ada's terminal and the instructor's mirror of it, both on a real shell.
    const page = await socket(ada);
    await until(page, (m) => (m.type === 'welcome' ? m : undefined));
    page.send({ type: 'term-open', channel: 0, host: 'host0', cols: 80, rows: 24 });
    await until(page, state(0, 'connected'));
    const dash = await socket(instructor, 'dashboard-ws');
    await until(dash, (m) => (m.type === 'welcome' ? m : undefined));
    dash.send({ type: 'term-open', channel: 512, host: 'host0', cols: 80, rows: 24, mirrorOf: session.attendeeId! });
    await until(dash, state(512, 'connected'));

    destroysHeld = new Promise((resolve) => (openDestroys = resolve));
    const ending = api(`workshops/${w.id}/end`, { method: 'POST', cookie: instructor });
    await expect.poll(() => destroying).toBe(1);
    expect((await page.closed).code).toBe(CloseCode.WorkshopEnded);
    // Inside the destroy: the page comes back, the mirror's shell dropped and it tries again.
    const again = await socket(ada);
    expect(await again.closed).toMatchObject({ code: CloseCode.WorkshopEnded });
    expect(await attempt(dash)).toMatchObject({ state: 'unreachable', message: expect.stringMatching(/ended/) as unknown });

    openDestroys();
    expect((await ending).status).toBe(200);
    expect(await attempt(dash)).toMatchObject({ state: 'unreachable', message: expect.stringMatching(/ended/) as unknown });
    expect(creates).toEqual([ownerLabel(session.id, 'race')]);
    expect(await leftoversOf(testConfig.dataDir, env.id)).toEqual([]);
    expect((await local.list()).filter((e) => e.spec.owner === ownerLabel(session.id, 'race'))).toEqual([]);
    expect(stack.store.environments.ofSession(session.id)).toEqual([]);
  });
});
