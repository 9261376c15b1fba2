// A disk that fills up while the server runs (a real tmpfs as the data folder, filled to ENOSPC):
// writes that fail are answered with a clear 503 / WebSocket `unavailable` error, nothing unsaved is
// reported as saved, the server keeps running, and it works again once space is freed.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerMessage } from '../../common/protocol.ts';
import { CloseCode, PROTOCOL_VERSION } from '../../common/protocol.ts';
import type { RunningServer } from '../app.ts';
import { startServer } from '../app.ts';
import { loadConfig } from '../config.ts';
import { catalogViews } from '../http/catalog-views.ts';
import { TestSocket, sessionCookie } from '../testing/test-server.ts';
import type { LabCatalog } from '../labs/lab-catalog.ts';
import { createLabCatalog } from '../labs/lab-catalog.ts';
import type { WorkshopStack } from '../workshops/workshop-stack.ts';
import { createWorkshopStack } from '../workshops/workshop-stack.ts';
import { FakeProvider } from '../../provisioning/testing/fake-provider.ts';
import { fillDisk } from '../testing/fill-disk.ts';

const pexec = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const TOKEN = 'instructor-secret-for-disk-full';

describe.skipIf(!isRoot)('a disk that fills up while serving', () => {
  let tmp: string;
  let dataDir: string;
  let mounted = false;
  let catalog: LabCatalog;
  let stack: WorkshopStack;
  let server: RunningServer;
  let origin: string;
  const filler = (): string => path.join(dataDir, 'filler');

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-disk-full-'));
    const labsDir = path.join(tmp, 'labs');
    fs.mkdirSync(path.join(labsDir, 'demo'), { recursive: true });
    fs.writeFileSync(path.join(labsDir, 'demo', 'lab.md'), '---\ntitle: Demo\nhosts: [host0]\n---\nIntro.\n\n## Read this\n\nNothing to do.\n\n## Then this\n\nNothing either.\n');
    dataDir = path.join(tmp, 'data');
    fs.mkdirSync(dataDir);
    await pexec('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', dataDir]);
    mounted = true;
    const config = loadConfig({ LABWRIGHT_INSTRUCTOR_TOKEN: TOKEN }, { port: 0, dataDir, labsDir });
    catalog = await createLabCatalog(labsDir);
    const labs = catalogViews(catalog);
    stack = createWorkshopStack({ config, catalog, labs, provider: new FakeProvider(), recheckMs: 0 });
    await stack.start();
    server = await startServer(config, { labs, ...stack.appDeps });
    origin = new URL(server.url).origin;
  });

  afterAll(async () => {
    try {
      await server?.close();
      await stack?.close();
      catalog?.close();
    } finally {
      if (mounted) await pexec('umount', [dataDir]).catch(() => pexec('umount', ['-l', dataDir]));
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });


  const login = (): Promise<Response> =>
    fetch(`${server.url}api/instructor/login`, { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: origin }, body: JSON.stringify({ token: TOKEN }) });

  async function until(s: TestSocket, pred: (m: ServerMessage) => boolean, seen: ServerMessage[]): Promise<ServerMessage> {
    for (;;) {
      const m = await s.next();
      seen.push(m);
      if (pred(m)) return m;
    }
  }

  it('a check that passes on a full disk → "unavailable: not saved", no progress sent; once freed, saved; the server never stops', async () => {
    const cookie = await sessionCookie(server.url);
    const s = new TestSocket(`${server.url.replace('http', 'ws')}ws`, { Cookie: cookie, Origin: origin });
    try {
      await s.opened;
      s.send({ type: 'hello', version: PROTOCOL_VERSION, labId: 'demo' });
      const seen: ServerMessage[] = [];
      await until(s, (m) => m.type === 'env-status' && m.state === 'ready', seen);

      fillDisk(filler());
      s.send({ type: 'check-run', step: 0 });
      const refused = await until(s, (m) => m.type === 'error', seen);
      expect(refused).toMatchObject({ type: 'error', code: 'unavailable', ref: 'check-run' });
      expect(refused.type === 'error' && refused.message).toMatch(/disk is full: this change was not saved/);
      // Nothing told the page the step was done.
      expect(seen.filter((m) => m.type === 'progress' && m.progress.done.some((d) => d.step === 0))).toEqual([]);

      // HTTP writes on the full disk: 503 with a clear message, not a 500.
      const res = await login();
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('30');
      expect(await res.json()).toEqual({ error: { code: 'unavailable', message: expect.stringMatching(/disk is full: this change was not saved/) as unknown } });

      // A new page whose session is not yet on disk: told, closed so it retries; nothing else is hurt.
      const late = new TestSocket(`${server.url.replace('http', 'ws')}ws`, { Cookie: await sessionCookie(server.url), Origin: origin });
      try {
        await late.opened;
        late.send({ type: 'hello', version: PROTOCOL_VERSION, labId: 'demo' });
        expect(await late.next()).toMatchObject({ type: 'error', code: 'unavailable', ref: 'hello' });
        expect(await late.closed).toEqual({ code: CloseCode.ServerShutdown, reason: 'the server cannot save right now; retrying' });
      } finally {
        late.ws.terminate();
      }

      // Space again: the same socket and server carry on, and the step is saved and reported.
      fs.rmSync(filler());
      s.send({ type: 'check-run', step: 0 });
      const saved = await until(s, (m) => m.type === 'progress' || m.type === 'error', seen);
      expect(saved.type === 'progress' && saved.progress.done.map((d) => d.step)).toEqual([0]);
      expect((await login()).status).toBe(204);
    } finally {
      s.ws.terminate();
    }
  });
});
