// The page's one WebSocket: connects to {base}ws, says hello, validates every server frame with
// the shared protocol, dispatches typed handlers, and reconnects with backoff unless the close
// code says retrying is pointless (shouldRetry). Features (terminals, checks) subscribe with on().
import type { ClientMessage, ServerMessage, ServerMessageType } from '../../common/protocol.ts';
import { PROTOCOL_VERSION, encode, encodeClientMessage, parseServerFrame, parseServerMessage, shouldRetry } from '../../common/protocol.ts';
import { reconnectDelay } from './reconnect-delay.ts';

export type MessageOfType<T extends ServerMessageType> = Extract<ServerMessage, { type: T }>;
export type SocketState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface SocketStatus {
  state: SocketState;
  /** Why the socket is closed or reconnecting, for the user. */
  detail?: string;
}

export interface LabSocketOptions {
  labId: string;
  /** Defaults to {page base}ws with the page's scheme mapped to ws/wss. */
  url?: string;
  minDelayMs?: number;
  maxDelayMs?: number;
}

/** The URL of one of the server's WebSocket endpoints ({base}ws for pages, {base}dashboard-ws for the instructor's dashboard). */
export const socketUrl = (base: string = document.baseURI, endpoint: 'ws' | 'dashboard-ws' = 'ws'): string => {
  const u = new URL(endpoint, base);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.hash = '';
  u.search = '';
  return u.toString();
};

export class LabSocket {
  readonly labId: string;
  readonly #url: string;
  readonly #minDelay: number;
  readonly #maxDelay: number;
  readonly #handlers = new Map<ServerMessageType, Set<(m: ServerMessage) => void>>();
  readonly #statusListeners = new Set<(s: SocketStatus) => void>();
  #ws: WebSocket | undefined;
  #ready = false;
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #status: SocketStatus = { state: 'connecting' };

  constructor(opts: LabSocketOptions) {
    this.labId = opts.labId;
    this.#url = opts.url ?? socketUrl();
    this.#minDelay = opts.minDelayMs ?? 500;
    this.#maxDelay = opts.maxDelayMs ?? 10_000;
    this.#connect();
  }

  get status(): SocketStatus {
    return this.#status;
  }

  /** True between `welcome` and the next close: only then does send() deliver. */
  get ready(): boolean {
    return this.#ready;
  }

  /**
   * Subscribes to one server message type; returns an unsubscribe. `welcome` fires after every
   * (re)connect, so a feature re-establishes its server-side state (e.g. reopens terminals) there.
   */
  on<T extends ServerMessageType>(type: T, handler: (msg: MessageOfType<T>) => void): () => void {
    let set = this.#handlers.get(type);
    if (!set) this.#handlers.set(type, (set = new Set()));
    // The map is keyed by type, so only messages of type T reach this handler.
    const h = handler as (m: ServerMessage) => void;
    set.add(h);
    return () => set.delete(h);
  }

  onStatus(listener: (s: SocketStatus) => void): () => void {
    this.#statusListeners.add(listener);
    listener(this.#status);
    return () => this.#statusListeners.delete(listener);
  }

  /** Sends if the handshake is done; returns false (and drops the message) otherwise. */
  send(msg: ClientMessage): boolean {
    if (!this.#ready || this.#ws?.readyState !== WebSocket.OPEN) return false;
    this.#ws.send(encodeClientMessage(msg));
    return true;
  }

  close(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#ws?.close(1000, 'page closed');
    this.#setStatus({ state: 'closed' });
  }

  #setStatus(s: SocketStatus): void {
    this.#status = s;
    for (const l of this.#statusListeners) l(s);
  }

  #connect(): void {
    const ws = new WebSocket(this.#url);
    // Terminal output comes as binary frames (common/term-frame.ts).
    ws.binaryType = 'arraybuffer';
    this.#ws = ws;
    ws.addEventListener('open', () => {
      ws.send(encode({ type: 'hello', version: PROTOCOL_VERSION, labId: this.labId }));
    });
    ws.addEventListener('message', (ev: MessageEvent) => {
      const parsed = typeof ev.data === 'string' ? parseServerMessage(ev.data) : ev.data instanceof ArrayBuffer ? parseServerFrame(new Uint8Array(ev.data)) : undefined;
      if (!parsed) return;
      if (!parsed.ok) {
        // A newer server may know message types this page does not; ignoring them is safe.
        return;
      }
      const msg = parsed.value;
      if (msg.type === 'welcome') {
        this.#ready = true;
        this.#attempt = 0;
        this.#setStatus({ state: 'open' });
      }
      for (const h of this.#handlers.get(msg.type) ?? []) h(msg);
    });
    ws.addEventListener('close', (ev: CloseEvent) => {
      this.#ready = false;
      if (this.#ws !== ws || this.#stopped) return;
      if (!shouldRetry(ev.code)) {
        this.#setStatus({ state: 'closed', detail: ev.reason || `connection refused (${ev.code})` });
        return;
      }
      const delay = reconnectDelay(this.#attempt, this.#minDelay, this.#maxDelay);
      this.#attempt++;
      this.#setStatus({ state: 'reconnecting', detail: ev.reason || 'connection lost' });
      this.#timer = setTimeout(() => this.#connect(), delay);
    });
  }
}
