// Workshop mode through the real HTTP server and WebSockets (a fake provider stands in for
// hosts; e2e/workshop.spec.ts covers real ones): instructor login, admin routes refused
// without it, join, capacity, resume, the live dashboard, who may mirror whom, and ending.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { API, fillPath } from '../../common/http-api.ts';
import { CloseCode } from '../../common/protocol.ts';
import type { ServerMessage } from '../../common/protocol.ts';
import type { DashboardSnapshot, WorkshopInfo } from '../../common/workshop.ts';
import type { RunningServer } from '../app.ts';
import { startServer } from '../app.ts';
import { loadConfig } from '../config.ts';
import { StaticLabViews } from '../testing/static-lab-views.ts';
import { sampleLabView } from '../testing/test-labs.ts';
import type { TestSocket } from '../testing/test-server.ts';
import { apiCall, type ApiInit, cookieOf, openHello, sessionCookie } from '../testing/test-server.ts';
import { authorizeHello, isLoopback } from './workshop-access.ts';
import type { WorkshopStack } from './workshop-stack.ts';
import { createWorkshopStack } from './workshop-stack.ts';
import { ownerLabel } from '../workspaces/workspace-manager.ts';
import { FakeProvider } from '../../provisioning/testing/fake-provider.ts';

const TOKEN = 'instructor-secret-for-tests';

describe('workshops over HTTP and WebSocket', () => {
  let dir: string;
  let stack: WorkshopStack;
  let server: RunningServer;
  let provider: FakeProvider;
  let origin: string;
  const sockets: TestSocket[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lw-workshops-'));
    const config = loadConfig({ LABWRIGHT_INSTRUCTOR_TOKEN: TOKEN }, { port: 0, dataDir: dir, basePath: '/lw/' });
    const soft = sampleLabView('soft', 'Soft');
    const labs = new StaticLabViews([sampleLabView('demo'), sampleLabView('other', 'Other'), { ...soft, meta: { ...soft.meta, gate: 'soft' } }]);
    provider = new FakeProvider();
    stack = createWorkshopStack({ config, catalog: { get: () => undefined }, labs, provider, recheckMs: 0 });
    server = await startServer(config, { labs, ...stack.appDeps });
    origin = new URL(server.url).origin;
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.ws.terminate();
    await server.close();
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const api = (p: string, init: ApiInit = {}): Promise<Response> => apiCall(server.url, p, init);
  const login = async (): Promise<string> => cookieOf(await api('instructor/login', { method: 'POST', body: { token: TOKEN } }));
  const socket = (cookie: string, labId: string, p = 'ws'): Promise<TestSocket> => openHello({ serverUrl: server.url, origin, cookie, labId, path: p, track: sockets });
  const until = <T>(s: TestSocket, pred: (m: ServerMessage) => T | undefined): Promise<T> => s.until(pred);

  it('logs the instructor in with the credential only, and guards admin routes', async () => {
    const bad = await api('instructor/login', { method: 'POST', body: { token: 'wrong-token-wrong-token' } });
    expect(bad.status).toBe(401);
    const res = await api('instructor/login', { method: 'POST', body: { token: TOKEN } });
    expect(res.status).toBe(204);
    expect(res.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Strict/);
    const solo = await sessionCookie(server.url);
    expect((await api('workshops')).status).toBe(401);
    expect((await api('workshops', { cookie: solo })).status).toBe(403);
    expect((await api('workshops', { method: 'POST', cookie: solo, body: { labId: 'demo', capacity: 2, minutes: 60 } })).status).toBe(403);
    expect((await api('workshops', { cookie: cookieOf(res) })).status).toBe(200);
  });

  it('joins attendees up to capacity, resumes a returning one, and keeps attendees to their own lab', async () => {
    const instructor = await login();
    const w = (await (await api('workshops', { method: 'POST', cookie: instructor, body: { labId: 'demo', capacity: 2, minutes: 60 } })).json()) as WorkshopInfo;
    const token = w.joinPath.split('/').pop()!;
    expect((await api(`join/${token}`, { method: 'POST', body: { name: '' } })).status).toBe(400);
    const a = await api(`join/${token}`, { method: 'POST', body: { name: 'Ada' } });
    expect(a.status).toBe(201);
    const ada = cookieOf(a);
    // Reopening the link with the cookie resumes; it does not take a second seat.
    expect(await (await api(`join/${token}`, { method: 'POST', cookie: ada, body: { name: 'Ada again' } })).json()).toEqual({ labId: 'demo', resumed: true });
    const bob = cookieOf(await api(`join/${token}`, { method: 'POST', body: { name: 'Bob' } }));
    const full = await api(`join/${token}`, { method: 'POST', body: { name: 'Cy' } });
    expect(full.status).toBe(409);
    expect(((await full.json()) as { error: { message: string } }).error.message).toMatch(/full/);
    expect((await api('join/not-a-token', { method: 'POST', body: { name: 'Eve' } })).status).toBe(404);
    // Each attendee got their own environment at join.
    await expect.poll(() => provider.live.size).toBe(2);

    const wrongLab = await socket(bob, 'other');
    expect((await wrongLab.closed).code).toBe(CloseCode.Unauthorized);
    const own = await socket(ada, 'demo');
    expect(await own.next()).toMatchObject({ type: 'welcome' });

    // An attendee may not mirror anyone, nor watch the dashboard.
    const snap = (await (await api(`workshops/${w.id}`, { cookie: instructor })).json()) as DashboardSnapshot;
    const bobId = snap.attendees.find((r) => r.name === 'Bob')!.id;
    own.send({ type: 'term-open', channel: 5, host: 'host0', cols: 80, rows: 24, mirrorOf: bobId });
    expect(await until(own, (m) => (m.type === 'error' && m.ref === 'term-open' ? m : undefined))).toMatchObject({ code: 'forbidden' });
    const sneaky = await socket(ada, 'demo', 'dashboard-ws');
    await until(sneaky, (m) => (m.type === 'welcome' ? m : undefined));
    sneaky.send({ type: 'dashboard-watch', workshopId: w.id });
    expect(await until(sneaky, (m) => (m.type === 'error' ? m : undefined))).toMatchObject({ code: 'forbidden' });
  });

  it('pushes the dashboard live and ends the workshop: pages closed, environments destroyed, no rejoin', async () => {
    const instructor = await login();
    const w = (await (await api('workshops', { method: 'POST', cookie: instructor, body: { labId: 'demo', capacity: 5, minutes: 60 } })).json()) as WorkshopInfo;
    const token = w.joinPath.split('/').pop()!;
    const dash = await socket(instructor, 'demo', 'dashboard-ws');
    await until(dash, (m) => (m.type === 'welcome' ? m : undefined));
    dash.send({ type: 'dashboard-watch', workshopId: w.id });
    expect((await until(dash, (m) => (m.type === 'dashboard' ? m : undefined))).snapshot.attendees).toEqual([]);

    const ada = cookieOf(await api(`join/${token}`, { method: 'POST', body: { name: 'Ada' } }));
    const row = await until(dash, (m) => (m.type === 'dashboard' && m.snapshot.attendees[0]?.env === 'ready' ? m.snapshot.attendees[0] : undefined));
    expect(row).toMatchObject({ name: 'Ada', cells: ['current', 'locked'], current: 0, failedOnCurrent: 0 });

    // A stored check attempt and a completed step reach the dashboard without asking.
    const adaSession = stack.store.sessions.attendeesOf(w.id)[0]!.id;
    await stack.checks.progress.recordAttempt(adaSession, 'demo', 'first', false, Date.now());
    await stack.checks.progress.markDone(adaSession, 'demo', { stepId: 'first', at: Date.now(), skipped: false });
    const after = await until(dash, (m) => (m.type === 'dashboard' && m.snapshot.attendees[0]?.current === 1 ? m.snapshot.attendees[0] : undefined));
    expect(after).toMatchObject({ cells: ['done', 'current'], failedTotal: 1 });

    const page = await socket(ada, 'demo');
    expect(await page.next()).toMatchObject({ type: 'welcome' });
    expect((await api(`workshops/${w.id}/end`, { method: 'POST', cookie: instructor })).status).toBe(200);
    expect(await page.closed).toMatchObject({ code: CloseCode.WorkshopEnded });
    expect(provider.live.size).toBe(0);
    expect((await api(`join/${token}`, { method: 'POST', body: { name: 'Late' } })).status).toBe(410);
    const again = await socket(ada, 'demo');
    expect((await again.closed).code).toBe(CloseCode.WorkshopEnded);
    expect((await api(`workshops/${w.id}/extend`, { method: 'POST', cookie: instructor, body: { minutes: 15 } })).status).toBe(410);
  });

  it('serves every route of the API contract (none falls through to "no such route")', async () => {
    const instructor = await login();
    const w = (await (await api('workshops', { method: 'POST', cookie: instructor, body: { labId: 'demo', capacity: 5, minutes: 60 } })).json()) as WorkshopInfo;
    const sample = { id: w.id, token: w.joinPath.split('/').pop()!, attendee: 'aNobody' };
    // Logging out last: the routes before it are called as the instructor.
    const routes = Object.entries(API).sort(([a], [b]) => Number(a === 'instructorLogout') - Number(b === 'instructorLogout'));
    for (const [name, route] of routes) {
      const params = Object.fromEntries(Object.keys(route.params).map((k) => [k, name === 'lab' ? 'demo' : sample[k as keyof typeof sample]]));
      const res = await api(fillPath(route.path, params as never).slice(1), { method: route.method, cookie: instructor, ...(route.method === 'POST' ? { body: {} } : {}) });
      const text = await res.text();
      expect(text, `${route.method} ${route.path}`).not.toMatch(/no such API route|"not found"/);
    }
  });

  it('refuses a wrong body or parameter with 400 and a message naming the field', async () => {
    const instructor = await login();
    const refused = async (res: Promise<Response>): Promise<unknown> => {
      const r = await res;
      expect(r.status).toBe(400);
      return ((await r.json()) as { error: unknown }).error;
    };
    expect(await refused(api('workshops', { method: 'POST', cookie: instructor, body: { labId: 'demo', capacity: '5', minutes: 60 } }))).toEqual({ code: 'bad-request', message: 'capacity: capacity must be a whole number from 1 to 200' });
    expect(await refused(api('workshops', { method: 'POST', cookie: instructor, body: [1, 2] }))).toEqual({ code: 'bad-request', message: 'body: send a JSON object (Content-Type: application/json)' });
    expect(await refused(api('workshops/w%2Fx', { cookie: instructor }))).toEqual({ code: 'bad-request', message: 'id: not a valid id' });
    const w = (await (await api('workshops', { method: 'POST', cookie: instructor, body: { labId: 'demo', capacity: 5, minutes: 60 } })).json()) as WorkshopInfo;
    expect(await refused(api(`workshops/${w.id}/extend`, { method: 'POST', cookie: instructor, body: { minutes: 'soon' } }))).toMatchObject({ message: expect.stringMatching(/^minutes: extend by a whole number of minutes/) as unknown });
    const token = w.joinPath.split('/').pop()!;
    expect(await refused(api(`join/${token}`, { method: 'POST', body: { name: '\u0007' } }))).toMatchObject({ message: expect.stringMatching(/^name: /) as unknown });
    // Nothing was created by the refused requests.
    expect((await (await api('workshops', { cookie: instructor })).json()) as WorkshopInfo[]).toHaveLength(1);
  });

  it('shows steps after the current one as open, not locked, on the dashboard of a soft-gated lab', async () => {
    const instructor = await login();
    const w = (await (await api('workshops', { method: 'POST', cookie: instructor, body: { labId: 'soft', capacity: 5, minutes: 60 } })).json()) as WorkshopInfo;
    expect((await api(`join/${w.joinPath.split('/').pop()!}`, { method: 'POST', body: { name: 'Ada' } })).status).toBe(201);
    const snapshot = async (): Promise<DashboardSnapshot> => (await (await api(`workshops/${w.id}`, { cookie: instructor })).json()) as DashboardSnapshot;
    expect((await snapshot()).attendees[0]).toMatchObject({ cells: ['current', 'open'], current: 0 });
    const ada = stack.store.sessions.attendeesOf(w.id)[0]!.id;
    await stack.checks.progress.markDone(ada, 'soft', { stepId: 'second', at: Date.now(), skipped: false });
    expect((await snapshot()).attendees[0]).toMatchObject({ cells: ['current', 'done'], current: 0 });
  });

  it('exports the workshop progress as JSON and CSV to its instructor only: one row per attendee and step, with when, how long and how often', async () => {
    const instructor = await login();
    const w = (await (await api('workshops', { method: 'POST', cookie: instructor, body: { labId: 'demo', capacity: 5, minutes: 60 } })).json()) as WorkshopInfo;
    const join = await api(`join/${w.joinPath.split('/').pop()!}`, { method: 'POST', body: { name: '=Ada, "the" first' } });
    const attendee = cookieOf(join);
    const ada = stack.store.sessions.attendeesOf(w.id)[0]!;
    await stack.checks.progress.recordAttempt(ada.id, 'demo', 'first', false, ada.createdAt + 30_000);
    await stack.checks.progress.recordAttempt(ada.id, 'demo', 'first', true, ada.createdAt + 90_000);
    await stack.checks.progress.markDone(ada.id, 'demo', { stepId: 'first', at: ada.createdAt + 90_000, skipped: false });

    const json = await api(`workshops/${w.id}/export`, { cookie: instructor });
    expect(json.status).toBe(200);
    expect(json.headers.get('content-disposition')).toMatch(/^attachment; filename="demo-\d{4}-\d\d-\d\d-progress\.json"$/);
    const data = (await json.json()) as { workshop: { id: string }; rows: Record<string, unknown>[] };
    expect(data.workshop.id).toBe(w.id);
    expect(data.rows[0]).toMatchObject({ attendee: '=Ada, "the" first', step: 1, stepId: 'first', state: 'done', seconds: 90, attempts: 2, failedAttempts: 1, doneAt: new Date(ada.createdAt + 90_000).toISOString() });
    expect(data.rows[1]).toMatchObject({ step: 2, state: 'current', doneAt: null, seconds: null, attempts: 0 });

    const csv = await api(`workshops/${w.id}/export?format=csv`, { cookie: instructor });
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toBe('attendee,attendeeId,step,stepId,stepTitle,state,doneAt,seconds,attempts,failedAttempts,replayed');
    // The name is quoted and cannot run as a spreadsheet formula.
    expect(lines[1]).toMatch(/^"'=Ada, ""the"" first",[^,]+,1,first,First,done,[^,]+,90,2,1,false$/);
    expect(lines).toHaveLength(1 + data.rows.length);

    expect((await api(`workshops/${w.id}/export?format=csv`, { cookie: attendee })).status).toBe(403);
    expect((await api(`workshops/${w.id}/export`)).status).toBe(401);
    expect((await api('workshops/wNOPEnope/export', { cookie: instructor })).status).toBe(404);
  });

  it('catch-up over HTTP: instructor only, a step number checked, each attendee started or refused with why', async () => {
    const instructor = await login();
    const w = (await (await api('workshops', { method: 'POST', cookie: instructor, body: { labId: 'demo', capacity: 5, minutes: 60 } })).json()) as WorkshopInfo;
    const attendee = cookieOf(await api(`join/${w.joinPath.split('/').pop()!}`, { method: 'POST', body: { name: 'Ada' } }));
    const ada = stack.store.sessions.attendeesOf(w.id)[0]!;
    expect((await api(`workshops/${w.id}/catch-up`, { method: 'POST', cookie: attendee, body: { step: 2 } })).status).toBe(403);
    const bad = await api(`workshops/${w.id}/catch-up`, { method: 'POST', cookie: instructor, body: { step: 1 } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/^step: step must be a whole number from 2/);
    expect((await api(`workshops/${w.id}/catch-up`, { method: 'POST', cookie: instructor, body: { step: 2, attendee: 'aNobody' } })).status).toBe(404);
    // The fake provider's hosts never become ready for checks here: refused, saying why, nothing done.
    const res = await api(`workshops/${w.id}/catch-up`, { method: 'POST', cookie: instructor, body: { step: 2 } });
    expect(res.status).toBe(202);
    const outcomes = (await res.json()) as { name: string; ok: boolean; message: string }[];
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]?.name).toBe('Ada');
    expect(stack.store.progress.getSync(ada.id, 'demo').done).toEqual([]);
  });

  it('extends a running workshop from its expiry, and refuses bad input', async () => {
    const instructor = await login();
    const w = (await (await api('workshops', { method: 'POST', cookie: instructor, body: { labId: 'demo', capacity: 5, minutes: 60 } })).json()) as WorkshopInfo;
    const longer = (await (await api(`workshops/${w.id}/extend`, { method: 'POST', cookie: instructor, body: { minutes: 15 } })).json()) as WorkshopInfo;
    expect(longer.expiresAt - w.expiresAt).toBe(15 * 60_000);
    expect((await api(`workshops/${w.id}/extend`, { method: 'POST', cookie: instructor, body: { minutes: -5 } })).status).toBe(400);
    expect((await api('workshops/wNOPEnope/extend', { method: 'POST', cookie: instructor, body: { minutes: 5 } })).status).toBe(404);
    expect((await api('workshops', { method: 'POST', cookie: instructor, body: { labId: 'nope', capacity: 5, minutes: 60 } })).status).toBe(400);
    expect((await api('workshops', { method: 'POST', cookie: instructor, body: { labId: 'demo', capacity: 0, minutes: 60 } })).status).toBe(400);
  });
});

describe('workshop lifecycle without HTTP', () => {
  let dir: string;
  let stack: WorkshopStack;
  let provider: FakeProvider;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lw-workshops-'));
    provider = new FakeProvider();
    const config = loadConfig({}, { port: 0, dataDir: dir });
    stack = createWorkshopStack({ config, catalog: { get: () => undefined }, labs: new StaticLabViews([sampleLabView('demo')]), provider, recheckMs: 0 });
  });
  afterEach(async () => {
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an expired workshop frees its environments, and even a restarted server frees what a crash left', async () => {
    const w = stack.service.create({ labId: 'demo', capacity: 3, minutes: 30 });
    const token = w.joinPath.split('/').pop()!;
    expect(stack.service.join(token, 'Ada')?.ok).toBe(true);
    expect(stack.service.join(token, 'Bob')?.ok).toBe(true);
    await expect.poll(() => provider.live.size).toBe(2);
    // Not yet: the sweep leaves a running workshop alone.
    await stack.service.sweep(w.expiresAt - 1);
    expect(provider.live.size).toBe(2);
    await stack.service.sweep(w.expiresAt + 1);
    expect(provider.live.size).toBe(0);
    expect(stack.service.get(w.id).endReason).toBe('expired');
    expect(stack.service.join(token, 'Late')).toEqual({ ok: false, reason: 'expired' });
  });

  it('reset gives an attendee a new environment and a clean slate, and leaves others alone', async () => {
    const w = stack.service.create({ labId: 'demo', capacity: 3, minutes: 30 });
    const token = w.joinPath.split('/').pop()!;
    const ada = stack.service.join(token, 'Ada');
    const bob = stack.service.join(token, 'Bob');
    if (!ada?.ok || !bob?.ok) throw new Error('join failed');
    await expect.poll(() => provider.live.size).toBe(2);
    const adaEnv = await stack.workspaces.workspaces.whenReady(ada.session.id, 'demo');
    const bobEnv = await stack.workspaces.workspaces.whenReady(bob.session.id, 'demo');
    await stack.store.progress.markDone(ada.session.id, 'demo', { stepId: 'first', at: 1, skipped: false });
    await stack.store.progress.markDone(bob.session.id, 'demo', { stepId: 'first', at: 1, skipped: false });
    const kicked: string[] = [];
    stack.service.onKick((sessionId, code) => kicked.push(`${sessionId === ada.session.id ? 'ada' : 'other'} ${code}`));

    await stack.service.reset(w.id, ada.session.attendeeId!);
    expect(kicked).toEqual([`ada ${CloseCode.Replaced}`]);
    expect(provider.live.has(adaEnv.id)).toBe(false);
    expect(provider.live.has(bobEnv.id)).toBe(true);
    expect((await stack.workspaces.workspaces.whenReady(ada.session.id, 'demo')).id).not.toBe(adaEnv.id);
    expect(stack.service.snapshot(w.id).attendees.map((r) => [r.name, r.current])).toEqual([
      ['Ada', 0],
      ['Bob', 1],
    ]);
    await expect(stack.service.reset(w.id, 'a000000000000')).rejects.toThrow('no such attendee');
  });

  it('a clean shutdown keeps a running workshop’s hosts for the next process and frees solo ones', async () => {
    const w = stack.service.create({ labId: 'demo', capacity: 3, minutes: 30 });
    const ada = stack.service.join(w.joinPath.split('/').pop()!, 'Ada');
    if (!ada?.ok) throw new Error('join failed');
    const solo = await stack.store.sessions.create();
    const adaEnv = await stack.workspaces.workspaces.acquire(ada.session.id, 'demo').whenReady();
    const soloEnv = await stack.workspaces.workspaces.acquire(solo.id, 'demo').whenReady();
    await stack.close();
    expect([...provider.live.keys()]).toEqual([adaEnv.id]);
    expect(soloEnv.id).not.toBe(adaEnv.id);

    stack = createWorkshopStack({ config: loadConfig({}, { port: 0, dataDir: dir }), catalog: { get: () => undefined }, labs: new StaticLabViews([sampleLabView('demo')]), provider, recheckMs: 0 });
    expect((await stack.workspaces.workspaces.acquire(ada.session.id, 'demo').whenReady()).id).toBe(adaEnv.id);
    await stack.service.end(w.id);
    expect(provider.live.size).toBe(0);
  });

  it('after a crash, start() keeps attendees’ hosts, destroys a dead pool’s, and gives solo hosts the grace time', async () => {
    const w = stack.service.create({ labId: 'demo', capacity: 3, minutes: 30 });
    const ada = stack.service.join(w.joinPath.split('/').pop()!, 'Ada');
    if (!ada?.ok) throw new Error('join failed');
    const adaEnv = await stack.workspaces.workspaces.whenReady(ada.session.id, 'demo');
    // What kill -9 leaves: solo sessions' hosts still recorded, a warm pool nobody will drain.
    const leftover = async (owner: string, creatorPid: number, sessionId?: string): Promise<string> => {
      const env = await provider.create({ hosts: ['host0'], services: { etcd: 'none', docker: false }, owner });
      provider.live.set(env.id, { ...env, creatorPid });
      if (sessionId) stack.store.environments.record(sessionId, 'demo', env.id);
      return env.id;
    };
    const DEAD = 0x7ffffff0;
    const gone = (await stack.store.sessions.create()).id;
    const back = (await stack.store.sessions.create()).id;
    const goneEnv = await leftover(ownerLabel(gone, 'demo'), DEAD, gone);
    const backEnv = await leftover(ownerLabel(back, 'demo'), DEAD, back);
    const deadPool = await leftover('pool', DEAD);
    const unrecorded = await leftover(ownerLabel('never-recorded', 'demo'), DEAD);
    // Another live process's pool on the same data directory, and `labwright env up`'s hosts.
    const otherPool = await leftover('pool', process.ppid);
    const cli = await leftover('cli', DEAD);
    await stack.close();

    const config = loadConfig({}, { port: 0, dataDir: dir, reconnectGraceMs: 150 });
    stack = createWorkshopStack({ config, catalog: { get: () => undefined }, labs: new StaticLabViews([sampleLabView('demo')]), provider, recheckMs: 0 });
    await stack.start();
    expect(provider.live.has(deadPool) || provider.live.has(unrecorded)).toBe(false);
    expect([adaEnv.id, goneEnv, backEnv, otherPool, cli].every((id) => provider.live.has(id))).toBe(true);
    // One solo page comes back in time and gets its own hosts; the other never does.
    expect((await stack.workspaces.workspaces.acquire(back, 'demo').whenReady()).id).toBe(backEnv);
    await expect.poll(() => provider.live.has(goneEnv)).toBe(false);
    expect(stack.store.environments.find(gone, 'demo')).toBeUndefined();
    expect([adaEnv.id, backEnv, otherPool, cli].every((id) => provider.live.has(id))).toBe(true);
    expect((await stack.workspaces.workspaces.acquire(ada.session.id, 'demo').whenReady()).id).toBe(adaEnv.id);
    await stack.service.end(w.id);
    await stack.close();
    expect([...provider.live.keys()].sort()).toEqual([cli, otherPool].sort());
  });

  it('with a warm pool configured, creating a workshop fills it and a joining attendee gets a ready environment', async () => {
    await stack.close();
    provider = new FakeProvider();
    stack = createWorkshopStack({ config: loadConfig({}, { port: 0, dataDir: dir, poolSize: 2 }), catalog: { get: () => undefined }, labs: new StaticLabViews([sampleLabView('demo')]), provider, recheckMs: 0, bootsHosts: true });
    const w = stack.service.create({ labId: 'demo', capacity: 3, minutes: 30 });
    await expect.poll(() => provider.live.size).toBe(2);
    const ada = stack.service.join(w.joinPath.split('/').pop()!, 'Ada');
    if (!ada?.ok) throw new Error('join failed');
    const env = await stack.workspaces.workspaces.whenReady(ada.session.id, 'demo');
    expect(env.id).toMatch(/^env[12]$/);
    // The pool refills behind the claim; ending the workshop and closing leave nothing.
    await expect.poll(() => provider.live.size).toBe(3);
    await stack.service.end(w.id);
    await stack.close();
    expect(provider.live.size).toBe(0);
  });

  it('refuses anonymous solo sessions on a server that is not bound to loopback', async () => {
    const solo = await stack.store.sessions.create();
    const open = authorizeHello(stack.store, { soloAllowed: true });
    const guarded = authorizeHello(stack.store, { soloAllowed: false });
    expect(open(solo, 'demo')).toEqual({ ok: true });
    expect(guarded(solo, 'demo')).toMatchObject({ ok: false, code: CloseCode.Unauthorized });
    expect(isLoopback('127.0.0.1') && isLoopback('::1') && !isLoopback('0.0.0.0')).toBe(true);
  });
});
