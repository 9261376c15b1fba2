// A running workshop keeps the lab version it started with, over the real server stack (compose,
// HTTP, WebSocket, SQLite; a fake provider for hosts): the author inserts a step and reorders two
// while an attendee works, and nothing about the attendee's progress moves — not after a restart
// either — until the instructor moves the workshop, when progress follows the steps by id.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LabView } from '../../common/lab.ts';
import type { ProgressState, ServerMessage } from '../../common/protocol.ts';
import type { DashboardSnapshot, WorkshopInfo } from '../../common/workshop.ts';
import { FakeProvider } from '../../provisioning/testing/fake-provider.ts';
import type { ComposedServer } from '../compose.ts';
import { composeServer } from '../compose.ts';
import { loadConfig } from '../config.ts';
import type { TestSocket } from '../testing/test-server.ts';
import { apiCall, cookieOf, openHello, sessionCookie } from '../testing/test-server.ts';

const TOKEN = 'instructor-secret-for-tests';
const step = (title: string) => `## ${title}\n\nRead this, then press Check.\n\n`;
const lab = (...titles: string[]) => `---\ntitle: Versions\nhosts: [host0]\nservices: { etcd: none, docker: false }\n---\nIntro.\n\n${titles.map(step).join('')}`;

describe('a workshop pinned to its lab version', () => {
  const dirs: string[] = [];
  const sockets: TestSocket[] = [];
  let composed: ComposedServer | undefined;
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.ws.terminate();
    await composed?.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('keeps attendees’ progress through an edit and a restart, and keys it by step id after a move', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'lw-versions-'));
    dirs.push(root);
    const labsDir = path.join(root, 'labs');
    mkdirSync(path.join(labsDir, 'demo'), { recursive: true });
    const labFile = path.join(labsDir, 'demo', 'lab.md');
    writeFileSync(labFile, lab('Alpha', 'Bravo {#b}', 'Charlie', 'Delta'));
    const config = loadConfig({ LABWRIGHT_INSTRUCTOR_TOKEN: TOKEN }, { port: 0, dataDir: path.join(root, 'data'), labsDir, basePath: '/' });
    const start = async (): Promise<ComposedServer> => (composed = await composeServer({ config: { ...config, port: 0 }, provider: new FakeProvider(), catalogDebounceMs: 20, recheckMs: 0 }));
    let srv = await start();
    const api = (p: string, init: Parameters<typeof apiCall>[2] = {}) => apiCall(srv.server.url, p, init);
    const socket = (cookie: string): Promise<TestSocket> => openHello({ serverUrl: srv.server.url, origin: new URL(srv.server.url).origin, cookie, labId: 'demo', track: sockets });
    const progressOf = (s: TestSocket): Promise<ProgressState> => s.until((m: ServerMessage) => (m.type === 'progress' ? m.progress : undefined));
    const summary = (p: ProgressState) => ({ current: p.current, done: p.done.map((d) => [d.step, d.stepId]) });

    let instructor = cookieOf(await api('instructor/login', { method: 'POST', body: { token: TOKEN } }));
    const w = (await (await api('workshops', { method: 'POST', cookie: instructor, body: { labId: 'demo', capacity: 5, minutes: 60 } })).json()) as WorkshopInfo;
    const ada = cookieOf(await api(`join/${w.joinPath.split('/').pop()!}`, { method: 'POST', body: { name: 'Ada' } }));
    const page = await socket(ada);
    await page.until((m) => (m.type === 'env-status' && m.state === 'ready' ? true : undefined));
    for (const i of [0, 1]) {
      page.send({ type: 'check-run', step: i });
      await page.until((m) => (m.type === 'progress' && m.progress.done.length === i + 1 ? true : undefined));
    }
    const snapshot = async (): Promise<DashboardSnapshot> => (await (await api(`workshops/${w.id}`, { cookie: instructor })).json()) as DashboardSnapshot;
    const before = { current: 2, done: [[0, 'alpha'], [1, 'b']] };
    expect((await snapshot()).attendees[0]?.cells).toEqual(['done', 'done', 'current', 'locked']);

    // The author inserts a step at the top and swaps the last two while Ada works.
    writeFileSync(labFile, lab('Zero', 'Alpha', 'Bravo {#b}', 'Delta', 'Charlie'));
    await expect.poll(async () => (await snapshot()).labChanged, { timeout: 10_000 }).toEqual({ movable: true });
    const pinnedView = async (): Promise<string[]> => ((await (await api('labs/demo', { cookie: ada })).json()) as LabView).steps.map((s) => s.id);
    expect(await pinnedView()).toEqual(['alpha', 'b', 'charlie', 'delta']);
    expect(summary(await progressOf(await socket(ada)))).toEqual(before);
    expect((await snapshot()).steps).toEqual(['Alpha', 'Bravo', 'Charlie', 'Delta']);
    // A solo page (the author's preview) follows the file.
    const solo = await sessionCookie(srv.server.url);
    expect(((await (await api('labs/demo', { cookie: solo })).json()) as LabView).steps.map((s) => s.id)).toEqual(['zero', 'alpha', 'b', 'delta', 'charlie']);

    // A restart keeps the pinned version.
    for (const s of sockets.splice(0)) s.ws.terminate();
    await srv.close();
    srv = await start();
    instructor = cookieOf(await api('instructor/login', { method: 'POST', body: { token: TOKEN } }));
    expect(await pinnedView()).toEqual(['alpha', 'b', 'charlie', 'delta']);
    const again = await socket(ada);
    expect(summary(await progressOf(again))).toEqual(before);
    const snap = await snapshot();
    expect(snap.labChanged).toEqual({ movable: true });
    expect(snap.attendees[0]?.cells).toEqual(['done', 'done', 'current', 'locked']);

    // The instructor moves the workshop: the page is told, and progress follows the steps by id.
    expect((await api(`workshops/${w.id}/move`, { method: 'POST', cookie: instructor })).status).toBe(200);
    await again.until((m) => (m.type === 'lab-changed' ? true : undefined));
    expect(summary(await progressOf(again))).toEqual({ current: 0, done: [[1, 'alpha'], [2, 'b']] });
    expect(await pinnedView()).toEqual(['zero', 'alpha', 'b', 'delta', 'charlie']);
    const moved = await snapshot();
    expect(moved.labChanged).toBeUndefined();
    expect(moved.steps).toEqual(['Zero', 'Alpha', 'Bravo', 'Delta', 'Charlie']);
    expect(moved.attendees[0]?.cells).toEqual(['current', 'done', 'done', 'locked', 'locked']);
    // Nothing more to move to.
    expect((await api(`workshops/${w.id}/move`, { method: 'POST', cookie: instructor })).status).toBe(409);
  });
});
