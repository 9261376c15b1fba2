import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import type { ServerMessage } from '../../common/protocol.ts';
import { err } from '../../common/result.ts';
import { logger } from '../log.ts';
import { FlowControl, SocketGate } from './flow-control.ts';
import type { ShellStream } from './terminal-bridge.ts';
import { TerminalMux } from './terminal-mux.ts';

function make(high = 100, low = 25) {
  const calls: string[] = [];
  const fc = new FlowControl({ pause: () => calls.push('pause'), resume: () => calls.push('resume') }, high, low);
  return { fc, calls };
}

describe('FlowControl', () => {
  it('pauses the source once unacknowledged output reaches the high-water mark', () => {
    const { fc, calls } = make();
    fc.sent(60);
    expect(calls).toEqual([]);
    fc.sent(40);
    expect(calls).toEqual(['pause']);
    expect(fc.paused).toBe(true);
    // More output while paused (the chunk already read) pauses only once.
    fc.sent(30);
    expect(calls).toEqual(['pause']);
    expect(fc.peak).toBe(130);
  });

  it('resumes only once the browser is down to the low-water mark, not just below the high one', () => {
    const { fc, calls } = make();
    fc.sent(120);
    fc.acked(50); // 70 left: still behind
    expect(calls).toEqual(['pause']);
    fc.acked(45); // 25 left
    expect(calls).toEqual(['pause', 'resume']);
    expect(fc.paused).toBe(false);
  });

  it('never lets over-acknowledgement open the window beyond the high-water mark', () => {
    const { fc, calls } = make();
    fc.sent(10);
    fc.acked(1_000_000);
    expect(fc.unacked).toBe(0);
    fc.sent(100);
    expect(calls).toEqual(['pause']);
  });

  it('rejects nonsensical thresholds', () => {
    expect(() => make(10, 10)).toThrow(RangeError);
  });

  it('ignores acks that are not a positive finite number and never counts the client ahead', () => {
    const { fc, calls } = make();
    fc.sent(100);
    for (const lie of [Number.NaN, -50, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, 0]) fc.acked(lie);
    expect(fc.unacked).toBe(100);
    expect(calls).toEqual(['pause']);
    // Acknowledging in advance earns no credit: the next output counts in full.
    fc.acked(Number.MAX_SAFE_INTEGER);
    fc.acked(Number.MAX_SAFE_INTEGER);
    expect(fc.unacked).toBe(0);
    fc.sent(99);
    expect(fc.unacked).toBe(99);
    fc.sent(1);
    expect(calls).toEqual(['pause', 'resume', 'pause']);
  });
});

describe('SocketGate', () => {
  it('closes at the high-water mark and opens only once the socket is down to the low one', async () => {
    let queued = 0;
    const gate = new SocketGate({ buffered: () => queued, highWater: 1000, lowWater: 100, pollMs: 5 });
    const told: boolean[] = [];
    gate.subscribe((p) => told.push(p));
    queued = 999;
    gate.check();
    expect(gate.paused).toBe(false);
    queued = 1500;
    gate.check();
    gate.check();
    expect(told).toEqual([true]);
    queued = 500; // draining, but not yet at the low-water mark
    await new Promise((r) => setTimeout(r, 30));
    expect(gate.paused).toBe(true);
    queued = 100;
    await vi.waitFor(() => expect(gate.paused).toBe(false));
    expect(told).toEqual([true, false]);
    expect(gate.pauses).toBe(1);
    expect(gate.peak).toBe(1500);
    gate.dispose();
  });

  it('rejects nonsensical thresholds', () => {
    expect(() => new SocketGate({ buffered: () => 0, highWater: 10, lowWater: 20 })).toThrow(RangeError);
  });
});

class FakeStream extends EventEmitter implements ShellStream {
  readonly stderr = new EventEmitter();
  paused = false;
  write(): boolean {
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
  setWindow(): void {}
  close(): void {
    this.emit('close');
  }
}

describe('a connection whose client acknowledges everything but does not read', () => {
  it('pauses every shell of the connection while its socket is full, and resumes them once it drains', async () => {
    let queued = 0;
    const streams: FakeStream[] = [];
    const sent: ServerMessage[] = [];
    const mux = new TerminalMux({
      hosts: ['host0', 'host1'],
      authorizeMirror: () => err({ code: 'forbidden', message: 'no' }),
      openerFor: () => () => {
        const s = new FakeStream();
        streams.push(s);
        return Promise.resolve(s);
      },
      send: (m) => {
        sent.push(m);
        // The socket queues whatever is sent: nobody reads it.
        if (m.type === 'term-output') queued += m.data.length;
      },
      sendError: () => undefined,
      log: logger('test'),
      highWater: 1000,
      lowWater: 100,
      bufferedAmount: () => queued,
      socketHighWater: 5000,
      socketLowWater: 1000,
    });
    mux.handle({ type: 'term-open', channel: 1, host: 'host0', cols: 80, rows: 24 });
    mux.handle({ type: 'term-open', channel: 2, host: 'host1', cols: 80, rows: 24 });
    await vi.waitFor(() => expect(streams).toHaveLength(2));
    const [a, b] = streams as [FakeStream, FakeStream];
    for (let i = 0; i < 10; i++) {
      a.emit('data', Buffer.from('y'.repeat(800)));
      // The lying client: everything acknowledged the moment it is sent.
      mux.handle({ type: 'term-ack', channel: 1, bytes: 1e12 });
      await new Promise((r) => setImmediate(r));
      if (a.paused) break;
    }
    expect(a.paused).toBe(true);
    expect(b.paused).toBe(true);
    expect(mux.gate?.paused).toBe(true);
    expect(queued).toBeLessThan(5000 + 800);
    // Acks do not reopen it; only the socket draining does.
    mux.handle({ type: 'term-ack', channel: 1, bytes: 1e12 });
    expect(a.paused).toBe(true);
    queued = 0;
    await vi.waitFor(() => expect(a.paused).toBe(false));
    expect(b.paused).toBe(false);
    mux.closeAll();
  });
});
