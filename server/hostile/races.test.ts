// Hostile: ending, expiring or resetting a workshop while its pages and the instructor's mirrors
// reconnect. A provider whose destroy waits for the test holds the window open; nothing may create
// hosts for an ended workshop, adopt the hosts being destroyed, or leave an environment behind.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServerMessage } from '../../common/protocol.ts';
import { CloseCode } from '../../common/protocol.ts';
import type { WorkshopInfo } from '../../common/workshop.ts';
import type { RunningServer } from '../app.ts';
import { startServer } from '../app.ts';
import { loadConfig } from '../config.ts';
import { StaticLabViews } from '../testing/static-lab-views.ts';
import { sampleLabView } from '../testing/test-labs.ts';
import type { TestSocket } from '../testing/test-server.ts';
import { apiCall, type ApiInit, cookieOf, openHello } from '../testing/test-server.ts';
import { SshError } from '../ssh/ssh-connection.ts';
import type { WorkshopStack } from '../workshops/workshop-stack.ts';
import { createWorkshopStack } from '../workshops/workshop-stack.ts';
import { ownerLabel } from '../workspaces/workspace-manager.ts';
import { FakeProvider } from '../../provisioning/testing/fake-provider.ts';

const TOKEN = 'instructor-secret-for-race-tests';

describe('hostile: end, expiry and reset racing reconnects', () => {
  let dir: string;
  let stack: WorkshopStack;
  let server: RunningServer;
  let provider: FakeProvider;
  let origin: string;
  const sockets: TestSocket[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lw-races-'));
    const config = loadConfig({ LABWRIGHT_INSTRUCTOR_TOKEN: TOKEN }, { port: 0, dataDir: dir });
    const labs = new StaticLabViews([sampleLabView('demo')]);
    provider = new FakeProvider();
    stack = createWorkshopStack({ config, catalog: { get: () => undefined }, labs, provider, recheckMs: 0 });
    server = await startServer(config, { labs, ...stack.appDeps });
    origin = new URL(server.url).origin;
  });
  afterEach(async () => {
    provider.releaseDestroys();
    for (const s of sockets.splice(0)) s.ws.terminate();
    await server.close();
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const api = (p: string, init: ApiInit = {}): Promise<Response> => apiCall(server.url, p, init);
  const socket = (cookie: string, p = 'ws'): Promise<TestSocket> => openHello({ serverUrl: server.url, origin, cookie, labId: 'demo', path: p, track: sockets });
  const until = <T>(s: TestSocket, pred: (m: ServerMessage) => T | undefined): Promise<T> => s.until(pred);
  /** A running workshop with Ada joined and her hosts ready; the instructor's cookie. */
  const workshopWithAda = async () => {
    const instructor = cookieOf(await api('instructor/login', { method: 'POST', body: { token: TOKEN } }));
    const w = (await (await api('workshops', { method: 'POST', cookie: instructor, body: { labId: 'demo', capacity: 5, minutes: 60 } })).json()) as WorkshopInfo;
    const ada = cookieOf(await api(`join/${w.joinPath.split('/').pop()!}`, { method: 'POST', body: { name: 'Ada' } }));
    const session = stack.store.sessions.attendeesOf(w.id)[0]!;
    const env = await stack.workspaces.workspaces.whenReady(session.id, 'demo');
    return { instructor, w, ada, session, env };
  };
  /** The instructor's dashboard mirroring Ada's host0: its shell never connects (fake hosts), so it retries forever. */
  const retryingMirror = async (instructor: string, attendeeId: string) => {
    const dash = await socket(instructor, 'dashboard-ws');
    await until(dash, (m) => (m.type === 'welcome' ? m : undefined));
    dash.send({ type: 'term-open', channel: 512, host: 'host0', cols: 80, rows: 24, mirrorOf: attendeeId });
    const nextAttempt = () => until(dash, (m) => (m.type === 'term-state' && m.channel === 512 && m.state === 'unreachable' ? m : undefined));
    await nextAttempt();
    return { dash, nextAttempt };
  };
  const seatEnvs = (sessionId: string) => [...provider.live.values()].filter((e) => e.spec.owner === ownerLabel(sessionId, 'demo'));

  it('end while the page reconnects: a new hello and a term-open on the closing socket during the destroy → 4010 "ended", no create()', async () => {
    const { instructor, w, ada, session } = await workshopWithAda();
    const page = await socket(ada);
    await until(page, (m) => (m.type === 'welcome' ? m : undefined));
    provider.holdDestroys();
    // As the hosts start going away, the page (which has not read its close frame yet) opens a terminal.
    provider.onDestroy = () => page.send({ type: 'term-open', channel: 0, host: 'host0', cols: 80, rows: 24 });
    const ending = api(`workshops/${w.id}/end`, { method: 'POST', cookie: instructor });
    await expect.poll(() => provider.destroying).toBe(1);
    const createsAtEnd = provider.created.length;

    const again = await socket(ada);
    const refused = await again.closed;
    expect(refused.code).toBe(CloseCode.WorkshopEnded);
    expect(refused.reason).toMatch(/ended/);
    // The server read the term-open before the page's close reply.
    expect((await page.closed).code).toBe(CloseCode.WorkshopEnded);

    provider.releaseDestroys();
    expect((await ending).status).toBe(200);
    expect(provider.created.length).toBe(createsAtEnd);
    expect(provider.live.size).toBe(0);
    expect(stack.workspaces.workspaces.get(session.id, 'demo')).toBeUndefined();
    expect(stack.store.environments.ofSession(session.id)).toEqual([]);
  });

  it('end while the instructor’s mirror keeps reopening → no create(), no workspace on the destroyed hosts', async () => {
    const { instructor, w, session, env } = await workshopWithAda();
    const mirror = await retryingMirror(instructor, session.attendeeId!);
    provider.holdDestroys();
    const ending = api(`workshops/${w.id}/end`, { method: 'POST', cookie: instructor });
    await expect.poll(() => provider.destroying).toBe(1);
    const createsAtEnd = provider.created.length;
    // The mirror retries while the hosts are being destroyed…
    const during = await mirror.nextAttempt();
    expect(during.message).toMatch(/ended/);
    provider.releaseDestroys();
    expect((await ending).status).toBe(200);
    // …and after they are gone.
    expect((await mirror.nextAttempt()).message).toMatch(/ended/);
    expect(provider.created.length).toBe(createsAtEnd);
    expect(provider.live.has(env.id)).toBe(false);
    expect(provider.live.size).toBe(0);
    expect(stack.workspaces.workspaces.get(session.id, 'demo')).toBeUndefined();
  });

  it('expiry while a mirror reopens and the page reconnects → 4010, no create(), nothing left', async () => {
    const { instructor, w, ada, session } = await workshopWithAda();
    const mirror = await retryingMirror(instructor, session.attendeeId!);
    provider.holdDestroys();
    const expiring = stack.service.sweep(w.expiresAt + 1);
    await expect.poll(() => provider.destroying).toBe(1);
    const createsAtExpiry = provider.created.length;
    const again = await socket(ada);
    expect(await again.closed).toMatchObject({ code: CloseCode.WorkshopEnded });
    expect((await mirror.nextAttempt()).message).toMatch(/ended/);
    provider.releaseDestroys();
    await expiring;
    expect((await mirror.nextAttempt()).message).toMatch(/ended/);
    expect(stack.service.get(w.id).endReason).toBe('expired');
    expect(provider.created.length).toBe(createsAtExpiry);
    expect(provider.live.size).toBe(0);
  });

  it('reset while the page reconnects and opens a terminal → never a shell on the hosts being destroyed; exactly one new environment after', async () => {
    const { instructor, w, ada, session, env: old } = await workshopWithAda();
    // Stand in for SSH: note which environment each shell is opened on.
    const opened: string[] = [];
    stack.workspaces.terminals.hub.open = (e) => {
      opened.push(e.id);
      return Promise.reject(new SshError('unreachable', 'fake hosts have no sshd'));
    };
    const page = await socket(ada);
    await until(page, (m) => (m.type === 'welcome' ? m : undefined));
    provider.holdDestroys();
    const resetting = api(`workshops/${w.id}/attendees/${session.attendeeId!}/reset`, { method: 'POST', cookie: instructor });
    await expect.poll(() => provider.destroying).toBe(1);
    expect((await page.closed).code).toBe(CloseCode.Replaced);

    // The page reconnects at once, while the old hosts are still being destroyed.
    const again = await socket(ada);
    await until(again, (m) => (m.type === 'welcome' ? m : undefined));
    again.send({ type: 'term-open', channel: 0, host: 'host0', cols: 80, rows: 24 });
    const waiting = await until(again, (m) => (m.type === 'env-status' ? m : undefined));
    expect(waiting.state).toBe('provisioning');
    // A mirror opened now waits for the new hosts too.
    const mirror = await socket(instructor, 'dashboard-ws');
    await until(mirror, (m) => (m.type === 'welcome' ? m : undefined));
    mirror.send({ type: 'term-open', channel: 512, host: 'host0', cols: 80, rows: 24, mirrorOf: session.attendeeId! });
    await until(mirror, (m) => (m.type === 'term-opened' ? m : undefined));
    expect(provider.live.has(old.id)).toBe(true);

    provider.releaseDestroys();
    expect((await resetting).status).toBe(204);
    await until(again, (m) => (m.type === 'env-status' && m.state === 'ready' ? m : undefined));
    await until(again, (m) => (m.type === 'term-state' && m.channel === 0 && m.state === 'unreachable' ? m : undefined));
    const fresh = await stack.workspaces.workspaces.whenReady(session.id, 'demo');
    expect(fresh.id).not.toBe(old.id);
    expect(opened.length).toBeGreaterThan(0);
    expect(opened.filter((id) => id === old.id)).toEqual([]);
    expect(seatEnvs(session.id).map((e) => e.id)).toEqual([fresh.id]);
    expect(stack.store.environments.find(session.id, 'demo')).toBe(fresh.id);
  });

  it('two resets and then the end, each while the previous destroy is still running → no environment left', async () => {
    const { instructor, w, ada, session } = await workshopWithAda();
    await socket(ada);
    provider.holdDestroys();
    const kicks: number[] = [];
    stack.service.onKick((_s, code) => kicks.push(code));
    const reset = () => api(`workshops/${w.id}/attendees/${session.attendeeId!}/reset`, { method: 'POST', cookie: instructor });
    const first = reset();
    await expect.poll(() => provider.destroying).toBeGreaterThan(0);
    const second = reset();
    await expect.poll(() => kicks).toEqual([CloseCode.Replaced, CloseCode.Replaced]);
    const ending = api(`workshops/${w.id}/end`, { method: 'POST', cookie: instructor });
    await expect.poll(() => kicks.length).toBe(3);
    provider.releaseDestroys();
    expect((await first).status).toBe(204);
    expect([204, 410]).toContain((await second).status);
    expect((await ending).status).toBe(200);
    // Anything a reset started after the end would show up here.
    await stack.service.sweep();
    expect(provider.live.size).toBe(0);
    expect(stack.workspaces.workspaces.get(session.id, 'demo')).toBeUndefined();
    expect(stack.store.environments.ofSession(session.id)).toEqual([]);
  });
});
