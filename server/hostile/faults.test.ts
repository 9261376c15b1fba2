// Hostile fault requests through the real server and sockets (a fake provider stands in for the
// hosts): only an instructor fires, only a fault the workshop's lab declares, only on that
// workshop's attendees — and a refused request runs nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Lab } from '../../common/lab.ts';
import { toLabView } from '../../common/lab.ts';
import type { ServerMessage } from '../../common/protocol.ts';
import type { DashboardSnapshot, WorkshopInfo } from '../../common/workshop.ts';
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

const TOKEN = 'instructor-secret-for-tests';
const SOURCE = `---
title: Faulty
hosts: [host0, host1]
---
## Start etcd

\`\`\`check
unit: { name: etcd.service, on: all }
\`\`\`

\`\`\`solve host0
systemctl start etcd
\`\`\`

\`\`\`fault etcd-down host1
# An etcd member is unwell
systemctl stop etcd
\`\`\`

\`\`\`repair etcd-down host1
systemctl start etcd
\`\`\`
`;

function labOf(id: string): Lab {
  const { lab, problems } = parseLab(SOURCE, { id, file: `${id}/lab.md` });
  if (problems.some((p) => p.severity === 'error')) throw new Error(JSON.stringify(problems));
  return lab;
}

describe('faults: hostile requests', () => {
  let dir: string;
  let stack: WorkshopStack;
  let server: RunningServer;
  const sockets: TestSocket[] = [];
  const labs = { faulty: labOf('faulty'), other: labOf('other') };

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lw-faults-'));
    const config = loadConfig({ LABWRIGHT_INSTRUCTOR_TOKEN: TOKEN }, { port: 0, dataDir: dir, basePath: '/lw/' });
    const views = new StaticLabViews([toLabView(labs.faulty), toLabView(labs.other)]);
    const catalog = { get: (id: string) => (id === 'faulty' || id === 'other' ? { ok: true as const, lab: labs[id] } : undefined) };
    stack = createWorkshopStack({ config, catalog, labs: views, provider: new FakeProvider(), recheckMs: 0 });
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
  const socket = (cookie: string, labId: string, p = 'ws'): Promise<TestSocket> => openHello({ serverUrl: server.url, origin: origin(), cookie, labId, path: p, track: sockets });
  const errorOf = (s: TestSocket) => s.until((m: ServerMessage) => (m.type === 'error' || m.type === 'fault-fired' ? m : undefined));

  async function workshop(instructor: string, labId: string): Promise<{ w: WorkshopInfo; attendee: string; cookie: string }> {
    const w = (await (await api('workshops', { method: 'POST', cookie: instructor, body: { labId, capacity: 5, minutes: 60 } })).json()) as WorkshopInfo;
    const joined = await api(`join/${w.joinPath.split('/').pop()!}`, { method: 'POST', body: { name: `Ada of ${labId}` } });
    const cookie = cookieOf(joined);
    const snap = (await (await api(`workshops/${w.id}`, { cookie: instructor })).json()) as DashboardSnapshot;
    return { w, attendee: snap.attendees[0]!.id, cookie };
  }
  const firedFaults = async (instructor: string, id: string) => ((await (await api(`workshops/${id}`, { cookie: instructor })).json()) as DashboardSnapshot).attendees.flatMap((a) => a.faults ?? []);

  it('an attendee socket sending the instructor’s fire message → error reply, nothing runs', async () => {
    const instructor = cookieOf(await api('instructor/login', { method: 'POST', body: { token: TOKEN } }));
    const { w, attendee, cookie } = await workshop(instructor, 'faulty');
    // On the attendee's own lab socket, and on the dashboard socket with the attendee's cookie.
    const page = await socket(cookie, 'faulty');
    page.send({ type: 'fault-fire', workshopId: w.id, fault: 'etcd-down', attendee });
    expect(await errorOf(page)).toMatchObject({ type: 'error', code: 'not-ready', ref: 'fault-fire' });
    const dash = await socket(cookie, 'faulty', 'dashboard-ws');
    dash.send({ type: 'fault-fire', workshopId: w.id, fault: 'etcd-down' });
    expect(await errorOf(dash)).toMatchObject({ type: 'error', code: 'forbidden', ref: 'fault-fire' });
    expect(await firedFaults(instructor, w.id)).toEqual([]);
  });

  it('an unknown fault name → a clear error naming the lab’s faults', async () => {
    const instructor = cookieOf(await api('instructor/login', { method: 'POST', body: { token: TOKEN } }));
    const { w, attendee } = await workshop(instructor, 'faulty');
    const dash = await socket(instructor, 'faulty', 'dashboard-ws');
    dash.send({ type: 'fault-fire', workshopId: w.id, fault: 'rm-rf-everything', attendee });
    expect(await errorOf(dash)).toMatchObject({ type: 'error', code: 'unknown-fault', message: 'the lab "faulty" declares no fault "rm-rf-everything"; its faults: etcd-down' });
    // A name that is no name at all never reaches the service.
    dash.send({ type: 'fault-fire', workshopId: w.id, fault: 'x'.repeat(41) });
    expect(await errorOf(dash)).toMatchObject({ type: 'error', code: 'invalid-message' });
    expect(await firedFaults(instructor, w.id)).toEqual([]);
  });

  it('another workshop’s attendee → refused, nothing runs', async () => {
    const instructor = cookieOf(await api('instructor/login', { method: 'POST', body: { token: TOKEN } }));
    const mine = await workshop(instructor, 'faulty');
    const theirs = await workshop(instructor, 'faulty');
    const dash = await socket(instructor, 'faulty', 'dashboard-ws');
    dash.send({ type: 'fault-fire', workshopId: mine.w.id, fault: 'etcd-down', attendee: theirs.attendee });
    expect(await errorOf(dash)).toMatchObject({ type: 'error', code: 'forbidden', message: 'no such attendee in this workshop' });
    // A workshop of another lab, fired from this lab's dashboard socket.
    const other = await workshop(instructor, 'other');
    dash.send({ type: 'fault-fire', workshopId: other.w.id, fault: 'etcd-down', attendee: other.attendee });
    expect(await errorOf(dash)).toMatchObject({ type: 'error', code: 'invalid-message', message: 'no such workshop on this lab' });
    expect([...(await firedFaults(instructor, mine.w.id)), ...(await firedFaults(instructor, theirs.w.id)), ...(await firedFaults(instructor, other.w.id))]).toEqual([]);
    // The instructor's own, valid request is answered per attendee: not before the fault's step is done.
    dash.send({ type: 'fault-fire', workshopId: mine.w.id, fault: 'etcd-down' });
    const answer = await errorOf(dash);
    expect(answer).toMatchObject({ type: 'fault-fired', fault: 'etcd-down', outcomes: [{ attendee: mine.attendee, ok: false }] });
    expect(await firedFaults(instructor, mine.w.id)).toEqual([]);
  });
});
