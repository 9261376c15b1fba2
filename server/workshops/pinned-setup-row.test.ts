// A dashboard row's step setup state comes from the workshop's pinned lab version: over the real
// stack (compose, HTTP, WebSocket, SQLite; a fake provider whose hosts refuse, so a setup fails),
// an attendee's current step could not be prepared, the author inserts a step before it, and the
// instructor still sees that failure on the attendee's row.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DashboardSnapshot, WorkshopInfo } from '../../common/workshop.ts';
import { FakeProvider } from '../../provisioning/testing/fake-provider.ts';
import type { ComposedServer } from '../compose.ts';
import { composeServer } from '../compose.ts';
import { loadConfig } from '../config.ts';
import type { TestSocket } from '../testing/test-server.ts';
import { apiCall, cookieOf, openHello } from '../testing/test-server.ts';

const TOKEN = 'instructor-secret-for-tests';
const FRONT = '---\ntitle: Prepared\nhosts: [host0]\nservices: { etcd: none, docker: false }\n---\nIntro.\n\n';
const STEP = (title: string): string => `## ${title}\n\n\`\`\`check\nfile: { on: host0, path: /tmp/${title} }\n\`\`\`\n\n\`\`\`solve host0\ntouch /tmp/${title}\n\`\`\`\n\n`;
const PREPARED = `## Alpha\n\n\`\`\`setup host0\ntouch /tmp/seed\n\`\`\`\n\n\`\`\`check\nfile: { on: host0, path: /tmp/alpha }\n\`\`\`\n\n\`\`\`solve host0\ntouch /tmp/alpha\n\`\`\`\n\n`;

describe('a pinned workshop’s dashboard row', () => {
  const dirs: string[] = [];
  const sockets: TestSocket[] = [];
  let composed: ComposedServer | undefined;
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.ws.terminate();
    await composed?.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('shows the setup state of the attendee’s current step of the workshop’s version after the file changes', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'lw-pinned-setup-'));
    dirs.push(root);
    const labsDir = path.join(root, 'labs');
    mkdirSync(path.join(labsDir, 'demo'), { recursive: true });
    const labFile = path.join(labsDir, 'demo', 'lab.md');
    writeFileSync(labFile, `${FRONT}${PREPARED}${STEP('bravo')}`);
    const config = loadConfig({ LABWRIGHT_INSTRUCTOR_TOKEN: TOKEN }, { port: 0, dataDir: path.join(root, 'data'), labsDir, basePath: '/' });
    const srv = (composed = await composeServer({ config, provider: new FakeProvider(), catalogDebounceMs: 20, recheckMs: 0 }));
    const api = (p: string, init: Parameters<typeof apiCall>[2] = {}) => apiCall(srv.server.url, p, init);

    const instructor = cookieOf(await api('instructor/login', { method: 'POST', body: { token: TOKEN } }));
    const w = (await (await api('workshops', { method: 'POST', cookie: instructor, body: { labId: 'demo', capacity: 5, minutes: 60 } })).json()) as WorkshopInfo;
    const ada = cookieOf(await api(`join/${w.joinPath.split('/').pop()!}`, { method: 'POST', body: { name: 'Ada' } }));
    const page = await openHello({ serverUrl: srv.server.url, origin: new URL(srv.server.url).origin, cookie: ada, labId: 'demo', track: sockets });
    await page.until((m) => (m.type === 'env-status' && m.state === 'ready' ? true : undefined));
    const snapshot = async (): Promise<DashboardSnapshot> => (await (await api(`workshops/${w.id}`, { cookie: instructor })).json()) as DashboardSnapshot;
    // Step 1's setup cannot reach the fake host: the row says so.
    await expect.poll(async () => (await snapshot()).attendees[0]?.setup?.state, { timeout: 10_000 }).toBe('failed');

    // The author inserts a step before it; the workshop runs its own version, where Alpha is still step 1.
    writeFileSync(labFile, `${FRONT}${STEP('zero')}${PREPARED}${STEP('bravo')}`);
    await expect.poll(async () => (await snapshot()).labChanged, { timeout: 10_000 }).toEqual({ movable: true });
    expect((await snapshot()).attendees[0]?.setup).toMatchObject({ step: 0, state: 'failed', host: 'host0' });
  });
});
