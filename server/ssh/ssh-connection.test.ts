// SshConnection against an in-process ssh2 server on loopback: exec results, the error codes
// checks rely on (unreachable, auth, timeout, aborted — never a thrown surprise), the output cap,
// the channel limit, and reconnecting after the connection drops.
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import ssh2 from 'ssh2';
import type { Connection, ServerChannel } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshConnection, SshError } from './ssh-connection.ts';

const { Server, utils } = ssh2;
const hostKey = utils.generateKeyPairSync('ed25519', {}).private;
const clientKeys = utils.generateKeyPairSync('ed25519', {});
const otherKey = utils.generateKeyPairSync('ed25519', {}).private;
const allowed = utils.parseKey(clientKeys.public);
if (allowed instanceof Error) throw allowed;

/** What the fake host does with a command: a tiny, fixed command language for the tests. */
function run(command: string, stream: ServerChannel, slow: { now: number }): void {
  if (command === 'hello') {
    stream.write('hi\n');
    stream.stderr.write('warn\n');
    stream.exit(0);
    stream.end();
  } else if (command === 'fail') {
    stream.exit(3);
    stream.end();
  } else if (command === 'hang') {
    // never answers
  } else if (command === 'big') {
    stream.write(Buffer.alloc(100_000, 'x'));
    stream.exit(0);
    stream.end();
  } else if (command === 'cat') {
    const chunks: Buffer[] = [];
    stream.on('data', (d: Buffer) => chunks.push(d));
    stream.on('end', () => {
      stream.write(Buffer.concat(chunks));
      stream.exit(0);
      stream.end();
    });
  } else if (command.startsWith('slow')) {
    slow.now++;
    maxConcurrent = Math.max(maxConcurrent, slow.now);
    setTimeout(() => {
      slow.now--;
      stream.write('done');
      stream.exit(0);
      stream.end();
    }, 30);
  } else {
    stream.exit(127);
    stream.end();
  }
}

const connections = new Set<Connection>();
let accepted = 0;
/** Most exec channels open at once on any one connection. */
let maxConcurrent = 0;
const server = new Server({ hostKeys: [hostKey] }, (client) => {
  connections.add(client);
  accepted++;
  const slow = { now: 0 };
  client.on('close', () => connections.delete(client));
  client.on('error', () => undefined);
  client.on('authentication', (ctx) => {
    if (ctx.method !== 'publickey' || ctx.key.algo !== allowed.type) return ctx.reject(['publickey']);
    const want = allowed.getPublicSSH();
    if (ctx.key.data.length !== want.length || !timingSafeEqual(ctx.key.data, want)) return ctx.reject(['publickey']);
    if (ctx.signature && ctx.blob && allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject();
    ctx.accept();
  });
  client.on('ready', () => {
    client.on('session', (accept) => {
      const session = accept();
      session.on('exec', (acceptExec, _reject, info) => {
        run(info.command, acceptExec(), slow);
      });
    });
  });
});

let port = 0;
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  for (const c of connections) c.end();
  await new Promise<void>((r) => server.close(() => r()));
});

const conn = (privateKey = clientKeys.private, p = port) => new SshConnection({ name: 'host0', address: '127.0.0.1', port: p, user: 'root', privateKey });

async function rejection(p: Promise<unknown>): Promise<SshError> {
  const e: unknown = await p.then(
    () => new Error('resolved'),
    (x: unknown) => x,
  );
  if (!(e instanceof SshError)) throw new Error(`expected an SshError, got ${String(e)}`);
  return e;
}

describe('SshConnection', () => {
  it('runs commands and reports exit status, stdout and stderr', async () => {
    const c = conn();
    expect(await c.exec('hello')).toEqual({ code: 0, signal: null, stdout: 'hi\n', stderr: 'warn\n', truncated: false });
    expect((await c.exec('fail')).code).toBe(3);
    expect((await c.exec('cat', { stdin: 'abc' })).stdout).toBe('abc');
    c.close();
  });

  it('reuses one connection for many commands', async () => {
    const c = conn();
    const before = accepted;
    await Promise.all([c.exec('hello'), c.exec('hello'), c.exec('hello')]);
    await c.exec('hello');
    expect(accepted).toBe(before + 1);
    c.close();
  });

  it('a command that never answers rejects with timeout', async () => {
    const c = conn();
    const e = await rejection(c.exec('hang', { timeoutMs: 100 }));
    expect(e.code).toBe('timeout');
    // The connection is still usable afterwards.
    expect((await c.exec('hello')).code).toBe(0);
    c.close();
  });

  it('an aborted command rejects with aborted', async () => {
    const c = conn();
    const ac = new AbortController();
    const p = c.exec('hang', { signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    expect((await rejection(p)).code).toBe('aborted');
    c.close();
  });

  it('caps output and says so', async () => {
    const c = conn();
    const r = await c.exec('big', { maxOutputBytes: 1000 });
    expect(r.stdout).toHaveLength(1000);
    expect(r.truncated).toBe(true);
    c.close();
  });

  it('a wrong key is an auth error; a closed port is unreachable', async () => {
    expect((await rejection(conn(otherKey).exec('hello'))).code).toBe('auth');
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const freePort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    expect((await rejection(conn(clientKeys.private, freePort).exec('hello'))).code).toBe('unreachable');
  });

  it('queues commands beyond the channel limit instead of failing them', async () => {
    const c = conn();
    maxConcurrent = 0;
    const results = await Promise.all(Array.from({ length: 20 }, () => c.exec('slow')));
    expect(results.every((r) => r.stdout === 'done')).toBe(true);
    expect(maxConcurrent).toBeLessThanOrEqual(8);
    c.close();
  });

  it('reconnects on next use after the server dropped the connection', async () => {
    const c = conn();
    await c.exec('hello');
    for (const s of connections) s.end();
    await new Promise((r) => setTimeout(r, 50));
    expect((await c.exec('hello')).stdout).toBe('hi\n');
    c.close();
  });

  it('a closed connection refuses further use with closed', async () => {
    const c = conn();
    c.close();
    expect((await rejection(c.exec('hello'))).code).toBe('closed');
  });
});
