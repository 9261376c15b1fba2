// The terminal channels of one browser connection: term-* messages are validated against the
// channels this connection opened (and their read-only flag) and dispatched to their bridges.
import type { ClientMessage, ErrorCode, ServerMessage } from '../../common/protocol.ts';
import type { Logger } from '../log.ts';
import { SocketGate } from './flow-control.ts';
import type { MirrorGrant } from './mirror-policy.ts';
import type { PaneAccess } from './pane-interrupt.ts';
import { interruptPane } from './pane-interrupt.ts';
import type { ShellOpener } from './terminal-bridge.ts';
import { TerminalBridge } from './terminal-bridge.ts';

export type TermMessage = Extract<ClientMessage, { type: `term-${string}` }>;

/**
 * A page has one tab per lab host (at most 16) plus a few mirrors; anything beyond this is a
 * misbehaving client trying to make the server hold SSH channels.
 */
export const MAX_CHANNELS_PER_CONNECTION = 32;

export interface MuxOptions {
  /** Host names of the connection's lab; a term-open for any other name is refused. */
  hosts: readonly string[];
  /** Decides a mirror request (see mirror-policy.ts); undefined grant = not a mirror. */
  authorizeMirror: (mirrorOf: string) => { ok: true; value: MirrorGrant } | { ok: false; error: { code: 'forbidden'; message: string } };
  /** Opens host's shell: the connection's own environment, or the mirrored one read-only. */
  openerFor: (host: string, mirror: MirrorGrant | null, channel: number) => ShellOpener;
  send: (msg: ServerMessage) => void;
  sendError: (code: ErrorCode, message: string, ref?: TermMessage['type']) => void;
  log: Logger;
  onReachability?: (host: string, reachable: boolean) => void;
  /**
   * Looks into and presses keys in the terminal session of one of the connection's own hosts (term-probe,
   * term-interrupt); absent or undefined, those are answered `unknown`.
   */
  panes?: (host: string) => PaneAccess | undefined;
  highWater?: number;
  lowWater?: number;
  /**
   * Bytes queued on the connection's socket (ws bufferedAmount). With it, every terminal of the
   * connection pauses while the queue is above socketHighWater, whatever the client acknowledged.
   */
  bufferedAmount?: () => number;
  socketHighWater?: number;
  socketLowWater?: number;
  /**
   * Whether this connection may type into a mirror of that grant now (the attendee handed over
   * the keyboard, see server/help/). Absent: mirrors are read-only, always.
   */
  mayTypeMirror?: (grant: MirrorGrant) => boolean;
}

export class TerminalMux {
  readonly #bridges = new Map<number, TerminalBridge>();
  /** Channels with a term-probe or term-interrupt being answered. */
  readonly #asking = new Set<number>();
  /** The grant of each mirror channel. */
  readonly #grants = new Map<number, MirrorGrant>();
  readonly #gate: SocketGate | undefined;
  readonly #send: (msg: ServerMessage) => void;

  constructor(private readonly opts: MuxOptions) {
    const buffered = opts.bufferedAmount;
    const gate = buffered
      ? new SocketGate({
          buffered,
          ...(opts.socketHighWater !== undefined ? { highWater: opts.socketHighWater } : {}),
          ...(opts.socketLowWater !== undefined ? { lowWater: opts.socketLowWater } : {}),
        })
      : undefined;
    this.#gate = gate;
    this.#send = gate
      ? (msg) => {
          opts.send(msg);
          if (msg.type === 'term-output') gate.check();
        }
      : opts.send;
  }

  /** The connection's socket bound, when it has one (tests and the bench read its figures). */
  get gate(): SocketGate | undefined {
    return this.#gate;
  }

  get channels(): ReadonlyMap<number, TerminalBridge> {
    return this.#bridges;
  }

  handle(msg: TermMessage): void {
    switch (msg.type) {
      case 'term-open':
        this.#open(msg);
        return;
      case 'term-input': {
        const b = this.#writable(msg.channel, msg.type, this.#typingAllowed(msg.channel));
        b?.input(msg.data);
        return;
      }
      case 'term-resize': {
        const b = this.#writable(msg.channel, msg.type);
        b?.resize({ cols: msg.cols, rows: msg.rows });
        return;
      }
      case 'term-ack':
        // An ack can race a term-close the browser just sent: not worth an error reply.
        this.#bridges.get(msg.channel)?.ack(msg.bytes);
        return;
      case 'term-probe':
      case 'term-interrupt': {
        // Never through a mirror: an instructor watching must not stop what the attendee runs.
        const b = this.#writable(msg.channel, msg.type);
        if (b) this.#askPane(b, msg.type);
        return;
      }
      case 'term-close': {
        const b = this.#bridges.get(msg.channel);
        if (!b) {
          this.opts.sendError('unknown-channel', `no terminal channel ${msg.channel} is open`, msg.type);
          return;
        }
        b.close();
        this.#bridges.delete(msg.channel);
        this.#grants.delete(msg.channel);
        this.opts.send({ type: 'term-state', channel: msg.channel, state: 'closed' });
        return;
      }
    }
  }

  /** Reopens the shells of this connection's mirrors of one session (their keyboard changed hands). */
  reopenMirrorsOf(sessionId: string): void {
    for (const [channel, grant] of this.#grants) if (grant.sessionId === sessionId) this.#bridges.get(channel)?.reopen();
  }

  closeAll(): void {
    for (const b of this.#bridges.values()) b.close();
    this.#bridges.clear();
    this.#grants.clear();
    this.#gate?.dispose();
  }

  #open(msg: Extract<TermMessage, { type: 'term-open' }>): void {
    const { channel, host } = msg;
    if (this.#bridges.has(channel)) {
      this.opts.sendError('invalid-message', `terminal channel ${channel} is already open`, msg.type);
      return;
    }
    if (this.#bridges.size >= MAX_CHANNELS_PER_CONNECTION) {
      this.opts.sendError('invalid-message', `at most ${MAX_CHANNELS_PER_CONNECTION} terminals per page`, msg.type);
      return;
    }
    if (!this.opts.hosts.includes(host)) {
      this.opts.sendError('unknown-host', `this lab has no host "${host.slice(0, 63)}" (hosts: ${this.opts.hosts.join(', ')})`, msg.type);
      return;
    }
    let mirror: MirrorGrant | null = null;
    if (msg.mirrorOf !== undefined) {
      const decision = this.opts.authorizeMirror(msg.mirrorOf);
      if (!decision.ok) {
        this.opts.log.warn({ channel, host }, 'mirror refused');
        this.opts.sendError(decision.error.code, decision.error.message, msg.type);
        return;
      }
      mirror = decision.value;
    }
    const readOnly = mirror !== null;
    const grant = mirror;
    const mayType = this.opts.mayTypeMirror;
    const bridge = new TerminalBridge({
      channel,
      host,
      readOnly,
      ...(grant && mayType ? { mayType: () => mayType(grant) } : {}),
      size: { cols: msg.cols, rows: msg.rows },
      open: this.opts.openerFor(host, mirror, channel),
      send: this.#send,
      ...(this.#gate ? { gate: this.#gate } : {}),
      log: this.opts.log,
      ...(this.opts.onReachability ? { onReachability: (r: boolean) => this.opts.onReachability?.(host, r) } : {}),
      ...(this.opts.highWater !== undefined ? { highWater: this.opts.highWater } : {}),
      ...(this.opts.lowWater !== undefined ? { lowWater: this.opts.lowWater } : {}),
    });
    this.#bridges.set(channel, bridge);
    if (grant) this.#grants.set(channel, grant);
    this.opts.send({ type: 'term-opened', channel, host, readOnly });
    bridge.start();
  }

  /** A mirror channel whose attendee has handed this connection the keyboard. */
  #typingAllowed(channel: number): boolean {
    const grant = this.#grants.get(channel);
    return grant !== undefined && this.opts.mayTypeMirror?.(grant) === true;
  }

  /** The bridge of a channel that may be typed into, or undefined after an error reply. */
  /** Answers term-probe / term-interrupt with term-pane; one question per channel at a time (each is an SSH exec or several). */
  #askPane(b: TerminalBridge, ref: 'term-probe' | 'term-interrupt'): void {
    const reply = (state: 'idle' | 'busy' | 'unknown', commands: string[], message?: string): void =>
      this.opts.send({ type: 'term-pane', channel: b.channel, ref, state, commands, ...(message !== undefined ? { message } : {}) });
    const pane = this.opts.panes?.(b.host);
    if (!pane) {
      reply('unknown', [], 'the server cannot look into this terminal now');
      return;
    }
    if (this.#asking.has(b.channel)) {
      reply('unknown', [], 'the server is already looking at this terminal');
      return;
    }
    this.#asking.add(b.channel);
    const work = ref === 'term-probe' ? pane.look() : interruptPane(pane);
    work
      .then(
        (s) => reply(s.idle ? 'idle' : 'busy', s.commands.slice(0, 32).map((c) => c.slice(0, 64))),
        (e: unknown) => {
          this.opts.log.info({ channel: b.channel, host: b.host, err: e instanceof Error ? e.message : String(e) }, 'terminal pane not readable');
          reply('unknown', [], `could not look into ${b.host}'s terminal`);
        },
      )
      .finally(() => this.#asking.delete(b.channel));
  }

  #writable(channel: number, ref: 'term-input' | 'term-resize' | 'term-probe' | 'term-interrupt', keyboardGiven = false): TerminalBridge | undefined {
    const b = this.#bridges.get(channel);
    if (!b) {
      this.opts.sendError('unknown-channel', `no terminal channel ${channel} is open`, ref);
      return undefined;
    }
    if (b.readOnly && !keyboardGiven) {
      this.opts.log.warn({ channel, type: ref }, 'input on a read-only mirror refused');
      this.opts.sendError('read-only', `terminal channel ${channel} is a read-only mirror${this.opts.mayTypeMirror && ref === 'term-input' ? ': the attendee has not handed you the keyboard' : ''}`, ref);
      return undefined;
    }
    return b;
  }
}
