// One terminal channel over the page's WebSocket, without DOM: opens a host's terminal (again after
// every reconnect), hands its output to a view, acknowledges it in batches once rendered, and says
// what state it is in. The lab page's terminals and the dashboard's read-only mirrors both use it.
import type { PaneHolder, TermState } from '../../../common/protocol.ts';
import { ACK_EVERY } from '../../../common/term-frame.ts';
import type { LabSocket } from '../ws-client.ts';

export { ACK_EVERY };

/** The part of the page's socket a channel uses (a fake one in tests). */
export type ChannelSocket = Pick<LabSocket, 'ready' | 'send' | 'on' | 'onStatus'>;

/**
 * The server's state for the channel, or one the page knows first: `offline` while the page's
 * socket reconnects, `refused` when the server turned the term-open down (the message says why).
 */
export type ChannelState = TermState | 'offline' | 'refused';

export interface ChannelTarget {
  /** The page's number for this terminal; the server's messages for it carry the same number. */
  readonly channel: number;
  readonly host: string;
  /** Opens a read-only mirror of this attendee's terminal instead of one's own (dashboard). */
  readonly mirrorOf?: string;
}

/** Where the channel's output and state go: the view (xterm.js) and whatever shows the state. */
export interface ChannelSink {
  /** Renders output (raw bytes, whole UTF-8 characters) and calls `rendered` once it is on screen: only then is it acknowledged. */
  write(data: Uint8Array, rendered: () => void): void;
  /** The size to open the terminal with, asked right before every term-open. */
  size(): { cols: number; rows: number };
  state(state: ChannelState, message?: string): void;
}


/** What term-pane said: who holds the terminal, and which programs if not its shell. */
export interface PaneAnswer {
  state: PaneHolder;
  commands: string[];
  message?: string;
}

/** A probe is one SSH exec; an interrupt waits up to two seconds after each of two keys. */
const ASK_TIMEOUT_MS = { 'term-probe': 5000, 'term-interrupt': 15_000 } as const;

export class TerminalChannel {
  readonly channel: number;
  readonly host: string;
  readonly #mirrorOf: string | undefined;
  readonly #socket: ChannelSocket;
  readonly #sink: ChannelSink;
  readonly #offs: (() => void)[];
  #state: ChannelState = 'connecting';
  /** Rendered bytes not yet acknowledged: acknowledged every ACK_EVERY, never per frame (a keystroke's echo costs no ack). */
  #unacked = 0;
  /** Bumped on every open: output rendered for an earlier connection means nothing to the new one. */
  #generation = 0;
  #disposed = false;
  /** The question to the server about this terminal's pane that awaits its term-pane. */
  #asked: { ref: keyof typeof ASK_TIMEOUT_MS; done: (a: PaneAnswer) => void } | undefined;

  constructor(socket: ChannelSocket, target: ChannelTarget, sink: ChannelSink) {
    this.channel = target.channel;
    this.host = target.host;
    this.#mirrorOf = target.mirrorOf;
    this.#socket = socket;
    this.#sink = sink;
    this.#setState('connecting');
    this.#offs = [
      socket.on('welcome', () => this.#open()),
      socket.on('term-output', (m) => {
        if (m.channel === this.channel) this.#output(m.data);
      }),
      socket.on('term-pane', (m) => {
        if (m.channel !== this.channel || this.#asked?.ref !== m.ref) return;
        this.#asked.done({ state: m.state, commands: m.commands, ...(m.message !== undefined ? { message: m.message } : {}) });
      }),
      socket.on('term-state', (m) => {
        if (m.channel === this.channel) this.#setState(m.state, m.message);
      }),
      socket.on('error', (m) => {
        // The error names the message it answers, not the channel: every channel still opening takes it.
        if (m.ref === 'term-open' && this.#state === 'connecting') this.#setState('refused', m.message);
      }),
      socket.onStatus((s) => {
        if (s.state === 'open') return;
        this.#setState(s.state === 'closed' ? 'closed' : s.state === 'connecting' ? 'connecting' : 'offline', s.detail);
      }),
    ];
    if (socket.ready) this.#open();
  }

  get state(): ChannelState {
    return this.#state;
  }

  /** Keys typed or text pasted, at most the protocol's term-input size (the view splits). */
  input(data: string): void {
    this.#socket.send({ type: 'term-input', channel: this.channel, data });
  }

  /**
   * Asks the server who holds the terminal (`term-probe`), or to stop it (`term-interrupt`).
   * Never rejects: no answer in time, or a newer question, is `unknown`.
   */
  ask(ref: keyof typeof ASK_TIMEOUT_MS): Promise<PaneAnswer> {
    this.#asked?.done({ state: 'unknown', commands: [], message: 'asked again' });
    return new Promise((resolve) => {
      const timer = setTimeout(() => asked.done({ state: 'unknown', commands: [], message: 'the server did not answer' }), ASK_TIMEOUT_MS[ref]);
      const asked = {
        ref,
        done: (a: PaneAnswer): void => {
          clearTimeout(timer);
          if (this.#asked === asked) this.#asked = undefined;
          resolve(a);
        },
      };
      this.#asked = asked;
      this.#socket.send({ type: ref, channel: this.channel });
    });
  }

  resize(cols: number, rows: number): void {
    this.#socket.send({ type: 'term-resize', channel: this.channel, cols, rows });
  }

  /** Closes the terminal on the server and stops listening; output not yet acknowledged is dropped. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const off of this.#offs) off();
    this.#socket.send({ type: 'term-close', channel: this.channel });
  }

  #open(): void {
    this.#generation++;
    this.#unacked = 0;
    const { cols, rows } = this.#sink.size();
    this.#setState('connecting');
    this.#socket.send({
      type: 'term-open',
      channel: this.channel,
      host: this.host,
      cols,
      rows,
      ...(this.#mirrorOf !== undefined ? { mirrorOf: this.#mirrorOf } : {}),
    });
  }

  #output(data: Uint8Array): void {
    const generation = this.#generation;
    this.#sink.write(data, () => {
      if (generation !== this.#generation || this.#disposed) return;
      this.#unacked += data.byteLength;
      // The server pauses only at HIGH_WATER (256 KiB), far above this: output never waits for an ack.
      if (this.#unacked < ACK_EVERY) return;
      this.#socket.send({ type: 'term-ack', channel: this.channel, bytes: this.#unacked });
      this.#unacked = 0;
    });
  }

  #setState(state: ChannelState, message?: string): void {
    this.#state = state;
    this.#sink.state(state, message);
  }
}
