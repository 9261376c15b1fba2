// A Node WebSocket client that speaks the terminal protocol like the browser page does, for the
// real-host tests and the benches: session cookie, hello, term-open, output per channel, acks.
import { StringDecoder } from 'node:string_decoder';
import { WebSocket } from 'ws';
import type { ClientMessage, ServerMessage } from '../../common/protocol.ts';
import { PROTOCOL_VERSION, encodeClientMessage, parseServerFrame, parseServerMessage } from '../../common/protocol.ts';
import { ACK_EVERY } from '../../common/term-frame.ts';

/** A server message as the tests read it: term-output decoded to text (what xterm would show), with its size in bytes. */
export type ReceivedMessage = Exclude<ServerMessage, { type: 'term-output' }> | { type: 'term-output'; channel: number; data: string; bytes: number };

/** Loads the page (which sets the session cookie) and returns `name=value` of the cookie. */
export async function fetchSessionCookie(pageUrl: string): Promise<string> {
  const res = await fetch(pageUrl);
  await res.arrayBuffer();
  const set = res.headers.get('set-cookie');
  if (!set) throw new Error(`${pageUrl} set no session cookie`);
  return set.split(';')[0] ?? '';
}

export interface TermClientOptions {
  /** Page URL ending with the base path, e.g. http://127.0.0.1:8080/. */
  url: string;
  cookie: string;
  labId: string;
  /** Acknowledge output as it arrives, every ACK_EVERY bytes (like a fast browser). Default true. */
  autoAck?: boolean;
}

export class TermClient {
  readonly ws: WebSocket;
  readonly messages: ReceivedMessage[] = [];
  readonly output = new Map<number, string>();
  /** Bytes received and not yet acknowledged, per channel. */
  readonly unacked = new Map<number, number>();
  autoAck: boolean;
  /** Keep each channel's output text (tests); off for the throughput bench, which only counts. */
  keepOutput = true;
  /** Bytes received per channel. */
  readonly received = new Map<number, number>();
  readonly #decoders = new Map<number, StringDecoder>();
  #listeners = new Set<(m: ReceivedMessage) => void>();
  readonly welcome: Promise<void>;

  constructor(opts: TermClientOptions) {
    this.autoAck = opts.autoAck ?? true;
    const u = new URL('ws', opts.url);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    this.ws = new WebSocket(u, { headers: { cookie: opts.cookie, origin: new URL(opts.url).origin } });
    this.ws.on('open', () => this.send({ type: 'hello', version: PROTOCOL_VERSION, labId: opts.labId }));
    this.ws.on('message', (data: Buffer, isBinary: boolean) => this.#receive(data, isBinary));
    this.welcome = this.waitFor((m) => m.type === 'welcome').then(() => undefined);
  }

  #receive(raw: Buffer, isBinary: boolean): void {
    const parsed = isBinary ? parseServerFrame(raw) : parseServerMessage(raw.toString('utf8'));
    if (!parsed.ok) throw new Error(parsed.error);
    const p = parsed.value;
    let m: ReceivedMessage;
    if (p.type === 'term-output') {
      const bytes = p.data.byteLength;
      let decoder = this.#decoders.get(p.channel);
      if (!decoder) this.#decoders.set(p.channel, (decoder = new StringDecoder('utf8')));
      m = { type: 'term-output', channel: p.channel, data: decoder.write(Buffer.from(p.data.buffer, p.data.byteOffset, bytes)), bytes };
      this.received.set(m.channel, (this.received.get(m.channel) ?? 0) + bytes);
      if (this.keepOutput) this.output.set(m.channel, (this.output.get(m.channel) ?? '') + m.data);
      const unacked = (this.unacked.get(m.channel) ?? 0) + bytes;
      this.unacked.set(m.channel, unacked);
      if (this.autoAck && unacked >= ACK_EVERY) this.ackAll(m.channel);
    } else {
      m = p;
      this.messages.push(m);
    }
    for (const l of this.#listeners) l(m);
  }

  send(msg: ClientMessage | string): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(typeof msg === 'string' ? msg : encodeClientMessage(msg));
  }

  /** Sends everything received on a channel so far as acknowledged. */
  ackAll(channel: number): void {
    const n = this.unacked.get(channel) ?? 0;
    if (n > 0) this.send({ type: 'term-ack', channel, bytes: n });
    this.unacked.set(channel, 0);
  }

  /** Resolves with the first message (already received or future) that matches. */
  waitFor(match: (m: ReceivedMessage) => boolean, timeoutMs = 30_000): Promise<ReceivedMessage> {
    const seen = this.messages.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#listeners.delete(l);
        reject(new Error(`timed out waiting for a message; last ones: ${JSON.stringify(this.messages.slice(-5))}`));
      }, timeoutMs);
      const l = (m: ReceivedMessage): void => {
        if (!match(m)) return;
        clearTimeout(timer);
        this.#listeners.delete(l);
        resolve(m);
      };
      this.#listeners.add(l);
    });
  }

  /** Resolves once the channel's output (from `from` on) matches. */
  waitForOutput(channel: number, re: RegExp, timeoutMs = 30_000, from = 0): Promise<string> {
    const test = (): string | undefined => {
      const out = (this.output.get(channel) ?? '').slice(from);
      return re.test(out) ? out : undefined;
    };
    const now = test();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#listeners.delete(l);
        reject(new Error(`timed out waiting for ${re} on channel ${channel}; output ends with ${JSON.stringify((this.output.get(channel) ?? '').slice(-300))}`));
      }, timeoutMs);
      const l = (m: ReceivedMessage): void => {
        if (m.type !== 'term-output' || m.channel !== channel) return;
        const out = test();
        if (out === undefined) return;
        clearTimeout(timer);
        this.#listeners.delete(l);
        resolve(out);
      };
      this.#listeners.add(l);
    });
  }

  /** Opens a terminal and waits until its shell is connected. */
  async open(channel: number, host: string, size = { cols: 120, rows: 40 }, mirrorOf?: string): Promise<void> {
    await this.welcome;
    this.send({ type: 'term-open', channel, host, ...size, ...(mirrorOf !== undefined ? { mirrorOf } : {}) });
    await this.waitFor((m) => m.type === 'term-state' && m.channel === channel && m.state === 'connected', 120_000);
  }

  /** Subscribes to every message; returns an unsubscribe. */
  onMessage(l: (m: ReceivedMessage) => void): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}
