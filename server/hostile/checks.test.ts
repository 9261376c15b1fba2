// Hostile: checks over what an attendee controls. A lab regex that backtracks catastrophically and
// a page that never ends, served by the "attendee's" service, must neither block the server nor
// grow its memory. The server runs in its own process (server/testing/test-check-server.ts), so that a blocked
// event loop shows as a server that stops answering rather than as a hung test.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerMessage } from '../../common/protocol.ts';
import { PROTOCOL_VERSION } from '../../common/protocol.ts';
import { sessionCookie, TestSocket } from '../testing/test-server.ts';
import { MAX_BODY } from '../checks/kinds/http-check.ts';

/** Longer than anything here takes on a loaded machine, far shorter than the regex would take with RegExp. */
const PATIENCE_MS = 30_000;

let service: Server;
let child: ChildProcessWithoutNullStreams;
let url: string;
/** What the endless page managed to write before the check dropped it, and whether it was dropped. */
const endless = { written: 0, closed: false };
let xsServed: () => void;
const xsDone = new Promise<void>((r) => (xsServed = r));

beforeAll(async () => {
  // The attendee's service: a long run of x without the y the lab's regex wants, and a page with no end.
  service = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    if (req.url === '/xs') {
      res.end('x'.repeat(40_000), () => xsServed());
      return;
    }
    const chunk = Buffer.alloc(64 * 1024, 'y');
    res.on('close', () => (endless.closed = true));
    const pump = (): void => {
      while (!endless.closed && res.write(chunk)) endless.written += chunk.length;
      if (!endless.closed) res.once('drain', pump);
    };
    pump();
  });
  await new Promise<void>((r) => service.listen(0, '127.0.0.1', r));
  const port = (service.address() as AddressInfo).port;
  child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, '..', 'testing', 'test-check-server.ts'), String(port)], { stdio: 'pipe' });
  url = await new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^url (\S+)$/m.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`check server exited (${code}): ${err}`)));
  });
});

afterAll(async () => {
  if (child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
  service.closeAllConnections();
  await new Promise((r) => service.close(r));
});

async function connect(): Promise<TestSocket> {
  const cookie = await sessionCookie(url);
  const ws = new TestSocket(new URL('ws', url.replace(/^http/, 'ws')).toString(), { cookie, origin: new URL(url).origin });
  await ws.opened;
  ws.send({ type: 'hello', version: PROTOCOL_VERSION, labId: 'hostile' });
  // The page's progress comes once the checks feature has taken the connection in.
  while ((await ws.next()).type !== 'progress');
  return ws;
}

async function reportOf(ws: TestSocket, step: number): Promise<Extract<ServerMessage, { type: 'check-report' }>['report']> {
  for (;;) {
    const m = await ws.next();
    if (m.type === 'check-report' && m.report.step === step) return m.report;
  }
}

const within = <T>(p: Promise<T>, what: string): Promise<T> =>
  Promise.race([p, new Promise<never>((_r, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${PATIENCE_MS} ms`)), PATIENCE_MS))]);

/** Peak resident memory of the server process (kernel's high-water mark), in bytes. */
function peakRss(): number {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

describe('hostile: checks over attendee-controlled text', () => {
  it('lab regex (x+x+)+y over 40 000 x served by the attendee → the check fails promptly and the server keeps answering meanwhile', async () => {
    const ws = await connect();
    ws.send({ type: 'check-run', step: 0 });
    // Once the page is served the server is matching it; ask it something else right then.
    await within(xsDone, 'the check never fetched the page');
    await new Promise((r) => setTimeout(r, 200));
    const other = await within(fetch(url, { signal: AbortSignal.timeout(PATIENCE_MS) }), 'another request during the check');
    expect(other.status).toBe(200);
    const report = await within(reportOf(ws, 0), 'the check');
    expect(report.results).toMatchObject([{ status: 'fail', kind: 'http' }]);
    expect(report.results[0]?.actual).toContain('with body "xxxx');
    ws.close();
  });

  it('a page that never ends → the check reads 256 KiB, says the body was cut, drops the connection, and server memory stays bounded', async () => {
    const before = peakRss();
    const ws = await connect();
    ws.send({ type: 'check-run', step: 1 });
    const report = await within(reportOf(ws, 1), 'the check');
    expect(report.results[0]?.status).toBe('pass');
    expect(report.results[0]?.actual).toContain(`the body is larger than ${MAX_BODY / 1024} KiB`);
    // The server stopped reading and hung up: the endless writer saw it, after a few socket buffers at most.
    await expect.poll(() => endless.closed, { timeout: PATIENCE_MS }).toBe(true);
    expect(endless.written).toBeLessThan(64 * 1024 * 1024);
    expect(peakRss() - before).toBeLessThan(64 * 1024 * 1024);
    ws.close();
  });
});
