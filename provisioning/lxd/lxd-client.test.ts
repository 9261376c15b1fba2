// The REST client against a fake LXD on a unix socket: sync answers, background operations waited for,
// LXD's error messages passed on, and a socket where nothing listens failing at once instead of hanging.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LxdClient, LxdError } from './lxd-client.ts';

let dir: string;
let server: http.Server;
const seen: { method: string; url: string; body: string; headers: http.IncomingHttpHeaders }[] = [];
let opPolls = 0;

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lxd-client-'));
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, body, headers: req.headers });
      if (req.url === '/1.0') return reply(res, 200, { type: 'sync', status_code: 200, metadata: { api_version: '1.0' } });
      if (req.url === '/1.0/instances' && req.method === 'POST') return reply(res, 202, { type: 'async', status_code: 100, operation: '/1.0/operations/op1', metadata: {} });
      if (req.url?.startsWith('/1.0/operations/op1/wait')) {
        opPolls += 1;
        // First poll: still running (the wait timed out); second: done.
        return reply(res, 200, { type: 'sync', status_code: 200, metadata: { id: 'op1', status: opPolls < 2 ? 'Running' : 'Success', status_code: opPolls < 2 ? 103 : 200, err: '', metadata: { fingerprint: 'abc' } } });
      }
      if (req.url === '/1.0/networks' && req.method === 'POST') return reply(res, 202, { type: 'async', status_code: 100, operation: '/1.0/operations/op2', metadata: {} });
      if (req.url?.startsWith('/1.0/operations/op2/wait')) return reply(res, 200, { type: 'sync', status_code: 200, metadata: { id: 'op2', status: 'Failure', status_code: 400, err: 'Network is busy', metadata: null } });
      return reply(res, 404, { type: 'error', error: 'Not Found', error_code: 404, metadata: null });
    });
  });
  await new Promise<void>((resolve) => server.listen(path.join(dir, 'unix.socket'), resolve));
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await fs.rm(dir, { recursive: true, force: true });
});

describe('LxdClient over a unix socket', () => {
  it('returns the metadata of a sync answer', async () => {
    const c = new LxdClient({ socketPath: path.join(dir, 'unix.socket') });
    expect(await c.get('/1.0')).toEqual({ api_version: '1.0' });
    c.close();
  });

  it('sends JSON bodies and waits for the background operation, polling until it is done', async () => {
    const c = new LxdClient({ socketPath: path.join(dir, 'unix.socket') });
    const op = await c.call<{ fingerprint: string }>('POST', '/1.0/instances', { body: { name: 'x' } });
    expect(op.fingerprint).toBe('abc');
    const post = seen.find((s) => s.method === 'POST' && s.url === '/1.0/instances')!;
    expect(JSON.parse(post.body)).toEqual({ name: 'x' });
    expect(post.headers['content-type']).toBe('application/json');
    expect(opPolls).toBe(2);
    c.close();
  });

  it("throws LXD's own reason when an operation fails", async () => {
    const c = new LxdClient({ socketPath: path.join(dir, 'unix.socket') });
    await expect(c.call('POST', '/1.0/networks', { body: {} })).rejects.toThrow(/Network is busy/);
    c.close();
  });

  it('turns a 404 into exists() === false and other paths into an LxdError with the status', async () => {
    const c = new LxdClient({ socketPath: path.join(dir, 'unix.socket') });
    expect(await c.exists('/1.0/networks/none')).toBe(false);
    expect(await c.exists('/1.0')).toBe(true);
    const err = await c.get('/1.0/nothing').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LxdError);
    expect((err as LxdError).status).toBe(404);
    c.close();
  });

  it('fails at once, naming the socket, when no daemon listens there', async () => {
    const c = new LxdClient({ socketPath: path.join(dir, 'absent.socket') });
    await expect(c.get('/1.0')).rejects.toThrow(/absent\.socket: ENOENT/);
    c.close();
  });
});

describe('LxdClient over HTTPS (a remote LXD with a self-signed certificate, as LXD makes)', () => {
  let tlsDir: string;
  let tlsServer: https.Server;
  let url: string;
  const pem: Record<string, string> = {};

  beforeAll(async () => {
    tlsDir = await fs.mkdtemp(path.join(os.tmpdir(), 'lxd-client-tls-'));
    // A server certificate naming no address (like a cluster's) and a client certificate it trusts.
    for (const who of ['server', 'client']) {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=lxd-${who}`, '-keyout', path.join(tlsDir, `${who}.key`), '-out', path.join(tlsDir, `${who}.crt`)], { stdio: 'ignore' });
      pem[`${who}.key`] = await fs.readFile(path.join(tlsDir, `${who}.key`), 'utf8');
      pem[`${who}.crt`] = await fs.readFile(path.join(tlsDir, `${who}.crt`), 'utf8');
    }
    tlsServer = https.createServer({ key: pem['server.key'], cert: pem['server.crt'], requestCert: true, rejectUnauthorized: true, ca: pem['client.crt'] }, (_req, res) => reply(res, 200, { type: 'sync', status_code: 200, metadata: { api_version: '1.0' } }));
    await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r));
    url = `https://127.0.0.1:${(tlsServer.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    tlsServer.close();
    await fs.rm(tlsDir, { recursive: true, force: true });
  });

  it('refuses a server whose certificate nobody vouches for, and says to pin it with LABWRIGHT_LXD_SERVER_CERT', async () => {
    const c = new LxdClient({ url, cert: pem['client.crt']!, key: pem['client.key']! });
    const err = await c.get('/1.0').catch((e: unknown) => e);
    c.close();
    expect(err).toBeInstanceOf(LxdError);
    expect((err as LxdError).message).toMatch(/certificate is not trusted .*LABWRIGHT_LXD_SERVER_CERT/);
  });

  it('talks to the server whose certificate is pinned, whatever address it answers on, with its client certificate', async () => {
    const c = new LxdClient({ url, cert: pem['client.crt']!, key: pem['client.key']!, serverCert: pem['server.crt'] });
    expect(await c.get('/1.0')).toEqual({ api_version: '1.0' });
    c.close();
  });

  it('refuses another server even with a pin (the pin is exact)', async () => {
    const c = new LxdClient({ url, cert: pem['client.crt']!, key: pem['client.key']!, serverCert: pem['client.crt'] });
    const err = await c.get('/1.0').catch((e: unknown) => e);
    c.close();
    expect(err).toBeInstanceOf(LxdError);
  });
});
