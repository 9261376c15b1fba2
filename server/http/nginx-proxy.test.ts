// The README's nginx snippet (docs/nginx-labwright.conf), tested: a real nginx with TLS (a
// self-signed certificate made here) in front of a real Labwright server configured with
// LABWRIGHT_PUBLIC_URL and LABWRIGHT_TRUSTED_PROXY. Through it the page loads, the cookie is
// Secure, WebSockets open, and the login throttle keys on the client's real address; a direct
// request cannot spoof that address, and solo hosts are not handed out.
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerMessage } from '../../common/protocol.ts';
import { CloseCode, PROTOCOL_VERSION, parseServerMessage } from '../../common/protocol.ts';
import type { RunningServer } from '../app.ts';
import { startServer } from '../app.ts';
import { loadConfig } from '../config.ts';
import type { WorkshopStack } from '../workshops/workshop-stack.ts';
import { createWorkshopStack } from '../workshops/workshop-stack.ts';
import { FakeProvider } from '../../provisioning/testing/fake-provider.ts';
import { StaticLabViews } from '../testing/static-lab-views.ts';
import { sampleLabView } from '../testing/test-labs.ts';
import type { RawOptions } from '../testing/test-request.ts';
import { rawRequest, tryUpgrade } from '../testing/test-request.ts';

const NGINX = '/usr/sbin/nginx';
const ROOT = path.resolve(import.meta.dirname, '..', '..');
const SNIPPET = path.join(ROOT, 'docs', 'nginx-labwright.conf');
const NAME = 'labs.example.test';
const TOKEN = 'instructor-secret-for-proxy-tests';

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });

async function waitForPort(port: number, nginx: ChildProcess, log: string): Promise<void> {
  for (;;) {
    if (nginx.exitCode !== null) throw new Error(`nginx exited ${nginx.exitCode}: ${existsSync(log) ? readFileSync(log, 'utf8') : ''}`);
    const up = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => {
        c.destroy();
        resolve(true);
      });
      c.on('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The snippet with only its site-specific values replaced, each exactly once. */
function siteConfig(snippet: string, values: [from: string, to: string][]): string {
  let out = snippet;
  for (const [from, to] of values) {
    expect(out.split(from).length - 1, `the snippet has "${from}" once`).toBe(1);
    out = out.replace(from, to);
  }
  return out;
}

describe.skipIf(!existsSync(NGINX))('Labwright behind nginx (the README snippet, with TLS)', () => {
  let dir: string;
  let cert: string;
  let nginx: ChildProcess;
  let stack: WorkshopStack;
  let server: RunningServer;
  let provider: FakeProvider;
  let proxyPort: number;
  let directPort: string;
  let publicOrigin: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lw-nginx-'));
    // The workers may run as nobody: the folder is theirs to read and to keep temp files in.
    execFileSync('chmod', ['755', dir]);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=${NAME}`,
      '-addext', `subjectAltName=DNS:${NAME}`, '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
    cert = readFileSync(path.join(dir, 'cert.pem'), 'utf8');
    const clientDir = path.join(dir, 'client');
    mkdirSync(clientDir);
    writeFileSync(path.join(clientDir, 'index.html'), '<!doctype html><title>Labwright</title>');

    proxyPort = await freePort();
    publicOrigin = `https://${NAME}:${proxyPort}`;
    const config = loadConfig(
      { LABWRIGHT_INSTRUCTOR_TOKEN: TOKEN, LABWRIGHT_PUBLIC_URL: `${publicOrigin}/`, LABWRIGHT_TRUSTED_PROXY: '127.0.0.1' },
      { port: 0, bind: '127.0.0.1', dataDir: path.join(dir, 'data') },
    );
    const labs = new StaticLabViews([sampleLabView('demo')]);
    provider = new FakeProvider();
    stack = createWorkshopStack({ config, catalog: { get: () => undefined }, labs, provider, recheckMs: 0 });
    server = await startServer(config, { labs, clientDir, ...stack.appDeps });
    directPort = new URL(server.url).port;

    const site = siteConfig(readFileSync(SNIPPET, 'utf8'), [
      ['listen 443 ssl;', `listen 127.0.0.1:${proxyPort} ssl;`],
      ['server_name labs.example.org;', `server_name ${NAME};`],
      ['/etc/ssl/labs.example.org/fullchain.pem', path.join(dir, 'cert.pem')],
      ['/etc/ssl/labs.example.org/privkey.pem', path.join(dir, 'key.pem')],
      ['proxy_pass http://127.0.0.1:8080;', `proxy_pass http://127.0.0.1:${directPort};`],
    ]);
    writeFileSync(path.join(dir, 'labwright.conf'), site);
    const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${path.join(dir, `${t}-temp`)};`).join('\n  ');
    writeFileSync(
      path.join(dir, 'nginx.conf'),
      `worker_processes 1;\nevents { worker_connections 64; }\nhttp {\n  access_log off;\n  ${temp}\n  include ${path.join(dir, 'labwright.conf')};\n}\n`,
    );
    const log = path.join(dir, 'error.log');
    nginx = spawn(NGINX, ['-p', dir, '-e', log, '-c', path.join(dir, 'nginx.conf'), '-g', `daemon off; pid ${path.join(dir, 'nginx.pid')};`], { stdio: 'ignore' });
    await waitForPort(proxyPort, nginx, log);
  });

  afterAll(async () => {
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((r) => nginx.once('exit', r));
      nginx.kill('SIGTERM');
      await exited;
    }
    await server?.close();
    await stack?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Through nginx, as a browser on https://labs.example.test:PORT/ would, from a chosen client address. */
  const viaProxy = (p: string, opts: RawOptions = {}) =>
    rawRequest(`https://127.0.0.1:${proxyPort}/${p}`, { ...opts, ca: cert, servername: NAME, headers: { Host: `${NAME}:${proxyPort}`, ...opts.headers } });
  const direct = (p: string, opts: RawOptions = {}) => rawRequest(`http://127.0.0.1:${directPort}/${p}`, opts);
  const login = (token: string, send: typeof viaProxy, from: string, xff?: string) =>
    send('api/instructor/login', { method: 'POST', body: JSON.stringify({ token }), localAddress: from, headers: xff === undefined ? {} : { 'X-Forwarded-For': xff } });
  const cookieOf = (set: string[] | undefined): string => set![0]!.split(';')[0]!;

  /** A WebSocket through nginx; the first server message after hello, or the close. */
  async function helloThroughProxy(cookie: string, endpoint = 'ws'): Promise<ServerMessage | { closed: number; reason: string }> {
    const r = await tryUpgrade(`wss://127.0.0.1:${proxyPort}/${endpoint}`, {
      headers: { Host: `${NAME}:${proxyPort}`, Origin: publicOrigin, Cookie: cookie },
      ca: cert,
      servername: NAME,
    });
    expect(r.status, r.body).toBe(101);
    const ws = r.ws!;
    const answer = new Promise<ServerMessage | { closed: number; reason: string }>((resolve) => {
      ws.once('message', (data: Buffer) => {
        const m = parseServerMessage(data.toString('utf8'));
        if (m.ok) resolve(m.value);
      });
      ws.once('close', (code, reason) => resolve({ closed: code, reason: reason.toString() }));
    });
    ws.send(JSON.stringify({ type: 'hello', version: PROTOCOL_VERSION, labId: 'demo' }));
    const a = await answer;
    ws.terminate();
    return a;
  }

  it('loads the page through the proxy with a Secure, HttpOnly, SameSite=Strict cookie', async () => {
    const res = await viaProxy('');
    expect(res.status).toBe(200);
    expect(res.body).toContain('<title>Labwright</title>');
    const set = res.headers['set-cookie']?.[0] ?? '';
    expect(set).toMatch(/^labwright_session=/);
    expect(set).toMatch(/; Secure/);
    expect(set).toMatch(/HttpOnly; SameSite=Strict/);
  });

  it('opens the WebSocket through the proxy: an instructor gets a welcome, a cookieless visitor gets no solo hosts', async () => {
    const login204 = await login(TOKEN, viaProxy, '127.0.0.2');
    expect(login204.status).toBe(204);
    expect(login204.headers['set-cookie']?.[0]).toMatch(/; Secure/);
    expect(await helloThroughProxy(cookieOf(login204.headers['set-cookie']))).toMatchObject({ type: 'welcome', labId: 'demo' });
    // Solo mode is off (a public URL and a trusted proxy are set, LABWRIGHT_SOLO is not): the page
    // gives a session, the socket opens, the hello is refused and no environment is made.
    // (The instructor's own hello above made one environment.)
    const before = provider.created.length;
    const visitor = cookieOf((await viaProxy('')).headers['set-cookie']);
    const refused = await helloThroughProxy(visitor);
    expect(refused).toMatchObject({ closed: CloseCode.Unauthorized });
    expect(provider.created).toHaveLength(before);
  });

  it('keys the login throttle on the client address nginx saw, not on what the client wrote in X-Forwarded-For', async () => {
    // 127.0.0.3 guesses through the proxy, claiming a new address each time: it is still one client.
    for (let i = 0; i < 10; i++) expect((await login('wrong-credential-guess', viaProxy, '127.0.0.3', `198.51.100.${i}`)).status).toBe(401);
    expect((await login('wrong-credential-guess', viaProxy, '127.0.0.3', '198.51.100.99')).status).toBe(429);
    // Another client through the same proxy is not blocked: the key is not the proxy's address.
    expect((await login(TOKEN, viaProxy, '127.0.0.4')).status).toBe(204);
  });

  it('does not trust X-Forwarded-For or -Proto sent straight to Labwright by a peer that is not the proxy', async () => {
    // 127.0.0.3 is blocked; a direct peer naming it is not, because its header is ignored.
    const res = await login(TOKEN, direct, '127.0.0.5', '127.0.0.3');
    expect(res.status).toBe(204);
    // Straight over http from an untrusted peer, a claimed https does not make the cookie Secure.
    const page = await direct('', { localAddress: '127.0.0.5', headers: { 'X-Forwarded-Proto': 'https' } });
    expect(page.status).toBe(200);
    expect(page.headers['set-cookie']?.[0]).not.toMatch(/Secure/);
  });

  it('refuses a name nginx passes on that Labwright does not serve', async () => {
    const res = await viaProxy('', { headers: { Host: `evil.example:${proxyPort}` } });
    expect(res.status).toBe(421);
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('the README shows this exact snippet', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(readme.includes(readFileSync(SNIPPET, 'utf8').trimEnd()), 'README.md shows docs/nginx-labwright.conf verbatim').toBe(true);
  });
});
