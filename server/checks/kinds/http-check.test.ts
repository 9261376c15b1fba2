import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { checkSchemas } from '../../../common/checks.ts';
import { ForwardRefused, SshError } from '../../ssh/ssh-connection.ts';
import type { FakeTarget } from '../../testing/fake-target.ts';
import { fakeTarget } from '../../testing/fake-target.ts';
import { MAX_BODY, evalHttp } from './http-check.ts';
import { getOver } from './http-over-stream.ts';

const ctx = (timeoutMs = 20_000) => ({ signal: AbortSignal.timeout(timeoutMs), timeoutMs });
const spec = (raw: Record<string, unknown>) => checkSchemas.http.parse(raw);

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) {
    (s as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
    s.close();
  }
});

async function listen<S extends Server>(s: S): Promise<number> {
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as AddressInfo).port;
}

/** A loopback HTTP server that records what each request asked for. */
async function httpServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ port: number; seen: { host?: string; url?: string }[] }> {
  const seen: { host?: string; url?: string }[] = [];
  const port = await listen(
    createServer((req, res) => {
      seen.push({ host: req.headers.host, url: req.url });
      handler(req, res);
    }),
  );
  return { port, seen };
}

/**
 * A fake target whose hosts' "SSH channels" are loopback connections to `port` (standing in for
 * the direct-tcpip channel the real target opens): records which host was asked for which address.
 */
function tunnelTarget(port: number): FakeTarget & { opened: [string, string, number][] } {
  const t = fakeTarget(['host0', 'host1', 'host2'], () => ({}));
  const opened: [string, string, number][] = [];
  t.openTcp = (host, address, p) => {
    opened.push([host, address, p]);
    return new Promise<Duplex>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
      s.once('error', reject);
    });
  };
  return Object.assign(t, { opened });
}

describe('http check from the server, to a lab host: through that host’s SSH connection', () => {
  it('by name or by address: the host opens the connection to its address and port; Host, path and query are the URL’s', async () => {
    const { port, seen } = await httpServer((_req, res) => res.end('web v1 on host1\n'));
    const t = tunnelTarget(port);
    const [byName] = await evalHttp(t, spec({ url: 'http://host1:8080/status?x=1', body: 'web v1 on host1' }), ctx());
    expect(byName).toMatchObject({ status: 'pass', actual: 'status 200 with matching body' });
    const [byAddress] = await evalHttp(t, spec({ url: 'http://10.213.0.4/', status: 404 }), ctx());
    expect(byAddress).toMatchObject({ status: 'fail', actual: 'status 200' });
    // The addresses 10.213.0.x exist nowhere here: only the tunnel could have answered.
    expect(t.opened).toEqual([
      ['host1', '10.213.0.3', 8080],
      ['host2', '10.213.0.4', 80],
    ]);
    expect(seen).toEqual([
      { host: 'host1:8080', url: '/status?x=1' },
      { host: '10.213.0.4', url: '/' },
    ]);
    expect(t.calls).toEqual([]);
  });

  it('a redirect is judged as an answer, not followed', async () => {
    const { port, seen } = await httpServer((_req, res) => {
      res.writeHead(302, { Location: 'http://192.0.2.1/' });
      res.end();
    });
    const [r] = await evalHttp(tunnelTarget(port), spec({ url: 'http://host0/', status: 302 }), ctx());
    expect(r?.status).toBe('pass');
    expect(seen).toHaveLength(1);
  });

  it('an endless body is cut at MAX_BODY through the tunnel and said so; the connection is dropped', async () => {
    let closed = false;
    let written = 0;
    const chunk = Buffer.alloc(64 * 1024, 'y');
    const { port } = await httpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.on('close', () => (closed = true));
      const pump = (): void => {
        while (!closed && res.write(chunk)) written += chunk.length;
        if (!closed) res.once('drain', pump);
      };
      pump();
    });
    const [r] = await evalHttp(tunnelTarget(port), spec({ url: 'http://host0:8080/', body: '^y+$' }), ctx());
    expect(r?.status).toBe('pass');
    expect(r?.actual).toContain(`only its first ${MAX_BODY / 1024} KiB were read`);
    await expect.poll(() => closed).toBe(true);
    expect(written).toBeLessThan(64 * MAX_BODY);
  });

  it('nothing listening on the host is a failure to fix; a host that cannot be reached, or will not forward, is an error', async () => {
    const t = fakeTarget(['host0', 'host1'], () => ({}));
    t.openTcp = (host, address, port) => Promise.reject(new ForwardRefused('connect-failed', 'Connection refused', `${host}: cannot connect to ${address}:${port}: Connection refused`));
    expect(await evalHttp(t, spec({ url: 'http://host1:8081/' }), ctx())).toMatchObject([{ status: 'fail', actual: 'nothing (host1:8081: Connection refused)' }]);
    t.openTcp = () => Promise.reject(new SshError('unreachable', 'host1 (10.213.0.3) is unreachable: connect ECONNREFUSED 10.213.0.3:22'));
    expect(await evalHttp(t, spec({ url: 'http://host1:8081/' }), ctx())).toMatchObject([{ status: 'error', actual: 'host1 (10.213.0.3) is unreachable: connect ECONNREFUSED 10.213.0.3:22' }]);
    t.openTcp = () => Promise.reject(new ForwardRefused('prohibited', 'administratively prohibited', 'host1: its sshd does not forward TCP (AllowTcpForwarding): administratively prohibited'));
    expect(await evalHttp(t, spec({ url: 'http://host1:8081/' }), ctx())).toMatchObject([{ status: 'error', actual: expect.stringContaining('AllowTcpForwarding') as string }]);
  });

  it('no answer in time is an error: a host whose SSH connection hangs, or a service that accepts and never answers', async () => {
    const t = fakeTarget(['host0'], () => ({}));
    let late: Duplex | undefined;
    t.openTcp = () => new Promise<Duplex>(() => undefined);
    expect(await evalHttp(t, spec({ url: 'http://host0/' }), ctx(300))).toMatchObject([{ status: 'error', actual: 'no answer within 300 ms' }]);
    const silent = await listen(createServer(() => undefined));
    const t2 = tunnelTarget(silent);
    const open = t2.openTcp.bind(t2);
    t2.openTcp = async (...a) => (late = await open(...a));
    expect(await evalHttp(t2, spec({ url: 'http://host0/' }), ctx(300))).toMatchObject([{ status: 'error', actual: 'no answer within 300 ms' }]);
    // The channel is not left open behind a timed-out check.
    expect(late?.destroyed).toBe(true);
  });

  it('https: TLS over the tunnel, the URL’s name as SNI, the certificate checked (a self-signed one fails the check)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lw-http-check-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=host1',
        '-addext', 'subjectAltName=DNS:host1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
      const sni: string[] = [];
      const port = await listen(
        createTlsServer(
          {
            key: readFileSync(path.join(dir, 'key.pem')),
            cert: readFileSync(path.join(dir, 'cert.pem')),
            // Asked during the handshake, before the client judges the certificate.
            SNICallback: (name, cb) => {
              sni.push(name);
              cb(null);
            },
          },
          (s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'),
        ),
      );
      const t = tunnelTarget(port);
      const [r] = await evalHttp(t, spec({ url: 'https://host1/' }), ctx());
      expect(r).toMatchObject({ status: 'fail', actual: expect.stringMatching(/^nothing \(.*self-signed certificate/) as string });
      expect(t.opened).toEqual([['host1', '10.213.0.3', 443]]);
      expect(sni).toEqual(['host1']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('http check from the server, to loopback: directly', () => {
  it('reads a body up to the cap and says when there was more', async () => {
    const bodies = ['hello', '0123456789', '0123456789abc'];
    const { port } = await httpServer((req, res) => res.end(bodies[Number(req.url?.slice(1))]));
    const read = async (i: number) => {
      const s = connect({ host: '127.0.0.1', port });
      return getOver(s, new URL(`http://127.0.0.1:${port}/${i}`), { maxBody: 10, signal: AbortSignal.timeout(5000) });
    };
    expect(await read(0)).toEqual({ status: 200, text: 'hello', cut: false });
    expect(await read(1)).toEqual({ status: 200, text: '0123456789', cut: false });
    expect(await read(2)).toEqual({ status: 200, text: '0123456789', cut: true });
  });

  it('never opens a host’s tunnel; a closed port is a failure', async () => {
    const { port, seen } = await httpServer((_req, res) => res.end('up'));
    const t = fakeTarget(['host0'], () => ({}));
    expect(await evalHttp(t, spec({ url: `http://localhost:${port}/`, body: '^up$' }), ctx())).toMatchObject([{ status: 'pass' }]);
    expect(seen).toEqual([{ host: `localhost:${port}`, url: '/' }]);
    const closed = await listen(createServer());
    servers.pop()?.close();
    expect(await evalHttp(t, spec({ url: `http://127.0.0.1:${closed}/` }), ctx())).toMatchObject([{ status: 'fail', actual: expect.stringMatching(/^nothing \(connect ECONNREFUSED/) as string }]);
  });
});

describe('http check from a host', () => {
  it('cuts on the host with head, takes the status from stderr, and judges what was read', async () => {
    const body = 'z'.repeat(MAX_BODY + 1);
    const t = fakeTarget(['host0'], () => ({ code: 23, stdout: body, stderr: 'curl: (23) Failure writing output to destination\n__labwright_status__:200' }));
    const s = spec({ from: 'host0', url: 'http://localhost/', body: 'z{10}' });
    const [r] = await evalHttp(t, s, ctx());
    expect(r?.status).toBe('pass');
    expect(r?.actual).toContain('only its first 256 KiB were read');
    expect(t.calls[0]?.[1]).toContain(`| head -c ${MAX_BODY + 1}`);
    const refused = fakeTarget(['host0'], () => ({ code: 7, stdout: '', stderr: 'curl: (7) Failed to connect to localhost port 80\n__labwright_status__:000' }));
    const [f] = await evalHttp(refused, s, ctx());
    expect(f).toMatchObject({ status: 'fail', actual: 'nothing (curl: (7) Failed to connect to localhost port 80)' });
  });
});
