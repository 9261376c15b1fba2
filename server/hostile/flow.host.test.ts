// Hostile: a client that floods its terminal, acknowledges far more than it was sent and stops
// reading its socket must not grow the server's memory. Real sshd + the session keeper in an nspawn lab host.
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabView } from '../../common/lab.ts';
import type { ReceivedMessage } from '../testing/term-client.ts';
import { createLocalProvider } from '../../provisioning/local/local-provider.ts';
import type { RunningServer } from '../app.ts';
import { startServer } from '../app.ts';
import { loadConfig } from '../config.ts';
import { StaticLabViews } from '../testing/static-lab-views.ts';
import { sampleLabView } from '../testing/test-labs.ts';
import { SOCKET_HIGH_WATER } from '../terminals/flow-control.ts';
import { TermClient, fetchSessionCookie } from '../testing/term-client.ts';
import type { LabWorkspaces } from '../workshops/lab-workspaces.ts';
import { createLabWorkspaces } from '../workshops/lab-workspaces.ts';
import type { ConnectionContext } from '../ws/connection-context.ts';
import type { GatewayModule } from '../ws/gateway-module.ts';

const base = sampleLabView('flood');
const lab: LabView = { ...base, meta: { ...base.meta, hosts: ['host0'], services: { etcd: 'none', docker: false } } };

/**
 * How long the client stays silent once the server has had to hold output back: long enough
 * that unbounded queueing would show. The flood's speed depends on the machine's load, so the
 * clock starts when the server first stops the shell, or at the latest after START_MS.
 */
const SILENT_MS = 10_000;
const START_MS = 90_000;
/**
 * What the server may hold for this connection however long the client stays silent: the socket
 * bound (1 MiB) plus what one paused SSH channel can still hold (its 2 MiB window) and the
 * strings in between, with generous room for the allocator. Without the bound the socket queue
 * alone grew by ~2.4 MiB/s here (64 MiB in 27 s on a loaded 2-core machine).
 */
const MEMORY_BOUND = 16 * 1024 * 1024;

let server: RunningServer;
let stack: LabWorkspaces;
let client: TermClient | undefined;
/** The server side of each connection, to read what the server has queued on its socket. */
const connections: ConnectionContext[] = [];
const probe: GatewayModule = { name: 'probe', handlers: {}, onConnect: (ctx) => void connections.push(ctx) };

beforeAll(async () => {
  const config = loadConfig({}, { port: 0, poolSize: 0 });
  stack = createLabWorkspaces({ provider: createLocalProvider(config), labMeta: (id) => (id === 'flood' ? lab.meta : undefined) });
  server = await startServer(config, { labs: new StaticLabViews([lab]), gatewayModules: [...stack.modules, probe] });
});

afterAll(async () => {
  await client?.close();
  await server?.close();
  await stack?.close();
});

const mib = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;

describe('hostile: lying acknowledgements', () => {
  it('flood a terminal, ack 10^15 characters every 20 ms and stop reading → server memory stays bounded, and the terminal works once the client reads again', { timeout: 240_000 }, async () => {
    const cookie = await fetchSessionCookie(server.url);
    const c = new TermClient({ url: server.url, cookie, labId: 'flood', autoAck: false });
    client = c;
    c.keepOutput = false;
    // The largest terminal the protocol allows.
    await c.open(0, 'host0', { cols: 1000, rows: 500 });
    // Only the tail of the output is kept: enough to find a marker split across frames.
    let tail = '';
    c.onMessage((m: ReceivedMessage) => {
      if (m.type === 'term-output') tail = (tail + m.data).slice(-4096);
    });
    const conn = connections.at(-1);
    if (!conn) throw new Error('the probe saw no connection');
    const before = process.memoryUsage();
    // Stop reading first: the client's kernel buffer stays small (it only grows for a reader),
    // so what the server cannot hand to the kernel queues in the server.
    const socket = (c.ws as unknown as { _socket: Socket })._socket;
    socket.pause();
    c.send({ type: 'term-input', channel: 0, data: 'base64 -w 1000 /dev/urandom\r' });
    const liar = setInterval(() => c.send({ type: 'term-ack', channel: 0, bytes: 1e15 }), 20);
    let peak = 0;
    let queued = 0;
    const sample = (): void => {
      const m = process.memoryUsage();
      peak = Math.max(peak, m.arrayBuffers - before.arrayBuffers, m.external - before.external);
      queued = Math.max(queued, conn.bufferedAmount);
    };
    const gate = (): number => stack.terminals.muxOf(conn)?.gate?.pauses ?? 0;
    const start = Date.now();
    let heldSince: number | undefined;
    // Ends early once the server holds far more than the bound: that is the failure to report.
    while (queued < 4 * MEMORY_BOUND) {
      await new Promise((r) => setTimeout(r, 100));
      sample();
      if (heldSince === undefined && gate() > 0) heldSince = Date.now();
      const since = heldSince ?? start + START_MS - SILENT_MS;
      if (Date.now() - since >= SILENT_MS) break;
    }
    clearInterval(liar);
    // What the server holds stayed bounded, however much the client claimed to have read …
    expect(queued, `the server queued ${mib(queued)} for a client that does not read`).toBeLessThan(SOCKET_HIGH_WATER + 1024 * 1024);
    expect(peak, `server-side buffers grew by ${mib(peak)} with a silent client`).toBeLessThan(MEMORY_BOUND);
    // … and not because the flood was slow: the server did have to stop the shell for a full socket.
    expect(gate(), 'the server never had to hold output back').toBeGreaterThan(0);

    // The client reads again, like a browser tab brought back: Ctrl-C stops the flood, the prompt is back.
    c.autoAck = true;
    socket.resume();
    c.send({ type: 'term-input', channel: 0, data: '\x03' });
    await new Promise((r) => setTimeout(r, 500));
    c.send({ type: 'term-input', channel: 0, data: 'echo back-$((2*21))\r' });
    await expect.poll(() => tail.includes('back-42'), { timeout: 60_000 }).toBe(true);
    expect(c.received.get(0) ?? 0).toBeGreaterThan(SOCKET_HIGH_WATER);
  });
});
