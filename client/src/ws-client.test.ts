// The page's WebSocket against a scripted stand-in for the browser's: the hello, readiness only
// after welcome, reconnect with growing (and reset) backoff, and no retry where the close code forbids it.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CloseCode, PROTOCOL_VERSION } from '../../common/protocol.ts';
import type { ServerMessage } from '../../common/protocol.ts';
import { reconnectDelay } from './reconnect-delay.ts';
import type { SocketStatus } from './ws-client.ts';
import { LabSocket } from './ws-client.ts';

/** Stands in for the browser's WebSocket: the test plays the server by calling open/message/drop. */
class FakeWebSocket extends EventTarget {
  static readonly OPEN = 1;
  static readonly made: FakeWebSocket[] = [];
  readyState = 0;
  readonly sent: unknown[] = [];
  closedWith: { code: number | undefined; reason: string | undefined } | undefined;

  constructor(readonly url: string) {
    super();
    FakeWebSocket.made.push(this);
  }

  binaryType = 'blob';

  send(data: string | Uint8Array): void {
    this.sent.push(typeof data === 'string' ? JSON.parse(data) : { binary: [...data] });
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    this.readyState = 3;
  }

  open(): void {
    this.readyState = 1;
    this.dispatchEvent(new Event('open'));
  }

  message(data: ServerMessage | string | ArrayBuffer): void {
    this.dispatchEvent(new MessageEvent('message', { data: typeof data === 'string' || data instanceof ArrayBuffer ? data : JSON.stringify(data) }));
  }

  drop(code: number, reason = ''): void {
    this.readyState = 3;
    this.dispatchEvent(Object.assign(new Event('close'), { code, reason }));
  }
}

const welcome: ServerMessage = { type: 'welcome', version: PROTOCOL_VERSION, sessionId: 's1', labId: 'etcd' };
const latest = (): FakeWebSocket => FakeWebSocket.made.at(-1)!;

describe('LabSocket', () => {
  let statuses: SocketStatus[];
  let socket: LabSocket;

  beforeEach(() => {
    vi.useFakeTimers();
    // The ±25% spread at its middle: the delays are exactly the doubling ones.
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    vi.stubGlobal('WebSocket', FakeWebSocket);
    FakeWebSocket.made.length = 0;
    statuses = [];
    socket = new LabSocket({ labId: 'etcd', url: 'ws://127.0.0.1:1/labwright/ws', minDelayMs: 500, maxDelayMs: 4000 });
    socket.onStatus((s) => statuses.push(s));
  });
  afterEach(() => {
    socket.close();
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it('says hello with the protocol version and lab, and sends nothing until welcome', () => {
    const ws = latest();
    expect(ws.url).toBe('ws://127.0.0.1:1/labwright/ws');
    ws.open();
    expect(ws.sent).toEqual([{ type: 'hello', version: PROTOCOL_VERSION, labId: 'etcd' }]);
    expect(socket.ready).toBe(false);
    expect(socket.send({ type: 'check-run', step: 0 })).toBe(false);
    ws.message(welcome);
    expect(socket.ready).toBe(true);
    expect(statuses.at(-1)).toEqual({ state: 'open' });
    expect(socket.send({ type: 'check-run', step: 0 })).toBe(true);
    expect(ws.sent.at(-1)).toEqual({ type: 'check-run', step: 0 });
  });

  it('hands each valid frame to the handlers of its type, and ignores frames it cannot read', () => {
    const seen: ServerMessage[] = [];
    const off = socket.on('term-output', (m) => seen.push(m));
    const ws = latest();
    ws.open();
    ws.message(welcome);
    ws.message('not json');
    ws.message(JSON.stringify({ type: 'from-a-newer-server', x: 1 }));
    ws.message(new Uint8Array([9, 0, 0, 104]).buffer); // a binary frame of no kind this page knows
    ws.message(new Uint8Array([1, 0, 2, 104, 105]).buffer);
    off();
    ws.message(new Uint8Array([1, 0, 2, 33]).buffer);
    expect(seen).toEqual([{ type: 'term-output', channel: 2, data: new Uint8Array([104, 105]) }]);
  });

  it('reads binary frames as bytes and sends terminal input as a binary frame, control messages as JSON', () => {
    const ws = latest();
    ws.open();
    ws.message(welcome);
    expect(ws.binaryType).toBe('arraybuffer');
    socket.send({ type: 'term-input', channel: 3, data: 'é' });
    socket.send({ type: 'term-resize', channel: 3, cols: 80, rows: 24 });
    expect(ws.sent.slice(-2)).toEqual([{ binary: [2, 0, 3, 0xc3, 0xa9] }, { type: 'term-resize', channel: 3, cols: 80, rows: 24 }]);
  });

  it('reconnects after a lost connection, waiting twice as long each failed attempt up to the maximum', () => {
    latest().open();
    latest().message(welcome);
    latest().drop(1006, '');
    expect(socket.ready).toBe(false);
    expect(statuses.at(-1)).toEqual({ state: 'reconnecting', detail: 'connection lost' });
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      const before = FakeWebSocket.made.length;
      let waited = 0;
      while (FakeWebSocket.made.length === before) {
        vi.advanceTimersByTime(100);
        waited += 100;
      }
      waits.push(waited);
      latest().drop(1006);
    }
    expect(waits).toEqual([500, 1000, 2000, 4000, 4000]);
  });

  it('starts the backoff over once a connection is welcomed again', () => {
    latest().drop(1006);
    vi.advanceTimersByTime(500);
    latest().drop(1006);
    vi.advanceTimersByTime(999);
    const before = FakeWebSocket.made.length;
    vi.advanceTimersByTime(1);
    expect(FakeWebSocket.made.length).toBe(before + 1);
    latest().open();
    latest().message(welcome);
    latest().drop(4500, 'server shutting down');
    expect(statuses.at(-1)).toEqual({ state: 'reconnecting', detail: 'server shutting down' });
    vi.advanceTimersByTime(500);
    expect(FakeWebSocket.made.length).toBe(before + 2);
  });

  it('does not retry when the close code says it would be refused again', () => {
    latest().open();
    latest().drop(CloseCode.Unauthorized, 'no session');
    expect(statuses.at(-1)).toEqual({ state: 'closed', detail: 'no session' });
    latest().drop(CloseCode.WorkshopEnded);
    vi.advanceTimersByTime(60_000);
    expect(FakeWebSocket.made).toHaveLength(1);
  });

  it('names the code when a refusal comes without a reason', () => {
    latest().drop(CloseCode.NotFound);
    expect(statuses.at(-1)).toEqual({ state: 'closed', detail: 'connection refused (4004)' });
  });

  it('close() ends it for good: a normal close, no reconnect', () => {
    const ws = latest();
    ws.open();
    ws.message(welcome);
    socket.close();
    expect(ws.closedWith).toEqual({ code: 1000, reason: 'page closed' });
    expect(statuses.at(-1)).toEqual({ state: 'closed' });
    ws.drop(1000);
    vi.advanceTimersByTime(60_000);
    expect(FakeWebSocket.made).toHaveLength(1);
  });
});

describe('reconnectDelay', () => {
  it('doubles from the minimum and stops at the maximum', () => {
    const mid = (): number => 0.5;
    expect([0, 1, 2, 3, 4, 10, 50].map((a) => reconnectDelay(a, 500, 10_000, mid))).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
  });

  it('spreads each wait by ±25% so pages that lost the server together come back apart', () => {
    expect(reconnectDelay(1, 500, 10_000, () => 0)).toBe(750);
    expect(reconnectDelay(1, 500, 10_000, () => 0.999_999)).toBeCloseTo(1250, 2);
    expect(reconnectDelay(20, 500, 10_000, () => 0.999_999)).toBeCloseTo(12_500, 1);
  });
});
