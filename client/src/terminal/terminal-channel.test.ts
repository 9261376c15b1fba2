// The terminal channel against a fake page socket: what it sends (open, input, batched acks,
// close), what state it reports, and that output of an earlier connection is never acknowledged.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ClientMessage, ServerMessage, ServerMessageType } from '../../../common/protocol.ts';
import type { MessageOfType, SocketStatus } from '../ws-client.ts';
import type { ChannelSink, ChannelSocket, ChannelState } from './terminal-channel.ts';
import { ACK_EVERY, TerminalChannel } from './terminal-channel.ts';

/** A page socket whose server is the test: it records what is sent and delivers what the test says. */
class FakeSocket implements ChannelSocket {
  ready = false;
  readonly sent: ClientMessage[] = [];
  readonly #handlers = new Map<ServerMessageType, Set<(m: ServerMessage) => void>>();
  readonly #status = new Set<(s: SocketStatus) => void>();
  #current: SocketStatus = { state: 'connecting' };

  on<T extends ServerMessageType>(type: T, handler: (msg: MessageOfType<T>) => void): () => void {
    let set = this.#handlers.get(type);
    if (!set) this.#handlers.set(type, (set = new Set()));
    const h = handler as (m: ServerMessage) => void;
    set.add(h);
    return () => set.delete(h);
  }

  onStatus(listener: (s: SocketStatus) => void): () => void {
    this.#status.add(listener);
    listener(this.#current);
    return () => this.#status.delete(listener);
  }

  send(msg: ClientMessage): boolean {
    if (!this.ready) return false;
    this.sent.push(msg);
    return true;
  }

  deliver(msg: ServerMessage): void {
    if (msg.type === 'welcome') {
      this.ready = true;
      this.status({ state: 'open' });
    }
    for (const h of this.#handlers.get(msg.type) ?? []) h(msg);
  }

  status(s: SocketStatus): void {
    this.#current = s;
    if (s.state !== 'open') this.ready = false;
    for (const l of this.#status) l(s);
  }

  welcome(): void {
    this.deliver({ type: 'welcome', version: 2, sessionId: 's', labId: 'lab' });
  }

  listeners(): number {
    let n = this.#status.size;
    for (const set of this.#handlers.values()) n += set.size;
    return n;
  }

  take(): ClientMessage[] {
    return this.sent.splice(0);
  }
}

/** A view that renders when told to: `render()` runs the pending rendered-callbacks, like xterm's parser. */
class FakeView implements ChannelSink {
  readonly written: string[] = [];
  readonly states: [ChannelState, string | undefined][] = [];
  readonly #pending: (() => void)[] = [];
  cols = 80;
  rows = 24;

  write(data: Uint8Array, rendered: () => void): void {
    this.written.push(new TextDecoder().decode(data));
    this.#pending.push(rendered);
  }

  size(): { cols: number; rows: number } {
    return { cols: this.cols, rows: this.rows };
  }

  state(state: ChannelState, message?: string): void {
    this.states.push([state, message]);
  }

  render(): void {
    for (const done of this.#pending.splice(0)) done();
  }

  get last(): ChannelState | undefined {
    return this.states.at(-1)?.[0];
  }
}

const output = (channel: number, data: string): ServerMessage => ({ type: 'term-output', channel, data: new TextEncoder().encode(data) });

describe('TerminalChannel', () => {
  let socket: FakeSocket;
  let view: FakeView;

  beforeEach(() => {
    vi.useFakeTimers();
    socket = new FakeSocket();
    view = new FakeView();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('opens the terminal on welcome, with the view’s size, and again after every reconnect', () => {
    const ch = new TerminalChannel(socket, { channel: 2, host: 'host1' }, view);
    expect(socket.sent).toEqual([]);
    expect(ch.state).toBe('connecting');
    socket.welcome();
    expect(socket.take()).toEqual([{ type: 'term-open', channel: 2, host: 'host1', cols: 80, rows: 24 }]);
    socket.deliver({ type: 'term-state', channel: 2, state: 'connected' });
    expect(ch.state).toBe('connected');

    socket.status({ state: 'reconnecting', detail: 'connection lost' });
    expect(view.states.at(-1)).toEqual(['offline', 'connection lost']);
    view.cols = 120;
    socket.welcome();
    expect(socket.take()).toEqual([{ type: 'term-open', channel: 2, host: 'host1', cols: 120, rows: 24 }]);
    expect(ch.state).toBe('connecting');
  });

  it('opens at once when the socket is already up, and a mirror names whose terminal it mirrors', () => {
    socket.welcome();
    new TerminalChannel(socket, { channel: 512, host: 'host0', mirrorOf: 'att-1' }, view);
    expect(socket.take()).toEqual([{ type: 'term-open', channel: 512, host: 'host0', cols: 80, rows: 24, mirrorOf: 'att-1' }]);
  });

  it('writes only its own channel’s output to the view', () => {
    new TerminalChannel(socket, { channel: 1, host: 'host1' }, view);
    socket.welcome();
    socket.deliver(output(0, 'not mine'));
    socket.deliver(output(1, 'mine'));
    expect(view.written).toEqual(['mine']);
  });

  it('acknowledges rendered output only every ACK_EVERY bytes, so a keystroke’s echo costs no ack message', () => {
    new TerminalChannel(socket, { channel: 0, host: 'host0' }, view);
    socket.welcome();
    socket.take();
    for (let i = 0; i < 100; i++) socket.deliver(output(0, 'x'));
    view.render();
    vi.runAllTimers();
    expect(socket.sent).toEqual([]);
    const chunk = 'é'.repeat(ACK_EVERY / 8); // 2 bytes each: ACK_EVERY / 4 bytes, counted in bytes
    for (let i = 0; i < 4; i++) socket.deliver(output(0, chunk));
    vi.runAllTimers();
    expect(socket.sent).toEqual([]); // not rendered yet: nothing is acknowledged
    view.render();
    expect(socket.take()).toEqual([{ type: 'term-ack', channel: 0, bytes: ACK_EVERY + 100 }]);
    vi.runAllTimers();
    expect(socket.sent).toEqual([]);
  });

  it('never acknowledges output of an earlier connection on the new one', () => {
    new TerminalChannel(socket, { channel: 0, host: 'host0' }, view);
    socket.welcome();
    socket.deliver(output(0, 'x'.repeat(ACK_EVERY)));
    socket.status({ state: 'reconnecting', detail: 'connection lost' });
    socket.welcome();
    socket.take();
    view.render(); // xterm finishes rendering the old output only now
    vi.runAllTimers();
    expect(socket.sent).toEqual([]);
    socket.deliver(output(0, 'y'.repeat(ACK_EVERY)));
    view.render();
    expect(socket.take()).toEqual([{ type: 'term-ack', channel: 0, bytes: ACK_EVERY }]);
  });

  it('drops rendered bytes not yet acknowledged when a reconnect reopens the channel', () => {
    new TerminalChannel(socket, { channel: 0, host: 'host0' }, view);
    socket.welcome();
    socket.deliver(output(0, 'x'.repeat(ACK_EVERY - 1)));
    view.render();
    socket.status({ state: 'reconnecting' });
    socket.welcome();
    socket.deliver(output(0, 'y'));
    view.render();
    expect(socket.take().filter((m) => m.type === 'term-ack')).toEqual([]);
  });

  it('reports the server’s state for its channel with the message', () => {
    const ch = new TerminalChannel(socket, { channel: 3, host: 'host0' }, view);
    socket.welcome();
    socket.deliver({ type: 'term-state', channel: 4, state: 'closed' });
    expect(ch.state).toBe('connecting');
    socket.deliver({ type: 'term-state', channel: 3, state: 'unreachable', message: 'no route to host' });
    expect(view.states.at(-1)).toEqual(['unreachable', 'no route to host']);
  });

  it('a refused term-open marks the channels still opening as refused, not those already connected', () => {
    const a = new TerminalChannel(socket, { channel: 0, host: 'host0' }, view);
    const other = new FakeView();
    const b = new TerminalChannel(socket, { channel: 1, host: 'host1' }, other);
    socket.welcome();
    socket.deliver({ type: 'term-state', channel: 0, state: 'connected' });
    socket.deliver({ type: 'error', code: 'forbidden', message: 'not your attendee', ref: 'term-open' });
    expect(a.state).toBe('connected');
    expect(b.state).toBe('refused');
    expect(other.states.at(-1)).toEqual(['refused', 'not your attendee']);
    socket.deliver({ type: 'error', code: 'unknown-channel', message: 'no such channel', ref: 'term-input' });
    expect(b.state).toBe('refused');
  });

  it('follows the page socket: closed says why, connecting is connecting, open waits for the server', () => {
    const ch = new TerminalChannel(socket, { channel: 0, host: 'host0' }, view);
    expect(view.states).toEqual([
      ['connecting', undefined],
      ['connecting', undefined],
    ]);
    socket.welcome();
    socket.deliver({ type: 'term-state', channel: 0, state: 'connected' });
    socket.status({ state: 'closed', detail: 'workshop ended' });
    expect(view.states.at(-1)).toEqual(['closed', 'workshop ended']);
    expect(ch.state).toBe('closed');
  });

  it('sends input and resizes on its channel', () => {
    const ch = new TerminalChannel(socket, { channel: 5, host: 'host0' }, view);
    socket.welcome();
    socket.take();
    ch.input('ls\r');
    ch.resize(100, 30);
    expect(socket.take()).toEqual([
      { type: 'term-input', channel: 5, data: 'ls\r' },
      { type: 'term-resize', channel: 5, cols: 100, rows: 30 },
    ]);
  });

  it('dispose closes the channel once, stops listening and sends no late ack', () => {
    const ch = new TerminalChannel(socket, { channel: 0, host: 'host0' }, view);
    const before = socket.listeners();
    socket.welcome();
    socket.deliver(output(0, 'abc'));
    view.render();
    socket.take();
    ch.dispose();
    ch.dispose();
    vi.runAllTimers();
    expect(socket.take()).toEqual([{ type: 'term-close', channel: 0 }]);
    expect(socket.listeners()).toBe(before - 6);
    socket.deliver(output(0, 'after'));
    socket.welcome();
    expect(view.written).toEqual(['abc']);
    expect(socket.sent).toEqual([]);
  });
});
