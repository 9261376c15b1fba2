import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { ServerMessage } from '../../common/protocol.ts';
import { err, ok } from '../../common/result.ts';
import { logger } from '../log.ts';
import { SshError } from '../ssh/ssh-connection.ts';
import type { ShellStream, TermSize } from './terminal-bridge.ts';
import type { MuxOptions } from './terminal-mux.ts';
import { TerminalMux } from './terminal-mux.ts';

class FakeStream extends EventEmitter implements ShellStream {
  readonly stderr = new EventEmitter();
  written = '';
  paused = false;
  windows: [number, number][] = [];
  closed = false;
  write(data: string): boolean {
    this.written += data;
    return true;
  }
  pause(): this {
    this.paused = true;
    return this;
  }
  resume(): this {
    this.paused = false;
    return this;
  }
  setWindow(rows: number, cols: number): void {
    this.windows.push([rows, cols]);
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close');
  }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function setup(over: Partial<MuxOptions> = {}) {
  const sent: ServerMessage[] = [];
  const errors: { code: string; ref?: string }[] = [];
  const streams: FakeStream[] = [];
  const opened: { host: string; mirror: unknown; size: TermSize }[] = [];
  const mux = new TerminalMux({
    hosts: ['host0', 'host1'],
    authorizeMirror: () => err({ code: 'forbidden', message: 'no' }),
    openerFor: (host, mirror) => (size) => {
      opened.push({ host, mirror, size });
      const s = new FakeStream();
      streams.push(s);
      return Promise.resolve(s);
    },
    send: (m) => sent.push(m),
    sendError: (code, _message, ref) => errors.push(ref === undefined ? { code } : { code, ref }),
    log: logger('test'),
    highWater: 1000,
    lowWater: 100,
    ...over,
  });
  return { mux, sent, errors, streams, opened };
}

const open = (channel: number, host = 'host1', mirrorOf?: string) =>
  ({ type: 'term-open', channel, host, cols: 80, rows: 24, ...(mirrorOf ? { mirrorOf } : {}) }) as const;

describe('TerminalMux', () => {
  it('routes input, resize and output of several channels to the right shells', async () => {
    const { mux, sent, streams, opened } = setup();
    mux.handle(open(1, 'host0'));
    mux.handle(open(2, 'host1'));
    await tick();
    expect(opened.map((o) => o.host)).toEqual(['host0', 'host1']);
    mux.handle({ type: 'term-input', channel: 2, data: 'hostname\r' });
    mux.handle({ type: 'term-resize', channel: 1, cols: 120, rows: 40 });
    expect(streams[1]!.written).toBe('hostname\r');
    expect(streams[0]!.written).toBe('');
    expect(streams[0]!.windows).toEqual([[40, 120]]);
    streams[1]!.emit('data', Buffer.from('host1\r\n'));
    await tick();
    expect(sent).toContainEqual({ type: 'term-output', channel: 2, data: new Uint8Array(Buffer.from('host1\r\n')) });
    expect(sent).toContainEqual({ type: 'term-opened', channel: 1, host: 'host0', readOnly: false });
    expect(sent).toContainEqual({ type: 'term-state', channel: 1, state: 'connected' });
  });

  it('answers unknown channels and hosts with an error and keeps working', async () => {
    const { mux, errors, streams } = setup();
    mux.handle({ type: 'term-input', channel: 9, data: 'x' });
    mux.handle(open(1, '10.0.0.1'));
    mux.handle(open(1, 'host0'));
    mux.handle(open(1, 'host0'));
    mux.handle({ type: 'term-close', channel: 5 });
    expect(errors).toEqual([
      { code: 'unknown-channel', ref: 'term-input' },
      { code: 'unknown-host', ref: 'term-open' },
      { code: 'invalid-message', ref: 'term-open' },
      { code: 'unknown-channel', ref: 'term-close' },
    ]);
    await tick();
    mux.handle({ type: 'term-input', channel: 1, data: 'ls\r' });
    expect(streams[0]!.written).toBe('ls\r');
  });

  it('refuses mirrors when the policy says no (solo mode)', () => {
    const { mux, errors, opened } = setup();
    mux.handle(open(3, 'host0', 'someone'));
    expect(errors).toEqual([{ code: 'forbidden', ref: 'term-open' }]);
    expect(opened).toEqual([]);
  });

  it('lets a granted mirror watch but refuses its input and resize on the server', async () => {
    const { mux, errors, streams, sent, opened } = setup({
      authorizeMirror: () => ok({ sessionId: 'attendee', labId: 'etcd' }),
    });
    mux.handle(open(4, 'host0', 'attendee'));
    await tick();
    expect(opened[0]!.mirror).toEqual({ sessionId: 'attendee', labId: 'etcd' });
    expect(sent).toContainEqual({ type: 'term-opened', channel: 4, host: 'host0', readOnly: true });
    mux.handle({ type: 'term-input', channel: 4, data: 'rm -rf /\r' });
    mux.handle({ type: 'term-resize', channel: 4, cols: 10, rows: 5 });
    expect(streams[0]!.written).toBe('');
    expect(streams[0]!.windows).toEqual([]);
    expect(errors).toEqual([
      { code: 'read-only', ref: 'term-input' },
      { code: 'read-only', ref: 'term-resize' },
    ]);
  });

  it('pauses the SSH channel past the high-water mark and resumes after acks (memory bounded)', async () => {
    const { mux, sent, streams } = setup();
    mux.handle(open(1));
    await tick();
    const s = streams[0]!;
    const chunk = Buffer.alloc(300, 'y');
    let pushed = 0;
    // Like a stream, the fake stops delivering once paused.
    while (!s.paused) {
      s.emit('data', chunk);
      pushed += chunk.length;
    }
    expect(pushed).toBe(1200); // 4 chunks: the fourth crossed 1000
    const bridge = mux.channels.get(1)!;
    expect(bridge.flow.unacked).toBeLessThanOrEqual(1000 + 300);
    await tick();
    const out = sent.filter((m) => m.type === 'term-output');
    expect(out).toHaveLength(1);
    mux.handle({ type: 'term-ack', channel: 1, bytes: 600 });
    expect(s.paused).toBe(true); // 600 still unacked > low water
    mux.handle({ type: 'term-ack', channel: 1, bytes: 600 });
    expect(s.paused).toBe(false);
  });

  it('keeps input typed while connecting and sends it once the shell is up', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const s = new FakeStream();
    const { mux } = setup({ openerFor: () => async () => (await gate, s) });
    mux.handle(open(1));
    mux.handle({ type: 'term-input', channel: 1, data: 'echo hi\r' });
    expect(s.written).toBe('');
    release();
    await tick();
    expect(s.written).toBe('echo hi\r');
  });

  it('reports an unreachable host and tries again instead of failing', async () => {
    let attempts = 0;
    const s = new FakeStream();
    const { mux, sent } = setup({
      openerFor: () => () => {
        attempts++;
        return attempts === 1 ? Promise.reject(new SshError('unreachable', 'host1 is unreachable: ECONNREFUSED')) : Promise.resolve(s);
      },
    });
    mux.handle(open(1));
    await tick();
    expect(sent).toContainEqual({ type: 'term-state', channel: 1, state: 'unreachable', message: 'host1 is unreachable: ECONNREFUSED' });
    await expect.poll(() => attempts, { timeout: 5000 }).toBe(2);
    await tick();
    expect(sent.at(-1)).toEqual({ type: 'term-state', channel: 1, state: 'connected' });
    mux.closeAll();
    expect(s.closed).toBe(true);
  });

  it('reopens a shell whose channel dropped and says so', async () => {
    const { mux, sent, streams } = setup();
    mux.handle(open(1));
    await tick();
    streams[0]!.close();
    expect(sent.at(-1)).toEqual({ type: 'term-state', channel: 1, state: 'reconnecting' });
    await expect.poll(() => streams.length, { timeout: 5000 }).toBe(2);
    await tick();
    expect(sent.at(-1)).toEqual({ type: 'term-state', channel: 1, state: 'connected' });
    mux.handle({ type: 'term-close', channel: 1 });
    expect(streams[1]!.closed).toBe(true);
    expect(sent.at(-1)).toEqual({ type: 'term-state', channel: 1, state: 'closed' });
  });
});

describe('TerminalMux: who holds a terminal (Run buttons)', () => {
  const watch = { idle: false, commands: ['watch'], screen: 'x', group: '7' };
  const shell = { idle: true, commands: ['bash'], screen: 'x', group: '1' };

  it('answers a probe with the pane of the channel’s own host, and an interrupt once the shell is back', async () => {
    let now = watch;
    const looked: string[] = [];
    const pressed: string[] = [];
    const { mux, sent } = setup({
      panes: (host) => ({
        look: () => {
          looked.push(host);
          return Promise.resolve(now);
        },
        press: (key) => {
          pressed.push(key);
          now = shell;
          return Promise.resolve();
        },
      }),
    });
    mux.handle(open(1, 'host1'));
    mux.handle({ type: 'term-probe', channel: 1 });
    await tick();
    expect(sent).toContainEqual({ type: 'term-pane', channel: 1, ref: 'term-probe', state: 'busy', commands: ['watch'] });
    mux.handle({ type: 'term-interrupt', channel: 1 });
    await expect
      .poll(() => sent.filter((m) => m.type === 'term-pane').at(-1))
      .toEqual({ type: 'term-pane', channel: 1, ref: 'term-interrupt', state: 'idle', commands: ['bash'] });
    expect(pressed).toEqual(['C-c']);
    expect(new Set(looked)).toEqual(new Set(['host1']));
  });

  it('never lets a mirror probe or interrupt, and says unknown when it cannot look', async () => {
    const pressed: string[] = [];
    const { mux, sent, errors } = setup({
      authorizeMirror: () => ok({ sessionId: 's', labId: 'l' }),
      panes: (host) => (host === 'host0' ? undefined : { look: () => Promise.resolve(watch), press: (k) => Promise.resolve(void pressed.push(k)) }),
    });
    mux.handle(open(3, 'host1', 'attendee'));
    mux.handle({ type: 'term-interrupt', channel: 3 });
    mux.handle({ type: 'term-probe', channel: 3 });
    await tick();
    expect(errors).toEqual([
      { code: 'read-only', ref: 'term-interrupt' },
      { code: 'read-only', ref: 'term-probe' },
    ]);
    expect(pressed).toEqual([]);
    mux.handle(open(4, 'host0'));
    mux.handle({ type: 'term-probe', channel: 4 });
    await tick();
    expect(sent.filter((m) => m.type === 'term-pane')).toMatchObject([{ channel: 4, state: 'unknown' }]);
  });
});
