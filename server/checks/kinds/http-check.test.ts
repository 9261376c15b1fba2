import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { checkSchemas } from '../../../common/checks.ts';
import { fakeTarget } from '../../testing/fake-target.ts';
import { MAX_BODY, evalHttp, readBody } from './http-check.ts';

const ctx = () => ({ signal: AbortSignal.timeout(20_000), timeoutMs: 20_000 });

describe('http check body bound', () => {
  it('reads a body up to the cap and says when there was more', async () => {
    const small = await readBody(new Response('hello'), 10);
    expect(small).toEqual({ text: 'hello', cut: false });
    const exact = await readBody(new Response('0123456789'), 10);
    expect(exact).toEqual({ text: '0123456789', cut: false });
    const big = await readBody(new Response('0123456789abc'), 10);
    expect(big).toEqual({ text: '0123456789', cut: true });
  });

  it('stops reading an endless body from the server side and reports it cut', async () => {
    let written = 0;
    let closed = false;
    const chunk = Buffer.alloc(64 * 1024, 'y');
    const srv = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.on('close', () => (closed = true));
      const pump = (): void => {
        while (!closed && res.write(chunk)) written += chunk.length;
        if (!closed) res.once('drain', pump);
      };
      pump();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const port = (srv.address() as AddressInfo).port;
      const spec = checkSchemas.http.parse({ url: `http://127.0.0.1:${port}/`, body: '^y+$' });
      const [r] = await evalHttp(fakeTarget(['host0'], () => ({})), spec, ctx());
      expect(r?.status).toBe('pass');
      expect(r?.actual).toContain(`larger than ${MAX_BODY / 1024} KiB`);
      // The server noticed the client going away: the check dropped the connection, not just stopped looking.
      await expect.poll(() => closed).toBe(true);
      expect(written).toBeLessThan(64 * MAX_BODY);
    } finally {
      srv.closeAllConnections();
      srv.close();
    }
  });

  it('cuts on the host with head, takes the status from stderr, and judges what was read', async () => {
    const body = 'z'.repeat(MAX_BODY + 1);
    const t = fakeTarget(['host0'], () => ({ code: 23, stdout: body, stderr: 'curl: (23) Failure writing output to destination\n__labwright_status__:200' }));
    const spec = checkSchemas.http.parse({ from: 'host0', url: 'http://localhost/', body: 'z{10}' });
    const [r] = await evalHttp(t, spec, ctx());
    expect(r?.status).toBe('pass');
    expect(r?.actual).toContain('only its first 256 KiB were read');
    expect(t.calls[0]?.[1]).toContain(`| head -c ${MAX_BODY + 1}`);
    const refused = fakeTarget(['host0'], () => ({ code: 7, stdout: '', stderr: 'curl: (7) Failed to connect to localhost port 80\n__labwright_status__:000' }));
    const [f] = await evalHttp(refused, spec, ctx());
    expect(f).toMatchObject({ status: 'fail', actual: 'nothing (curl: (7) Failed to connect to localhost port 80)' });
  });
});
