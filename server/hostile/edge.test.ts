// Hostile: requests for names the server does not serve (DNS rebinding), WebSocket upgrades from
// foreign or lookalike origins, forwarded headers from peers that are not a configured proxy.
// Everything over real HTTP and WebSocket against the real server.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../app.ts';
import { startServer } from '../app.ts';
import { loadConfig } from '../config.ts';
import { StaticLabViews } from '../testing/static-lab-views.ts';
import { sampleLabView } from '../testing/test-labs.ts';
import { rawRequest, tryUpgrade } from '../testing/test-request.ts';
import type { TestServer } from '../testing/test-server.ts';
import { sessionCookie, startTestServer } from '../testing/test-server.ts';
import type { WorkshopStack } from '../workshops/workshop-stack.ts';
import { createWorkshopStack } from '../workshops/workshop-stack.ts';
import { FakeProvider } from '../../provisioning/testing/fake-provider.ts';

describe('hostile: Host and Origin at the edge (solo server on loopback)', () => {
  let t: TestServer;
  let port: string;
  let cookie: string;
  beforeAll(async () => {
    t = await startTestServer();
    port = new URL(t.origin).port;
    cookie = await sessionCookie(t.server.url);
  });
  afterAll(() => t.server.close());
  const wsUrl = (): string => `${t.server.url.replace('http', 'ws')}ws`;

  it('GET / with Host evil.example (a DNS-rebinding page) → 421, no session cookie', async () => {
    for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1.evil.example:${port}`, `localhost:${Number(port) + 1}`]) {
      const res = await rawRequest(t.server.url, { headers: { Host: host } });
      expect(res.status, host).toBe(421);
      expect(res.headers['set-cookie'], host).toBeUndefined();
      expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'misdirected' } });
    }
  });

  it('API and assets with a foreign Host → 421 as well, even with a valid cookie', async () => {
    for (const p of ['api/labs', 'api/health', 'assets/app.js', 'nope']) {
      const res = await rawRequest(`${t.server.url}${p}`, { headers: { Host: `evil.example:${port}`, Cookie: cookie } });
      expect(res.status, p).toBe(421);
    }
  });

  it('GET / with a loopback name of this server → 200 and a cookie', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`]) {
      const res = await rawRequest(t.server.url, { headers: { Host: host } });
      expect(res.status, host).not.toBe(421);
      expect(res.headers['set-cookie'], host).toBeDefined();
    }
  });

  it('WebSocket upgrade with Host and Origin evil.example (the rebinding page’s own) → 421, no WebSocket', async () => {
    const r = await tryUpgrade(wsUrl(), { headers: { Host: `evil.example:${port}`, Origin: `http://evil.example:${port}`, Cookie: cookie } });
    expect(r.status).toBe(421);
    expect(r.ws).toBeUndefined();
  });

  it('WebSocket upgrade with a foreign Host but our Origin → 421, no WebSocket', async () => {
    const r = await tryUpgrade(wsUrl(), { headers: { Host: `evil.example:${port}`, Origin: t.origin, Cookie: cookie } });
    expect(r.status).toBe(421);
  });

  it('WebSocket upgrade with Origin on the same host but another port or scheme → 403', async () => {
    for (const origin of [`http://127.0.0.1:${Number(port) + 1}`, `https://127.0.0.1:${port}`, 'http://127.0.0.1', `http://127.0.0.1:${port}.evil.example`]) {
      const r = await tryUpgrade(wsUrl(), { headers: { Origin: origin, Cookie: cookie } });
      expect(r.status, origin).toBe(403);
    }
  });

  it('WebSocket upgrade with Origin null or no Origin → 403', async () => {
    expect((await tryUpgrade(wsUrl(), { headers: { Origin: 'null', Cookie: cookie } })).status).toBe(403);
    expect((await tryUpgrade(wsUrl(), { headers: { Cookie: cookie } })).status).toBe(403);
  });

  it('WebSocket upgrade from a loopback name of this server → opens (the guard lets the real page in)', async () => {
    const r = await tryUpgrade(wsUrl(), { headers: { Host: `localhost:${port}`, Origin: `http://localhost:${port}`, Cookie: cookie } });
    expect(r.status).toBe(101);
    r.ws?.close();
  });

  it('request through an undeclared proxy (X-Forwarded-For) to a solo server → 403, no cookie, no WebSocket', async () => {
    const res = await rawRequest(t.server.url, { headers: { 'X-Forwarded-For': '203.0.113.9' } });
    expect(res.status).toBe(403);
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(res.body).toMatch(/solo mode/);
    const r = await tryUpgrade(wsUrl(), { headers: { Origin: t.origin, Cookie: cookie, 'X-Forwarded-For': '203.0.113.9' } });
    expect(r.status).toBe(403);
  });
});

describe('hostile: forwarded headers on a workshop server with a trusted proxy elsewhere', () => {
  const TOKEN = 'instructor-secret-for-edge-tests';
  let dir: string;
  let stack: WorkshopStack;
  let server: RunningServer;
  let port: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lw-edge-'));
    // The only trusted proxy is 10.9.9.9: every peer of these tests (127.0.0.x) is untrusted.
    const config = loadConfig({ LABWRIGHT_INSTRUCTOR_TOKEN: TOKEN, LABWRIGHT_TRUSTED_PROXY: '10.9.9.9' }, { port: 0, dataDir: dir });
    const labs = new StaticLabViews([sampleLabView('demo')]);
    stack = createWorkshopStack({ config, catalog: { get: () => undefined }, labs, provider: new FakeProvider(), recheckMs: 0 });
    server = await startServer(config, { labs, ...stack.appDeps });
    port = new URL(server.url).port;
  });
  afterAll(async () => {
    await server.close();
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const login = (token: string, from: string, xff?: string) =>
    rawRequest(`http://127.0.0.1:${port}/api/instructor/login`, {
      method: 'POST',
      body: JSON.stringify({ token }),
      localAddress: from,
      headers: xff === undefined ? {} : { 'X-Forwarded-For': xff },
    });

  it('wrong logins with a new spoofed X-Forwarded-For each time from an untrusted peer → still throttled on the peer’s address', async () => {
    // The throttle allows 10 failures per address; each guess claims to come from someone else.
    for (let i = 0; i < 10; i++) expect((await login('wrong-credential-guess', '127.0.0.3', `198.51.100.${i}`)).status).toBe(401);
    const blocked = await login('wrong-credential-guess', '127.0.0.3', '198.51.100.77');
    expect(blocked.status).toBe(429);
    expect(blocked.headers['retry-after']).toBeDefined();
    // Even the right credential waits: the key is the peer, whatever the header says.
    expect((await login(TOKEN, '127.0.0.3', '198.51.100.78')).status).toBe(429);
    // Another peer is its own key, with or without a header naming the blocked one.
    expect((await login(TOKEN, '127.0.0.4', '127.0.0.3')).status).toBe(204);
  });

  it('X-Forwarded-Proto https from an untrusted peer → the cookie is not marked Secure', async () => {
    const res = await login(TOKEN, '127.0.0.5');
    expect(res.status).toBe(204);
    expect(res.headers['set-cookie']?.[0]).not.toMatch(/Secure/);
    const spoofed = await rawRequest(`http://127.0.0.1:${port}/`, { headers: { 'X-Forwarded-Proto': 'https' } });
    expect(spoofed.headers['set-cookie']?.[0]).toBeDefined();
    expect(spoofed.headers['set-cookie']?.[0]).not.toMatch(/Secure/);
  });

  it('dashboard WebSocket upgrade with a foreign Host → 421; with a foreign Origin → 403', async () => {
    const cookie = (await login(TOKEN, '127.0.0.6')).headers['set-cookie']![0]!.split(';')[0]!;
    const url = `ws://127.0.0.1:${port}/dashboard-ws`;
    expect((await tryUpgrade(url, { headers: { Host: `evil.example:${port}`, Origin: `http://evil.example:${port}`, Cookie: cookie } })).status).toBe(421);
    expect((await tryUpgrade(url, { headers: { Origin: 'http://evil.example', Cookie: cookie } })).status).toBe(403);
    const ok = await tryUpgrade(url, { headers: { Origin: `http://127.0.0.1:${port}`, Cookie: cookie } });
    expect(ok.status).toBe(101);
    ok.ws?.close();
  });
});
