// Hostile: what an attendee's service can send back through the SSH tunnel of an `http` check made
// from the server. The "tunnel" here is a loopback connection to a raw TCP server standing in for
// the host's service (the real channel is in server/checks/only-sshd.host.test.ts).
import type { AddressInfo, Server, Socket } from 'node:net';
import { connect, createServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { checkSchemas } from '../../common/checks.ts';
import { evalHttp } from '../checks/kinds/http-check.ts';
import { fakeTarget } from '../testing/fake-target.ts';

let server: Server | undefined;
afterEach(() => server?.close());

/** A target whose host0 tunnel reaches a raw TCP service; `opened` holds each tunnel stream. */
async function serviceBehindTunnel(serve: (s: Socket) => void): Promise<{ t: ReturnType<typeof fakeTarget>; opened: Duplex[]; peerClosed: () => number }> {
  let closed = 0;
  server = createServer((s) => {
    s.on('error', () => undefined);
    s.on('close', () => closed++);
    serve(s);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const t = fakeTarget(['host0'], () => ({}));
  const opened: Duplex[] = [];
  t.openTcp = () =>
    new Promise<Duplex>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
      opened.push(s);
      s.once('error', reject);
    });
  return { t, opened, peerClosed: () => closed };
}

const spec = checkSchemas.http.parse({ url: 'http://host0/' });

describe('hostile: answers through an http check’s tunnel', () => {
  it('headers that never end → the check fails with the parser’s limit, and the tunnel is closed', async () => {
    const { t, opened, peerClosed } = await serviceBehindTunnel((s) => {
      s.write('HTTP/1.1 200 OK\r\n');
      const line = `X-Pad: ${'y'.repeat(1000)}\r\n`;
      const pump = (): void => {
        while (!s.destroyed && s.write(line));
        if (!s.destroyed) s.once('drain', pump);
      };
      pump();
    });
    const [r] = await evalHttp(t, spec, { signal: AbortSignal.timeout(20_000), timeoutMs: 20_000 });
    expect(r?.status).toBe('fail');
    expect(r?.actual).toMatch(/^nothing \(.*(header|Header)/);
    expect(opened[0]?.destroyed).toBe(true);
    await expect.poll(peerClosed).toBe(1);
  });

  it('a body that trickles a byte at a time → an error at the check’s timeout, and the tunnel is closed', async () => {
    const { t, opened, peerClosed } = await serviceBehindTunnel((s) => {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n');
      const tick = setInterval(() => (s.destroyed ? clearInterval(tick) : s.write('y')), 50);
    });
    const [r] = await evalHttp(t, spec, { signal: AbortSignal.timeout(400), timeoutMs: 400 });
    expect(r).toMatchObject({ status: 'error', actual: 'no answer within 400 ms' });
    expect(opened[0]?.destroyed).toBe(true);
    await expect.poll(peerClosed).toBe(1);
  });
});
