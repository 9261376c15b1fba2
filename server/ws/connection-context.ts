// What a message handler gets for one browser connection: who it is, which lab, a typed send,
// and a cleanup registry that runs when the connection closes (so nothing a handler opens leaks).
import type { ClientMessageType, CloseCode, ErrorCode, ServerMessage } from '../../common/protocol.ts';
import type { Logger } from '../log.ts';
import type { Session } from '../sessions/session-store.ts';

export type Cleanup = () => void | Promise<void>;

export interface ConnectionContext {
  /** Unique per WebSocket connection (a session may have several tabs open). */
  readonly connectionId: string;
  readonly session: Session;
  /** The lab the page is showing, from the hello; already checked to exist in the catalogue. */
  readonly labId: string;
  /** Child logger bound to connection, session tag and lab. */
  readonly log: Logger;
  /** Sends one message; a no-op once the connection has closed. */
  send(msg: ServerMessage): void;
  /** Sends an `error` reply, optionally naming the message type it answers. */
  sendError(code: ErrorCode, message: string, ref?: ClientMessageType): void;
  /** Registers work to run when the connection closes, in reverse order of registration. */
  onClose(cleanup: Cleanup): void;
  /** Bytes queued for the browser but not yet written to the socket (for flow control). */
  readonly bufferedAmount: number;
  readonly closed: boolean;
  close(code: CloseCode, reason: string): void;
}
