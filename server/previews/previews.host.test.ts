// Previews against a real lab host: nginx on host0 and a WebSocket echo server bound to host0's
// loopback only (unreachable from the server's network), reached through the full server stack —
// the app's API hands out the link, the preview origin proxies over the host's SSH connection.
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { LabView } from '../../common/lab.ts';
import type { OpenPreviewAnswer, PreviewsAnswer } from '../../common/http-api.ts';
import type { WorkshopInfo } from '../../common/workshop.ts';
import type { Environment } from '../../provisioning/provider.ts';
import { canRunHosts, testProvider } from '../../provisioning/testing/host-test-support.ts';
import type { RunningServer } from '../app.ts';
import { startServer } from '../app.ts';
import { loadConfig } from '../config.ts';
import { StaticLabViews } from '../testing/static-lab-views.ts';
import { sampleLabView } from '../testing/test-labs.ts';
import { apiCall, cookieOf } from '../testing/test-server.ts';
import type { WorkshopStack } from '../workshops/workshop-stack.ts';
import { createWorkshopStack } from '../workshops/workshop-stack.ts';
import { WS_ECHO_PERL } from './ws-echo.pl.ts';

const TOKEN = 'instructor-secret-for-preview-host-test';

function lab(): LabView {
  const v = sampleLabView('web');
  v.meta.hosts = ['host0'];
  v.meta.services = { etcd: 'none', docker: false };
  v.steps[0]!.parts.push({ kind: 'preview', id: 's1-p1', host: 'host0', port: 80, label: 'nginx' }, { kind: 'preview', id: 's1-p2', host: 'host0', port: 8081, label: 'echo' });
  return v;
}

describe.skipIf(!canRunHosts)('previews through a real host’s SSH connection', () => {
  let dir: string;
  let stack: WorkshopStack;
  let server: RunningServer;
  let port: number;
  let ada: string;
  let env: Environment;
  let workshop: WorkshopInfo;
  let instructor: string;
  const api = (p: string, init: Parameters<typeof apiCall>[2] = {}) => apiCall(server.url, p, init);
  const raw = (host: string, p: string, cookie?: string) =>
    new Promise<{ status: number; body: string; cookie: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: p, headers: { Host: host, ...(cookie ? { Cookie: cookie } : {}) } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, cookie: String(res.headers['set-cookie']?.[0] ?? '').split(';')[0]! }));
      });
      req.on('error', reject);
      req.end();
    });
  const enter = async (p: number) => {
    const res = await api('labs/web/previews', { method: 'POST', cookie: ada, body: { host: 'host0', port: p } });
    const u = new URL(((await res.json()) as OpenPreviewAnswer).url);
    const entered = await raw(u.host, `${u.pathname}${u.search}`);
    expect(entered.status).toBe(303);
    return { host: u.host, origin: u.origin, cookie: entered.cookie };
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lw-previews-host-'));
    const config = loadConfig({ LABWRIGHT_INSTRUCTOR_TOKEN: TOKEN }, { port: 0, dataDir: dir, poolSize: 0 });
    const labs = new StaticLabViews([lab()]);
    stack = createWorkshopStack({ config, catalog: { get: () => undefined }, labs, provider: await testProvider(), recheckMs: 0 });
    server = await startServer(config, { labs, ...stack.appDeps });
    port = Number(new URL(server.url).port);
    instructor = cookieOf(await api('instructor/login', { method: 'POST', body: { token: TOKEN } }));
    workshop = (await (await api('workshops', { method: 'POST', cookie: instructor, body: { labId: 'web', capacity: 2, minutes: 30 } })).json()) as WorkshopInfo;
    ada = cookieOf(await api(`join/${workshop.joinPath.split('/').pop()!}`, { method: 'POST', body: { name: 'Ada' } }));
    const session = stack.store.sessions.attendeesOf(workshop.id)[0]!;
    env = await stack.workspaces.workspaces.whenReady(session.id, 'web');
  }, 180_000);
  afterAll(async () => {
    // Ending the workshop destroys its hosts (a running workshop's would be kept for the next process).
    if (workshop) await api(`workshops/${workshop.id}/end`, { method: 'POST', cookie: instructor });
    if (env) await stack.workspaces.workspaces.release(stack.store.sessions.attendeesOf(workshop.id)[0]!.id);
    await server?.close();
    await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('a closed port reads "not answering"; once nginx runs, the page is served through the tunnel on the preview origin', async () => {
    const ssh = stack.workspaces.ssh.get(env, 'host0')!;
    await ssh.exec('systemctl stop nginx; echo preview-marker-$((6*7)) > /var/www/html/index.html');
    const before = (await (await api('labs/web/previews', { cookie: ada })).json()) as PreviewsAnswer;
    expect(before.previews.find((p) => p.port === 80)?.state).toBe('closed');
    const p = await enter(80);
    const closed = await raw(p.host, '/', p.cookie);
    expect(closed.status).toBe(502);
    expect(closed.body).toContain('host0:80 is not answering');
    expect((await ssh.exec('systemctl start nginx')).code).toBe(0);
    const page = await raw(p.host, '/', p.cookie);
    expect(page.status).toBe(200);
    expect(page.body).toBe('preview-marker-42\n');
    expect((await raw(p.host, '/nope', p.cookie)).status).toBe(404);
  }, 60_000);

  it('a WebSocket server on the host’s loopback only: the preview’s page talks to it through the proxy', async () => {
    const ssh = stack.workspaces.ssh.get(env, 'host0')!;
    await ssh.exec('cat > /root/ws-echo.pl', { stdin: WS_ECHO_PERL });
    await ssh.exec('setsid perl /root/ws-echo.pl 8081 </dev/null >/root/ws-echo.log 2>&1 &');
    const up = await ssh.exec('for i in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/8081) 2>/dev/null && exit 0; sleep 0.1; done; cat /root/ws-echo.log; exit 1', { timeoutMs: 20_000 });
    expect(up.stdout).toBe('');
    const p = await enter(8081);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/live`, { headers: { Host: p.host, Origin: p.origin, Cookie: p.cookie } });
    const echoed = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => ws.send('hello over ssh'));
      ws.once('message', (m: Buffer) => resolve(m.toString()));
      ws.once('error', reject);
    });
    ws.terminate();
    expect(echoed).toBe('echo hello over ssh');
  }, 60_000);
});
