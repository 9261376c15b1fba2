// One browser terminal channel bridged to one SSH shell channel: output is batched, UTF-8
// decoded and flow-controlled; input and resizes go the other way; a dropped shell is reopened
// with backoff (it re-attaches to the same keeper session, so the user keeps their screen and history).
import type { ServerMessage, TermState } from '../../common/protocol.ts';
import type { Logger } from '../log.ts';
import { SshError } from '../ssh/ssh-connection.ts';
import type { SocketGate } from './flow-control.ts';
import { FlowControl } from './flow-control.ts';
import { OutputBatcher } from './output-batcher.ts';

/** What the bridge needs of an ssh2 ClientChannel (a fake in unit tests). */
export interface ShellStream {
  on(event: 'data', listener: (chunk: Buffer) => void): this;
  on(event: 'close', listener: () => void): this;
  on(event: 'error', listener: (e: Error) => void): this;
  readonly stderr: { on(event: 'data', listener: (chunk: Buffer) => void): unknown };
  write(data: string): boolean;
  pause(): this;
  resume(): this;
  setWindow(rows: number, cols: number, height: number, width: number): void;
  close(): void;
}

export interface TermSize {
  cols: number;
  rows: number;
}

/** Opens the shell (already attached to the session keeper); rejects with SshError when the host cannot be reached. */
export type ShellOpener = (size: TermSize) => Promise<ShellStream>;

export type Schedule = (fn: () => void, ms: number) => () => void;

const defaultSchedule: Schedule = (fn, ms) => {
  const t = setTimeout(fn, ms);
  return () => clearTimeout(t);
};

/**
 * Reopen delays. The first retry is quick (a server-side hiccup or `exit` in the shell);
 * later ones back off so that an unreachable host is not hammered, capped so that a host that
 * comes back is noticed within seconds.
 */
export const RETRY_DELAYS_MS = [200, 500, 1000, 2000, 5000, 10_000];
/** A shell that stayed up this long counts as healthy: the next failure starts the backoff afresh. */
const HEALTHY_AFTER_MS = 10_000;
/** Input typed while the shell is (re)connecting is kept up to this much and sent once it is up. */
const MAX_PENDING_INPUT = 16 * 1024;

export interface BridgeOptions {
  channel: number;
  host: string;
  readOnly: boolean;
  size: TermSize;
  open: ShellOpener;
  send: (msg: ServerMessage) => void;
  log: Logger;
  /** Told whenever the host turned out to be reachable or not (for env-status). */
  onReachability?: (reachable: boolean) => void;
  highWater?: number;
  lowWater?: number;
  /** The connection's socket bound: while it is closed, this shell is paused whatever the acks say. */
  gate?: SocketGate;
  schedule?: Schedule;
  /** A read-only mirror whose attendee handed over the keyboard: input is let through while this says so. */
  mayType?: () => boolean;
}

export class TerminalBridge {
  readonly channel: number;
  readonly host: string;
  readonly readOnly: boolean;
  #size: TermSize;
  #stream: ShellStream | null = null;
  #state: TermState = 'connecting';
  #closed = false;
  #attempt = 0;
  #cancelTimer: (() => void) | null = null;
  #pendingInput = '';
  /** reopen() was called while a shell was being opened. */
  #reopenWanted = false;
  /** Whether #stream is paused now: by flow control, by the socket gate, or both. */
  #streamPaused = false;
  readonly #unsubscribeGate: () => void;
  readonly #flow: FlowControl;
  readonly #batcher: OutputBatcher;
  readonly #schedule: Schedule;

  constructor(private readonly opts: BridgeOptions) {
    this.channel = opts.channel;
    this.host = opts.host;
    this.readOnly = opts.readOnly;
    this.#size = opts.size;
    this.#schedule = opts.schedule ?? defaultSchedule;
    this.#flow = new FlowControl({ pause: () => this.#applyPause(), resume: () => this.#applyPause() }, opts.highWater, opts.lowWater);
    this.#unsubscribeGate = opts.gate?.subscribe(() => this.#applyPause()) ?? (() => undefined);
    this.#batcher = new OutputBatcher((data) => opts.send({ type: 'term-output', channel: this.channel, data }));
  }

  get state(): TermState {
    return this.#state;
  }
  /** Flow-control figures, for tests and the bench. */
  get flow(): Pick<FlowControl, 'unacked' | 'paused' | 'peak' | 'highWater' | 'lowWater'> {
    return this.#flow;
  }

  start(): void {
    this.#setState('connecting');
    void this.#connect();
  }

  input(data: string): void {
    if (this.#closed || (this.readOnly && this.opts.mayType?.() !== true)) return;
    if (this.#stream && this.#state === 'connected') {
      this.#stream.write(data);
      return;
    }
    if (this.#pendingInput.length + data.length <= MAX_PENDING_INPUT) this.#pendingInput += data;
    else this.opts.log.warn({ channel: this.channel }, 'input dropped while the shell is reconnecting');
  }

  resize(size: TermSize): void {
    if (this.#closed || this.readOnly) return;
    this.#size = size;
    this.#stream?.setWindow(size.rows, size.cols, 0, 0);
  }

  ack(size: number): void {
    this.#flow.acked(size);
  }

  /**
   * Closes the shell and opens it again at once (the opener decides anew, e.g. a mirror with or
   * without the keyboard); input typed meanwhile waits for the new shell. While a shell is being
   * opened, it is reopened as soon as it is up.
   */
  reopen(): void {
    if (this.#closed) return;
    const s = this.#stream;
    if (!s) {
      if (this.#cancelTimer === null) this.#reopenWanted = true;
      return;
    }
    this.#stream = null;
    s.close();
    this.#setState('reconnecting');
    void this.#connect();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribeGate();
    this.#cancelTimer?.();
    this.#cancelTimer = null;
    this.#batcher.dispose();
    const s = this.#stream;
    this.#stream = null;
    s?.close();
    this.#state = 'closed';
  }

  async #connect(): Promise<void> {
    let stream: ShellStream;
    try {
      stream = await this.opts.open(this.#size);
    } catch (e) {
      if (this.#closed) return;
      const message = e instanceof Error ? e.message : String(e);
      if (e instanceof SshError) this.opts.onReachability?.(false);
      this.opts.log.info({ channel: this.channel, host: this.host, err: message }, 'shell unavailable');
      this.#setState('unreachable', message);
      this.#retryLater();
      return;
    }
    if (this.#closed) {
      stream.close();
      return;
    }
    this.#attach(stream);
    if (this.#reopenWanted) {
      this.#reopenWanted = false;
      this.reopen();
    }
  }

  #attach(stream: ShellStream): void {
    this.#stream = stream;
    this.#batcher.restart();
    // Output already in flight to the browser still counts: a new channel starts paused if the
    // browser is behind, so a reconnect cannot be used to bypass the high-water mark.
    this.#streamPaused = false;
    this.#applyPause();
    const onData = (chunk: Buffer): void => {
      if (this.#stream !== stream) return;
      this.#flow.sent(this.#batcher.push(chunk));
    };
    stream.on('data', onData);
    stream.stderr.on('data', onData);
    stream.on('error', (e) => this.opts.log.warn({ channel: this.channel, err: e.message }, 'shell channel error'));
    const cancelHealthy = this.#schedule(() => {
      this.#attempt = 0;
    }, HEALTHY_AFTER_MS);
    stream.on('close', () => {
      cancelHealthy();
      if (this.#stream !== stream || this.#closed) return;
      this.#stream = null;
      this.#batcher.flush();
      this.opts.log.info({ channel: this.channel, host: this.host }, 'shell closed; reopening');
      this.#setState('reconnecting');
      this.#retryLater();
    });
    this.opts.onReachability?.(true);
    this.#setState('connected');
    if (this.#pendingInput) {
      stream.write(this.#pendingInput);
      this.#pendingInput = '';
    }
  }

  /** Pauses the shell while either bound says so, resumes it once neither does. */
  #applyPause(): void {
    const want = this.#flow.paused || (this.opts.gate?.paused ?? false);
    const s = this.#stream;
    if (!s || want === this.#streamPaused) return;
    this.#streamPaused = want;
    if (want) s.pause();
    else s.resume();
  }

  #retryLater(): void {
    const delay = RETRY_DELAYS_MS[Math.min(this.#attempt, RETRY_DELAYS_MS.length - 1)] ?? 10_000;
    this.#attempt++;
    this.#cancelTimer = this.#schedule(() => {
      this.#cancelTimer = null;
      if (!this.#closed) void this.#connect();
    }, delay);
  }

  #setState(state: TermState, message?: string): void {
    if (this.#closed) return;
    // Output produced before the state change is shown before the state change.
    this.#batcher.flush();
    if (state === this.#state && state !== 'connecting' && message === undefined) return;
    this.#state = state;
    this.opts.send(
      message === undefined
        ? { type: 'term-state', channel: this.channel, state }
        : { type: 'term-state', channel: this.channel, state, message },
    );
  }
}
