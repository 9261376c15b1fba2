// Hostile "Reset this step" requests through the real server, socket and route (a fake provider with
// snapshots stands in for the hosts): only the attendee's own hosts or an instructor's, only from the
// server's own pages, bad input answered clearly, and two presses at once make one restore, not two.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Lab } from '../../common/lab.ts';
import { toLabView } from '../../common/lab.ts';
import type { ServerMessage, StepResetStatus } from '../../common/protocol.ts';
import type { WorkshopInfo } from '../../common/workshop.ts';
import { FakeProvider } from '../../provisioning/testing/fake-provider.ts';
import type { RunningServer } from '../app.ts';
import { startServer } from '../app.ts';
import { loadConfig } from '../config.ts';
import { parseLab } from '../labs/parse-lab.ts';
import { StaticLabViews } from '../testing/static-lab-views.ts';
import type { TestSocket } from '../testing/test-server.ts';
import { apiCall, cookieOf, openHello } from '../testing/test-server.ts';
import type { WorkshopStack } from '../workshops/workshop-stack.ts';
import { createWorkshopStack } from '../workshops/workshop-stack.ts';

const TOKEN = 'instructor-secret-for-step-reset-tests';
const SOURCE = `---
title: Reset me
hosts: [host0]
services: { etcd: none, docker: false }
---
## One

\`\`\`check
file: { on: host0, path: /root/one }
\`\`\`

## Two

\`\`\`check
file: { on: host0, path: /root/two }
\`\`\`
`;

function labOf(id: string): Lab {
  const { lab, problems } = parseLab(SOURCE, { id, file: `${id}/lab.md` });
  if (problems.some((p) => p.severity === 'error')) throw new Error(JSON.stringify(problems));
  return lab;
}

describe('hostile: step reset', () => {
  let dir: string;
  let stack: WorkshopStack;
  let server: RunningServer;
  let provider: FakeProvider;
  const sockets: TestSocket[] = [];
  const lab = labOf('reset');

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lw-step-reset-'));
    const config = loadConfig({ LABWRIGHT_INSTRUCTOR_TOKEN: TOKEN }, { port: 0, dataDir: dir, basePath: '/lw/' });
    const views = new StaticLabViews([toLabView(lab)]);
    provider = new FakeProvider();
    stack = createWorkshopStack({ config, catalog: { get: (id: string) => (id === 'reset' ? { ok: true as const, lab } : undefined) }, labs: views, provider, recheckMs: 0 });
    server = await startServer(config, { labs: views, ...stack.appDeps });
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.ws.terminate();
    await server.close();
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const origin = (): string => new URL(server.url).origin;
  const api = (p: string, init: Parameters<typeof apiCall>[2] = {}) => apiCall(server.url, p, init);
  const socket = (cookie: string): Promise<TestSocket> => openHello({ serverUrl: server.url, origin: origin(), cookie, labId: 'reset', track: sockets });
  const resetOf = (s: TestSocket, state?: StepResetStatus['state']) => s.until((m: ServerMessage) => (m.type === 'step-reset' && (!state || m.reset.state === state) ? m.reset : undefined));
  const login = async (): Promise<string> => cookieOf(await api('instructor/login', { method: 'POST', body: { token: TOKEN } }));

  /** A workshop with two attendees whose hosts are ready and whose first step's snapshot is taken. */
  async function workshop() {
    const instructor = await login();
    const w = (await (await api('workshops', { method: 'POST', cookie: instructor, body: { labId: 'reset', capacity: 5, minutes: 60 } })).json()) as WorkshopInfo;
    const join = async (name: string) => {
      const cookie = cookieOf(await api(`join/${w.joinPath.split('/').pop()!}`, { method: 'POST', body: { name } }));
      const session = stack.store.sessions.attendeesOf(w.id).find((s) => s.displayName === name)!;
      const env = await stack.workspaces.workspaces.whenReady(session.id, 'reset');
      await expect.poll(() => provider.snapshots.get(env.id)?.size ?? 0).toBe(1);
      return { cookie, attendee: session.attendeeId!, env };
    };
    return { instructor, w, ada: await join('Ada'), bob: await join('Bob') };
  }
  const resetRoute = (w: WorkshopInfo, attendee: string, cookie?: string) => api(`workshops/${w.id}/attendees/${attendee}/reset-step`, { method: 'POST', ...(cookie ? { cookie } : {}) });

  it('the attendee’s own Reset this step → running, then done, on their hosts only', async () => {
    const { ada } = await workshop();
    const page = await socket(ada.cookie);
    await page.until((m) => (m.type === 'progress' ? m : undefined));
    page.send({ type: 'step-reset', step: 0 });
    expect(await resetOf(page)).toMatchObject({ step: 0, state: 'running' });
    expect(await resetOf(page)).toMatchObject({ step: 0, state: 'done' });
    expect(provider.restored).toEqual([`${ada.env.id}/step`]);
  });

  it('an attendee calling the instructor’s route for another attendee (or their own) → 403, nothing restored', async () => {
    const { w, ada, bob } = await workshop();
    for (const who of [bob.attendee, ada.attendee]) {
      const r = await resetRoute(w, who, ada.cookie);
      expect(r.status).toBe(403);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    }
    expect((await resetRoute(w, bob.attendee)).status).toBe(401);
    expect(provider.restored).toEqual([]);
  });

  it('the instructor’s route from another site’s page (Origin evil.example, instructor cookie) → 403, nothing restored', async () => {
    const { instructor, w, ada } = await workshop();
    const r = await fetch(`${server.url}api/workshops/${w.id}/attendees/${ada.attendee}/reset-step`, { method: 'POST', headers: { Cookie: instructor, Origin: 'http://evil.example' } });
    expect(r.status).toBe(403);
    const site = await fetch(`${server.url}api/workshops/${w.id}/attendees/${ada.attendee}/reset-step`, { method: 'POST', headers: { Cookie: instructor, 'Sec-Fetch-Site': 'cross-site' } });
    expect(site.status).toBe(403);
    expect(provider.restored).toEqual([]);
  });

  it('bad input → a clear answer, not a crash: unknown or malformed attendee, another workshop’s attendee, a step that is not open, a malformed step', async () => {
    const { instructor, w, ada } = await workshop();
    const missing = await resetRoute(w, 'a-nobody', instructor);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { code: 'not-found', message: 'no such attendee in this workshop' } });
    expect((await resetRoute(w, '..%2F..%2Fetc', instructor)).status).toBe(400);
    const other = (await (await api('workshops', { method: 'POST', cookie: instructor, body: { labId: 'reset', capacity: 5, minutes: 60 } })).json()) as WorkshopInfo;
    expect((await resetRoute(other, ada.attendee, instructor)).status).toBe(404);

    const page = await socket(ada.cookie);
    await page.until((m) => (m.type === 'progress' ? m : undefined));
    page.send({ type: 'step-reset', step: 1 });
    expect(await resetOf(page)).toEqual({ step: 1, state: 'unavailable', code: 'not-current', message: 'only the step that is open now can be reset' });
    for (const bad of [{ type: 'step-reset', step: -1 }, { type: 'step-reset', step: 'one' }, { type: 'step-reset' }, { type: 'step-reset', step: 0, attendee: 'someone-else' }]) {
      page.send(bad);
      expect(await page.until((m) => (m.type === 'error' ? m : undefined))).toMatchObject({ code: 'invalid-message' });
    }
    expect(provider.restored).toEqual([]);
    // The connection still works.
    page.send({ type: 'step-reset', step: 0 });
    expect(await resetOf(page, 'done')).toMatchObject({ step: 0 });
    expect(provider.restored).toEqual([`${ada.env.id}/step`]);
  });

  it('the attendee’s press and the instructor’s while a reset runs → one restore, both told it is done', async () => {
    const { instructor, w, ada } = await workshop();
    const page = await socket(ada.cookie);
    const second = await socket(ada.cookie);
    await page.until((m) => (m.type === 'progress' ? m : undefined));
    await second.until((m) => (m.type === 'progress' ? m : undefined));
    const release = provider.holdNextRestore();
    page.send({ type: 'step-reset', step: 0 });
    expect(await resetOf(page)).toMatchObject({ state: 'running' });
    await expect.poll(() => provider.restored.length).toBe(1);
    expect(await resetOf(second)).toMatchObject({ state: 'running' });
    // The same attendee's other page and the instructor press meanwhile: the page is told it runs already.
    second.send({ type: 'step-reset', step: 0 });
    expect(await resetOf(second)).toMatchObject({ state: 'running' });
    const serviceResetStep = stack.service.resetStep.bind(stack.service);
    let routeCalls = 0;
    stack.service.resetStep = (...a) => (routeCalls++, serviceResetStep(...a));
    const byInstructor = resetRoute(w, ada.attendee, instructor);
    await expect.poll(() => routeCalls).toBe(1);
    release();
    expect((await byInstructor).status).toBe(200);
    expect(await (await byInstructor).json()).toMatchObject({ step: 0, state: 'done' });
    expect(await resetOf(second, 'done')).toMatchObject({ step: 0 });
    expect(await resetOf(page, 'done')).toMatchObject({ step: 0 });
    expect(provider.restored).toEqual([`${ada.env.id}/step`]);
  });
});
