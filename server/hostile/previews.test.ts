// Hostile: service previews. Another attendee, a forged or reused ticket, an unissued preview name,
// and a preview's own script (running code an attendee wrote) trying to act with the viewer's
// session against the app. The hosts are fakes; the service behind the preview is a real local
// HTTP + WebSocket server reached through the preview service's connect hook.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import { request } from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import type { LabView } from '../../common/lab.ts';
import type { OpenPreviewAnswer, PreviewsAnswer } from '../../common/http-api.ts';
import type { WorkshopInfo } from '../../common/workshop.ts';
import { FakeProvider } from '../../provisioning/testing/fake-provider.ts';
import type { RunningServer } from '../app.ts';
import { startServer } from '../app.ts';
import { loadConfig } from '../config.ts';
import { StaticLabViews } from '../testing/static-lab-views.ts';
import { sampleLabView } from '../testing/test-labs.ts';
import { apiCall, cookieOf } from '../testing/test-server.ts';
import type { ApiInit } from '../testing/test-server.ts';
import type { WorkshopStack } from '../workshops/workshop-stack.ts';
import { createWorkshopStack } from '../workshops/workshop-stack.ts';

const TOKEN = 'instructor-secret-for-preview-tests';

/** The demo lab with a preview of host0:80 (a service answers) and host0:81 (nothing does). */
function previewLab(): LabView {
  const v = sampleLabView('demo');
  const first = v.steps[0]!;
  first.parts.push({ kind: 'preview', id: 's1-p1', host: 'host0', port: 80, label: 'The web page' }, { kind: 'preview', id: 's1-p2', host: 'host0', port: 81, label: '' });
  return v;
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

describe('hostile: service previews', () => {
  let dir: string;
  let stack: WorkshopStack;
  let server: RunningServer;
  let upstream: Server;
  let port: number;
  /** What the service behind the preview received, last request first. */
  const seen: IncomingHttpHeaders[] = [];
  let instructor: string;
  let ada: string;
  let bob: string;
  let adaId: string;
  let workshop: WorkshopInfo;

  /** A request to this server with any Host (as a browser on a *.localhost name sends it). */
  const raw = (host: string, p: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: p, method, headers: { Host: host, ...headers } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      });
      req.on('error', reject);
      req.end(body);
    });
  const api = (p: string, init: ApiInit = {}): Promise<Response> => apiCall(server.url, p, init);
  /** Asks the app for a preview link as `cookie`; returns its host and path. */
  const openLink = async (cookie: string, body: { host: string; port: number; attendee?: string }): Promise<{ host: string; path: string; origin: string }> => {
    const res = await api('labs/demo/previews', { method: 'POST', cookie, body });
    expect(res.status).toBe(200);
    const u = new URL(((await res.json()) as OpenPreviewAnswer).url);
    return { host: u.host, path: `${u.pathname}${u.search}`, origin: u.origin };
  };
  /** Follows the link like a browser: the ticket becomes the preview cookie. */
  const enter = async (cookie: string, body: { host: string; port: number; attendee?: string }) => {
    const link = await openLink(cookie, body);
    const res = await raw(link.host, link.path);
    expect(res.status).toBe(303);
    const preview = String(res.headers['set-cookie']?.[0] ?? '').split(';')[0]!;
    expect(preview).toMatch(/^labwright_preview=/);
    return { ...link, preview };
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lw-previews-'));
    // The attendee's service: echoes what reached it, sets a cookie that tries to reach the parent domain, echoes WebSocket messages.
    upstream = createServer((req, res) => {
      seen.unshift(req.headers);
      res.setHeader('Set-Cookie', 'app=1; Domain=localhost; Path=/');
      res.end(`hello from the service at ${req.url ?? ''}`);
    });
    const wss = new WebSocketServer({ server: upstream });
    wss.on('connection', (s) => s.on('message', (m: Buffer) => s.send(`echo ${m.toString()}`)));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const upPort = (upstream.address() as AddressInfo).port;
    const config = loadConfig({ LABWRIGHT_INSTRUCTOR_TOKEN: TOKEN }, { port: 0, dataDir: dir });
    const labs = new StaticLabViews([previewLab()]);
    stack = createWorkshopStack({
      config,
      catalog: { get: () => undefined },
      labs,
      provider: new FakeProvider(),
      recheckMs: 0,
      // host0:80 is the service; anything else refuses, as a closed port does.
      previewConnect: (_env, host, p) =>
        host === 'host0' && p === 80
          ? new Promise((resolve, reject) => {
              const s = net.connect(upPort, '127.0.0.1', () => resolve(s));
              s.once('error', reject);
            })
          : Promise.reject(new Error('Connection refused')),
    });
    server = await startServer(config, { labs, ...stack.appDeps });
    port = Number(new URL(server.url).port);
    instructor = cookieOf(await api('instructor/login', { method: 'POST', body: { token: TOKEN } }));
    workshop = (await (await api('workshops', { method: 'POST', cookie: instructor, body: { labId: 'demo', capacity: 5, minutes: 60 } })).json()) as WorkshopInfo;
    const joinToken = workshop.joinPath.split('/').pop()!;
    ada = cookieOf(await api(`join/${joinToken}`, { method: 'POST', body: { name: 'Ada' } }));
    bob = cookieOf(await api(`join/${joinToken}`, { method: 'POST', body: { name: 'Bob' } }));
    for (const s of stack.store.sessions.attendeesOf(workshop.id)) await stack.workspaces.workspaces.whenReady(s.id, 'demo');
    adaId = stack.store.sessions.attendeesOf(workshop.id).find((s) => s.displayName === 'Ada')!.attendeeId!;
  });
  afterAll(async () => {
    await server.close();
    await stack.close();
    await new Promise((r) => upstream.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('the attendee’s own preview: the page says which port answers; the link opens the service on its own origin', async () => {
    const states = (await (await api('labs/demo/previews', { cookie: ada })).json()) as PreviewsAnswer;
    expect(states.enabled).toBe(true);
    expect(states.previews.map((p) => `${p.host}:${p.port} ${p.state}`)).toEqual(['host0:80 answering', 'host0:81 closed']);
    const p = await enter(ada, { host: 'host0', port: 80 });
    expect(p.host).toMatch(new RegExp(`^[a-z2-7]{26}\\.preview\\.localhost:${port}$`));
    const page = await raw(p.host, '/wp-admin/', { Cookie: p.preview });
    expect(page.status).toBe(200);
    expect(page.body).toBe('hello from the service at /wp-admin/');
  });

  it('the app’s session cookie sent to a preview origin → never reaches the service; nor does the preview cookie; the service’s cookie is made host-only', async () => {
    const p = await enter(ada, { host: 'host0', port: 80 });
    const page = await raw(p.host, '/', { Cookie: `${ada}; ${p.preview}; theme=dark` });
    expect(page.status).toBe(200);
    expect(seen[0]?.cookie).toBe('theme=dark');
    expect(String(page.headers['set-cookie'])).not.toMatch(/domain/i);
  });

  it('another attendee asks for Ada’s preview → 403; opens Ada’s preview origin with their own cookies → 403 "Not your preview"', async () => {
    const asked = await api('labs/demo/previews', { method: 'POST', cookie: bob, body: { host: 'host0', port: 80, attendee: adaId } });
    expect(asked.status).toBe(403);
    const statuses = await api(`labs/demo/attendees/${adaId}/previews`, { cookie: bob });
    expect(statuses.status).toBe(403);
    const adas = await enter(ada, { host: 'host0', port: 80 });
    const bobs = await enter(bob, { host: 'host0', port: 80 });
    expect(bobs.host).not.toBe(adas.host);
    const page = await raw(adas.host, '/', { Cookie: `${bob}; ${bobs.preview}` });
    expect(page.status).toBe(403);
    expect(page.body).toContain('Not your preview');
  });

  it('a forged ticket, a used one, and one presented on another preview’s origin → 403, no cookie', async () => {
    const link = await openLink(ada, { host: 'host0', port: 80 });
    const forged = await raw(link.host, '/__labwright/enter?ticket=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    expect(forged.status).toBe(403);
    expect(forged.headers['set-cookie']).toBeUndefined();
    expect(forged.body).toContain('expired');
    expect((await raw(link.host, link.path)).status).toBe(303);
    const again = await raw(link.host, link.path);
    expect(again.status).toBe(403);
    expect(again.headers['set-cookie']).toBeUndefined();
    const other = await openLink(bob, { host: 'host0', port: 80 });
    const moved = await raw(link.host, other.path);
    expect(moved.status).toBe(403);
    expect(moved.headers['set-cookie']).toBeUndefined();
  });

  it('Host of a preview name the server never issued (or another port) → 421, no cookie', async () => {
    for (const host of [`abcdefghijklmnopqrstuvwxyz.preview.localhost:${port}`, `evil.preview.localhost:${port}`, 'abcdefghijklmnopqrstuvwxyz.preview.localhost:9']) {
      const res = await raw(host, '/');
      expect(res.status, host).toBe(421);
      expect(res.headers['set-cookie'], host).toBeUndefined();
    }
    const link = await openLink(ada, { host: 'host0', port: 80 });
    const wrongPort = await raw(link.host.replace(`:${port}`, ':1'), link.path);
    expect(wrongPort.status).toBe(421);
  });

  it('a script on the preview origin POSTs to the app API or opens the app WebSocket with the instructor’s cookie → 403, nothing done', async () => {
    const p = await enter(instructor, { host: 'host0', port: 80, attendee: adaId });
    const fromPreview = { Origin: p.origin, 'Sec-Fetch-Site': 'same-site', Cookie: instructor, 'Content-Type': 'application/json' };
    const end = await raw(`127.0.0.1:${port}`, `/api/workshops/${workshop.id}/end`, fromPreview, 'POST', '{}');
    expect(end.status).toBe(403);
    expect(stack.store.workshops.get(workshop.id)?.endedAt).toBeUndefined();
    // Only a header saying "another site" is enough; the API is not readable from there either.
    const list = await raw(`localhost:${port}`, '/api/workshops', { 'Sec-Fetch-Site': 'same-site', Cookie: instructor });
    expect(list.status).toBe(403);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/dashboard-ws`, { headers: { Origin: p.origin, Cookie: instructor } });
    ws.on('error', () => undefined);
    const refused = await new Promise<number>((resolve) => {
      ws.once('unexpected-response', (_r, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => resolve(101));
      ws.once('error', () => resolve(-1));
    });
    ws.terminate();
    expect(refused).toBe(403);
    // The app's own page still works, from its own origin.
    const own = await api(`workshops/${workshop.id}`, { cookie: instructor });
    expect(own.status).toBe(200);
  });

  it('the instructor opens Ada’s preview; its WebSocket passes through from its own origin, and is refused from another preview’s', async () => {
    const p = await enter(instructor, { host: 'host0', port: 80, attendee: adaId });
    expect((await raw(p.host, '/', { Cookie: p.preview })).status).toBe(200);
    const open = (o: string) => new WebSocket(`ws://127.0.0.1:${port}/socket`, { headers: { Host: p.host, Origin: o, Cookie: p.preview } });
    const ws = open(p.origin);
    const echoed = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => ws.send('ping'));
      ws.once('message', (m: Buffer) => resolve(m.toString()));
      ws.once('error', reject);
    });
    ws.terminate();
    expect(echoed).toBe('echo ping');
    const other = await enter(ada, { host: 'host0', port: 80 });
    const foreign = open(other.origin);
    foreign.on('error', () => undefined);
    const status = await new Promise<number>((resolve) => {
      foreign.once('unexpected-response', (_r, res) => resolve(res.statusCode ?? 0));
      foreign.once('open', () => resolve(101));
    });
    foreign.terminate();
    expect(status).toBe(403);
  });

  it('a closed port → 502 "host0:81 is not answering"; the preview of a reset environment → 410 "ended"', async () => {
    const closed = await enter(ada, { host: 'host0', port: 81 });
    const res = await raw(closed.host, '/', { Cookie: closed.preview });
    expect(res.status).toBe(502);
    expect(res.body).toContain('host0:81 is not answering');
    const p = await enter(ada, { host: 'host0', port: 80 });
    const reset = await api(`workshops/${workshop.id}/attendees/${adaId}/reset`, { method: 'POST', cookie: instructor });
    expect(reset.status).toBeLessThan(300);
    const after = await raw(p.host, '/', { Cookie: p.preview });
    expect(after.status).toBe(410);
    expect(after.body).toContain('This preview has ended');
  });
});
