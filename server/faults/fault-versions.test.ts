// A workshop's faults come from the lab version it is pinned to, not from the lab file as it is now:
// over the real stack (compose, HTTP, WebSocket, SQLite; a fake provider whose hosts refuse), the
// author renames a fault and inserts a step while a workshop runs, and the dashboard still offers —
// and fires — the fault the workshop's version declares, at that version's step.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FireOutcome } from '../../common/faults.ts';
import type { ServerMessage } from '../../common/protocol.ts';
import type { DashboardSnapshot, WorkshopInfo } from '../../common/workshop.ts';
import { FakeProvider } from '../../provisioning/testing/fake-provider.ts';
import type { ComposedServer } from '../compose.ts';
import { composeServer } from '../compose.ts';
import { loadConfig } from '../config.ts';
import type { TestSocket } from '../testing/test-server.ts';
import { apiCall, cookieOf, openHello } from '../testing/test-server.ts';

const TOKEN = 'instructor-secret-for-tests';
const checked = (title: string): string => `## ${title}\n\n\`\`\`check\ncommand: { on: host0, run: "true" }\n\`\`\`\n\n\`\`\`solve host0\ntrue\n\`\`\`\n\n`;
const fault = (name: string, title: string): string => `\`\`\`fault ${name} host0\n# ${title}\nrm -f /tmp/x\n\`\`\`\n\n\`\`\`repair ${name} host0\ntouch /tmp/x\n\`\`\`\n\n`;
const FRONT = '---\ntitle: Faulty versions\nhosts: [host0]\nservices: { etcd: none, docker: false }\n---\nIntro.\n\n';
const V1 = `${FRONT}${checked('One')}${fault('down', 'The old fault')}${checked('Two')}`;
// Edited while the workshop runs: a step before One, and One's fault renamed and retitled.
const V2 = `${FRONT}${checked('Zero')}${checked('One')}${fault('gone', 'The new fault')}${checked('Two')}`;

describe('faults of a pinned workshop', () => {
  const dirs: string[] = [];
  const sockets: TestSocket[] = [];
  let composed: ComposedServer | undefined;
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.ws.terminate();
    await composed?.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('offers and fires the faults of the version the workshop runs after the file changes', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'lw-fault-versions-'));
    dirs.push(root);
    const labsDir = path.join(root, 'labs');
    mkdirSync(path.join(labsDir, 'demo'), { recursive: true });
    const labFile = path.join(labsDir, 'demo', 'lab.md');
    writeFileSync(labFile, V1);
    const config = loadConfig({ LABWRIGHT_INSTRUCTOR_TOKEN: TOKEN }, { port: 0, dataDir: path.join(root, 'data'), labsDir, basePath: '/' });
    const srv = (composed = await composeServer({ config, provider: new FakeProvider(), catalogDebounceMs: 20, recheckMs: 0 }));
    const api = (p: string, init: Parameters<typeof apiCall>[2] = {}) => apiCall(srv.server.url, p, init);
    const socket = (cookie: string, p = 'ws'): Promise<TestSocket> => openHello({ serverUrl: srv.server.url, origin: new URL(srv.server.url).origin, cookie, labId: 'demo', path: p, track: sockets });

    const instructor = cookieOf(await api('instructor/login', { method: 'POST', body: { token: TOKEN } }));
    const w = (await (await api('workshops', { method: 'POST', cookie: instructor, body: { labId: 'demo', capacity: 5, minutes: 60 } })).json()) as WorkshopInfo;
    const ada = cookieOf(await api(`join/${w.joinPath.split('/').pop()!}`, { method: 'POST', body: { name: 'Ada' } }));
    const page = await socket(ada);
    await page.until((m) => (m.type === 'env-status' && m.state === 'ready' ? true : undefined));
    const snapshot = async (): Promise<DashboardSnapshot> => (await (await api(`workshops/${w.id}`, { cookie: instructor })).json()) as DashboardSnapshot;
    const oldFault = [{ name: 'down', title: 'The old fault', host: 'host0', step: 0 }];
    expect((await snapshot()).faults).toEqual(oldFault);

    writeFileSync(labFile, V2);
    await expect.poll(async () => (await snapshot()).labChanged, { timeout: 10_000 }).toEqual({ movable: true });
    // The dashboard offers the workshop version's fault, at that version's step.
    expect((await snapshot()).faults).toEqual(oldFault);

    const dash = await socket(instructor, 'dashboard-ws');
    const attendee = (await snapshot()).attendees[0]!.id;
    const fire = async (): Promise<FireOutcome[] | string> => {
      dash.send({ type: 'fault-fire', workshopId: w.id, fault: 'down', attendee });
      return dash.until((m: ServerMessage) => (m.type === 'fault-fired' ? m.outcomes : m.type === 'error' ? `${m.code}: ${m.message}` : undefined));
    };
    // Step 1 of the workshop's version is not done yet (in the file it is step 2).
    expect(await fire()).toEqual([{ attendee, name: 'Ada', ok: false, message: 'they have not finished step 1 yet, whose checks would show the repair' }]);
    // Once it is, the fault runs (and fails only because the fake hosts refuse every connection).
    const session = srv.stack.store.sessions.byAttendeeId(attendee)!;
    await srv.stack.store.progress.markDone(session.id, 'demo', { stepId: 'one', at: Date.now(), skipped: false });
    const outcomes = await fire();
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ attendee, ok: false });
    expect(typeof outcomes === 'string' ? outcomes : outcomes[0]?.message).toMatch(/^the fault's commands failed on host0/);
    expect((await snapshot()).attendees[0]?.faults).toMatchObject([{ name: 'down', state: 'failed' }]);
  });
});
