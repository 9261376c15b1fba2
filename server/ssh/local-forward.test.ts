import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forwardLocal } from './local-forward.ts';

/** The far end: an HTTP server on loopback standing in for a host's etcd gateway. */
let far: http.Server;
let farPort = 0;
const opened: Duplex[] = [];
const openFar = (): Promise<Duplex> =>
  new Promise((resolve, reject) => {
    const s = net.connect(farPort, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
    opened.push(s);
  });

function post(socketPath: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path: '/v3/echo', method: 'POST', agent: false }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  far = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => res.end(`${req.url} got ${body}`));
  });
  await new Promise<void>((r) => far.listen(0, '127.0.0.1', r));
  farPort = (far.address() as net.AddressInfo).port;
});

afterAll(async () => {
  far.closeAllConnections();
  await new Promise((r) => far.close(r));
});

describe('forwardLocal', () => {
  it('carries requests both ways, many at once, over a socket only its owner can open', async () => {
    const f = forwardLocal(openFar);
    try {
      // The directory is private: another user of the machine cannot reach the host through it.
      expect(fs.statSync(path.dirname(f.path)).mode & 0o777).toBe(0o700);
      expect(fs.statSync(f.path).isSocket()).toBe(true);
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => post(f.path, `n${i}`)));
      expect(answers).toEqual(Array.from({ length: 20 }, (_, i) => `/v3/echo got n${i}`));
    } finally {
      f.close();
    }
  });

  it('a far end that cannot be opened closes the client’s connection (the client sees a refusal)', async () => {
    const f = forwardLocal(() => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:2379')));
    try {
      const err = await post(f.path, 'x').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as NodeJS.ErrnoException).code).toMatch(/ECONNRESET|EPIPE|socket hang up/);
    } finally {
      f.close();
    }
  });

  it('closed, ends the connections it carries and leaves no socket behind', async () => {
    const f = forwardLocal(openFar);
    const client = net.connect(f.path);
    client.on('error', () => undefined);
    await new Promise<void>((r) => client.once('connect', () => r()));
    client.write('POST /v3/x HTTP/1.1\r\nhost: x\r\ncontent-length: 1\r\n\r\n');
    // The far connection is open (the request is half sent) when the forward closes.
    for (let i = 0; i < 50 && opened.every((s) => s.destroyed); i++) await new Promise((r) => setTimeout(r, 10));
    const farSide = opened.at(-1)!;
    const ended = new Promise<void>((r) => client.once('close', () => r()));
    f.close();
    await ended;
    for (let i = 0; i < 50 && !farSide.destroyed; i++) await new Promise((r) => setTimeout(r, 10));
    expect(farSide.destroyed).toBe(true);
    expect(fs.existsSync(path.dirname(f.path))).toBe(false);
  });
});
