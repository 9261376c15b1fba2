// Browser sessions: the SessionStore interface and the memory-only store of servers without a
// durable one (tests). The durable store (store/sqlite-session-store.ts) adds roles and expiry.
import { randomBytes } from 'node:crypto';
import { ProvisionalSessions } from './provisional-sessions.ts';

export interface Session {
  /** Unguessable id, also the cookie value; never logged in full. */
  readonly id: string;
  readonly createdAt: number;
}

export interface SessionStore {
  create(): Promise<Session>;
  /**
   * The session for a cookie value, or undefined when unknown (expired, forged, from another
   * server). Called for requests that carry the cookie, so it counts as the session being used.
   */
  get(id: string): Promise<Session | undefined>;
  /**
   * The session starts needing to outlive this process (its page opened a lab: hosts, progress).
   * A store that hands out sessions provisionally writes it durably now; otherwise a no-op.
   */
  persist?(id: string): void;
  /** The session is still in use (a page of it is open). Stores throttle what this writes. */
  touch?(id: string): void;
  /** Calls `listener` with each session that ends (logout, expiry, credential change); returns an unsubscribe. */
  onEnd?(listener: (id: string) => void): () => void;
  close(): Promise<void>;
}

/** Session ids are 256 random bits, base64url: nothing about them can be guessed or enumerated. */
export const newSessionId = (): string => randomBytes(32).toString('base64url');

/** Shape check before any lookup, so a junk cookie never reaches a store. */
export const isSessionIdShape = (id: string): boolean => /^[A-Za-z0-9_-]{43}$/.test(id);

/** A short, non-secret form of a session id for logs. */
export const sessionTag = (id: string): string => id.slice(0, 8);

/** Memory-only: bounded like the durable store's provisional sessions, so a flood cannot grow it. */
export class MemorySessionStore implements SessionStore {
  readonly #sessions = new ProvisionalSessions(10_000, 7 * 24 * 3_600_000);

  create(): Promise<Session> {
    const session: Session = Object.freeze({ id: newSessionId(), createdAt: Date.now() });
    this.#sessions.add(session);
    return Promise.resolve(session);
  }

  get(id: string): Promise<Session | undefined> {
    return Promise.resolve(isSessionIdShape(id) ? this.#sessions.get(id) : undefined);
  }

  close(): Promise<void> {
    this.#sessions.clear();
    return Promise.resolve();
  }
}
