// Real hosts: the terminal bridge against sshd + the session keeper (lw-term) in nspawn lab hosts,
// through the real server's WebSocket gateway, and a server restart that keeps the shells and their
// history. Needs root and the cached host image (scripts/setup.sh).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabView } from '../../common/lab.ts';
import { ok } from '../../common/result.ts';
import { createLocalProvider } from '../../provisioning/local/local-provider.ts';
import type { RunningServer } from '../app.ts';
import { startServer } from '../app.ts';
import { loadConfig } from '../config.ts';
import { MemorySessionStore } from '../sessions/session-store.ts';
import type { SessionStore } from '../sessions/session-store.ts';
import type { EnvironmentOwnership } from '../store/environment-owners.ts';
import { StaticLabViews } from '../testing/static-lab-views.ts';
import { sampleLabView } from '../testing/test-labs.ts';
import type { LabWorkspaces } from '../workshops/lab-workspaces.ts';
import { createLabWorkspaces } from '../workshops/lab-workspaces.ts';
import { HIGH_WATER } from './flow-control.ts';
import { TermClient, fetchSessionCookie } from '../testing/term-client.ts';

const lab: LabView = { ...sampleLabView('term'), meta: { ...sampleLabView('term').meta, services: { etcd: 'none', docker: false } } };
/** The largest SSH data packet ssh2 delivers in one 'data' event (its default max packet size). */
const MAX_SSH_CHUNK = 32 * 1024;

let server: RunningServer;
let stack: LabWorkspaces;
let cookie: string;
const clients: TermClient[] = [];

function client(autoAck = true): TermClient {
  const c = new TermClient({ url: server.url, cookie, labId: 'term', autoAck });
  clients.push(c);
  return c;
}

/** What a restarted server keeps of the earlier one (its durable store): sessions and who owns which environment. */
const memory = new MemorySessionStore();
const sessions: SessionStore = { create: () => memory.create(), get: (id) => memory.get(id), close: () => Promise.resolve() };
const owners = new Map<string, string>();
const ownership: EnvironmentOwnership = {
  find: (s, l) => owners.get(`${s}/${l}`),
  record: (s, l, e) => void owners.set(`${s}/${l}`, e),
  forget: (s, l) => void owners.delete(`${s}/${l}`),
  ofSession: (s) => [...owners].filter(([k]) => k.startsWith(`${s}/`)).map(([k, envId]) => ({ labId: k.slice(s.length + 1), envId })),
  all: () => [...owners].map(([k, envId]) => ({ sessionId: k.split('/')[0] ?? '', labId: k.split('/')[1] ?? '', envId })),
};

const config = loadConfig({}, { port: 0 });

async function startStack(): Promise<void> {
  stack = createLabWorkspaces({
    provider: createLocalProvider(config),
    ownership,
    labMeta: (id) => (id === 'term' ? lab.meta : undefined),
    // Only for this test: a connection may mirror its own session, so the read-only path can be exercised.
    mirrorPolicy: ({ requester, labId }) => ok({ sessionId: requester, labId }),
  });
  server = await startServer(config, { labs: new StaticLabViews([lab]), gatewayModules: stack.modules, sessions });
}

beforeAll(async () => {
  await startStack();
  cookie = await fetchSessionCookie(server.url);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server?.close();
  await stack?.close();
  // Whatever a failed restart left running is destroyed too.
  const provider = createLocalProvider(config);
  await Promise.all([...owners.values()].map((id) => provider.destroy(id).catch(() => undefined)));
  await memory.close();
});

describe('terminal bridge on real hosts', () => {
  it('opens a shell on host1 and runs hostname there', async () => {
    const c = client();
    await c.open(1, 'host1');
    c.send({ type: 'term-input', channel: 1, data: 'hostname; echo marker-$((40+2))\r' });
    const out = await c.waitForOutput(1, /host1\s+marker-42/);
    expect(out).toMatch(/host1/);
    await c.close();
  });

  it('re-attaches to the same shell with its screen after the connection is gone', async () => {
    const a = client();
    await a.open(0, 'host0');
    a.send({ type: 'term-input', channel: 0, data: 'echo before-$((6*7))-drop\r' });
    await a.waitForOutput(0, /before-42-drop/);
    await a.close();
    const b = client();
    await b.open(0, 'host0');
    // The keeper replays the output on attach: the earlier output is there without typing anything.
    await b.waitForOutput(0, /before-42-drop/);
    b.send({ type: 'term-input', channel: 0, data: 'echo again-$((1+1))\r' });
    await b.waitForOutput(0, /again-2/);
    await b.close();
  });

  it('re-attaching replays the scrollback above the screen, not only the last screen', async () => {
    const a = client();
    await a.open(4, 'host1', { cols: 120, rows: 30 });
    a.send({ type: 'term-input', channel: 4, data: "clear; for i in $(seq 1 300); do printf 'early-%03d\\n' $i; done; echo printed-$((40+2))\r" });
    await a.waitForOutput(4, /printed-42/);
    await a.close();
    const b = client();
    const t0 = performance.now();
    await b.open(4, 'host1', { cols: 120, rows: 30 });
    const out = await b.waitForOutput(4, /printed-42/);
    const small = { ms: performance.now() - t0, chars: out.length };
    // A reset first, then line 1 (270 lines above a 30-row screen), then the rest as it was printed.
    expect(out.startsWith('\x1bc')).toBe(true);
    expect(out.indexOf('early-001\r\n')).toBeGreaterThan(0);
    expect(out.indexOf('early-001')).toBeLessThan(out.lastIndexOf('printed-42'));
    // The cost of a full replay: 4000 lines of 85 bytes, of which the last HISTORY_BYTES (~3000 lines) are sent.
    b.send({ type: 'term-input', channel: 4, data: "for i in $(seq 1 4000); do printf 'wide-%04d-%073d\\n' $i 0; done; echo big-$((40+2))\r" });
    await b.waitForOutput(4, /big-42/);
    await b.close();
    const c = client();
    const t1 = performance.now();
    await c.open(4, 'host1', { cols: 120, rows: 30 });
    const full = await c.waitForOutput(4, /big-42(\x1b\[K)?\r\n/);
    const ms = performance.now() - t1;
    const lines = full.match(/wide-\d{4}-/g)?.length ?? 0;
    expect(lines).toBeGreaterThanOrEqual(2000);
    expect(full).not.toContain('wide-0001-');
    expect(full).toContain('wide-4000-');
    process.stderr.write(`[reattach] 270 lines: ${small.chars} chars in ${small.ms.toFixed(0)} ms; ${lines} lines: ${full.length} chars in ${ms.toFixed(0)} ms (open to screen drawn)\n`);
    await c.close();
  }, 120_000);

  it('keeps output of `yes` within the high-water mark while the browser does not ack, and Ctrl-C brings the prompt back', async () => {
    const c = client(false);
    await c.open(7, 'host1');
    c.send({ type: 'term-input', channel: 7, data: 'yes flow-control-line\r' });
    const bridge = (): ReturnType<LabWorkspaces['terminals']['bridges']>[number] => {
      const b = stack.terminals.bridges().find((x) => x.channel === 7 && x.host === 'host1');
      if (!b) throw new Error('no bridge');
      return b;
    };
    await expect.poll(() => bridge().flow.paused, { timeout: 30_000 }).toBe(true);
    // Paused, nothing more flows: what the client got equals what the server counts as in flight.
    const received = c.unacked.get(7) ?? 0;
    expect(bridge().flow.unacked).toBeGreaterThanOrEqual(HIGH_WATER);
    expect(bridge().flow.peak).toBeLessThanOrEqual(HIGH_WATER + MAX_SSH_CHUNK);
    expect(received).toBeLessThanOrEqual(HIGH_WATER + MAX_SSH_CHUNK);
    // Now behave like a browser again: ack everything, and keep acking.
    c.autoAck = true;
    c.ackAll(7);
    const mark = (c.output.get(7) ?? '').length;
    await c.waitForOutput(7, /flow-control-line/, 30_000, mark);
    expect(bridge().flow.peak).toBeLessThanOrEqual(HIGH_WATER + MAX_SSH_CHUNK);
    c.send({ type: 'term-input', channel: 7, data: '\x03' });
    c.send({ type: 'term-input', channel: 7, data: 'echo back-$((2*21))\r' });
    await c.waitForOutput(7, /back-42/, 30_000, mark);
    await c.close();
  });

  it('shows a read-only mirror the same output but never lets it type', async () => {
    const owner = client();
    await owner.open(0, 'host0');
    const mirror = client();
    await mirror.open(5, 'host0', { cols: 120, rows: 40 }, 'self');
    expect(mirror.messages).toContainEqual({ type: 'term-opened', channel: 5, host: 'host0', readOnly: true });
    mirror.send({ type: 'term-input', channel: 5, data: 'echo typed-by-mirror\r' });
    const refused = await mirror.waitFor((m) => m.type === 'error' && m.ref === 'term-input');
    expect(refused).toMatchObject({ code: 'read-only' });
    owner.send({ type: 'term-input', channel: 0, data: 'echo owner-$((3+4))\r' });
    await mirror.waitForOutput(5, /owner-7/);
    await owner.waitForOutput(0, /owner-7/);
    expect(owner.output.get(0)).not.toContain('typed-by-mirror');
    expect(mirror.output.get(5)).not.toContain('typed-by-mirror');
    await Promise.all([owner.close(), mirror.close()]);
  });

  it('two pages share one shell; Ctrl-C during `cat /dev/urandom | base64` brings the prompt back to both', async () => {
    const a = client();
    const b = client();
    await a.open(2, 'host1');
    await b.open(2, 'host1');
    a.send({ type: 'term-input', channel: 2, data: 'echo shared-$((20+1))\r' });
    await b.waitForOutput(2, /shared-21/);
    b.send({ type: 'term-input', channel: 2, data: 'cat /dev/urandom | base64\r' });
    await a.waitForOutput(2, /[A-Za-z0-9+/]{76}\r\n[A-Za-z0-9+/]{76}/);
    const mark = (a.output.get(2) ?? '').length;
    a.send({ type: 'term-input', channel: 2, data: '\x03' });
    a.send({ type: 'term-input', channel: 2, data: 'echo stopped-$((50-8))\r' });
    await a.waitForOutput(2, /stopped-42\r\n/, 30_000, mark);
    await b.waitForOutput(2, /stopped-42\r\n/, 30_000, mark);
    await Promise.all([a.close(), b.close()]);
  });

  it('answers bad input with errors and keeps the connection usable', async () => {
    const c = client();
    await c.open(1, 'host1');
    c.send('{not json');
    c.send({ type: 'term-input', channel: 99, data: 'x' });
    c.send({ type: 'term-open', channel: 2, host: '10.213.0.2', cols: 80, rows: 24 });
    c.send(JSON.stringify({ type: 'term-input', channel: 1, data: 'x'.repeat(70 * 1024) }));
    await c.waitFor((m) => m.type === 'error' && m.code === 'unknown-host');
    const codes = c.messages.filter((m) => m.type === 'error').map((m) => (m.type === 'error' ? m.code : ''));
    expect(codes).toEqual(expect.arrayContaining(['bad-json', 'unknown-channel', 'unknown-host', 'too-large']));
    c.send({ type: 'term-input', channel: 1, data: 'echo still-$((5+5))\r' });
    await c.waitForOutput(1, /still-10/);
    await c.close();
  });
});

describe('a server restart', () => {
  it('keeps the shell and its history: the restarted server attaches to the same shell, output printed before it replayed', async () => {
    const a = client();
    await a.open(0, 'host0');
    a.send({ type: 'term-input', channel: 0, data: 'cd /tmp; restart_var=kept-$((30+7)); for i in $(seq 1 500); do echo before-restart-$i; done\r' });
    await a.waitForOutput(0, /before-restart-500\r\n/);
    await a.close();
    // The server goes away with every SSH connection it held; the workshop's hosts stay (as at a restart).
    await server.close();
    await stack.close({ keep: () => true });
    await startStack();
    const b = client();
    await b.open(0, 'host0');
    const out = await b.waitForOutput(0, /before-restart-500\r\n/);
    expect(out).toContain('before-restart-1\r\n');
    // The same shell: its working directory and variables are still there.
    b.send({ type: 'term-input', channel: 0, data: 'echo "$restart_var in $PWD"\r' });
    await b.waitForOutput(0, /kept-37 in \/tmp/);
    await b.close();
  }, 180_000);
});
