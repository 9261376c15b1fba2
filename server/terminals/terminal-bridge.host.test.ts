// Real hosts: the terminal bridge against sshd + tmux in nspawn lab hosts, through the real
// server's WebSocket gateway. Needs root and the cached host image (scripts/setup.sh).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabView } from '../../common/lab.ts';
import { ok } from '../../common/result.ts';
import { createLocalProvider } from '../../provisioning/local/local-provider.ts';
import type { RunningServer } from '../app.ts';
import { startServer } from '../app.ts';
import { loadConfig } from '../config.ts';
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

beforeAll(async () => {
  const config = loadConfig({}, { port: 0 });
  stack = createLabWorkspaces({
    provider: createLocalProvider(config),
    labMeta: (id) => (id === 'term' ? lab.meta : undefined),
    // Only for this test: a connection may mirror its own session, so the read-only path can be exercised.
    mirrorPolicy: ({ requester, labId }) => ok({ sessionId: requester, labId }),
  });
  server = await startServer(config, { labs: new StaticLabViews([lab]), gatewayModules: stack.modules });
  cookie = await fetchSessionCookie(server.url);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server?.close();
  await stack?.close();
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
    // tmux redraws the screen on attach: the earlier output is there without typing anything.
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
    // A reset first, then line 1 (270 lines above a 30-row screen), before tmux draws the screen.
    expect(out.startsWith('\x1bc')).toBe(true);
    expect(out.indexOf('early-001\r\n')).toBeGreaterThan(0);
    expect(out.indexOf('early-001')).toBeLessThan(out.lastIndexOf('printed-42'));
    // The cost of a full replay: 2500 lines of 80 characters, of which the last 2000 above the screen are sent.
    b.send({ type: 'term-input', channel: 4, data: "for i in $(seq 1 2500); do printf 'wide-%04d-%073d\\n' $i 0; done; echo big-$((40+2))\r" });
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
    process.stderr.write(`[reattach] 270 lines: ${small.chars} chars in ${small.ms.toFixed(0)} ms; 2000 lines: ${full.length} chars in ${ms.toFixed(0)} ms (open to screen drawn)\n`);
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
