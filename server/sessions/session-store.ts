// Attendee sessions: the SessionStore interface and the in-memory store used in solo mode.
// A later issue adds a durable store and workshop mode behind the same interface.
import { randomBytes } from 'node:crypto';

export interface Session {
  /** Unguessable id, also the cookie value; never logged in full. */
  readonly id: string;
  readonly createdAt: number;
}

export interface SessionStore {
  create(): Promise<Session>;
  /** The session for a cookie value, or undefined when unknown (expired, forged, from another server). */
  get(id: string): Promise<Session | undefined>;
  close(): Promise<void>;
}

/** Session ids are 256 random bits, base64url: nothing about them can be guessed or enumerated. */
export const newSessionId = (): string => randomBytes(32).toString('base64url');

/** Shape check before any lookup, so a junk cookie never reaches a store. */
export const isSessionIdShape = (id: string): boolean => /^[A-Za-z0-9_-]{43}$/.test(id);

/** A short, non-secret form of a session id for logs. */
export const sessionTag = (id: string): string => id.slice(0, 8);

export class MemorySessionStore implements SessionStore {
  readonly #sessions = new Map<string, Session>();

  create(): Promise<Session> {
    const session: Session = Object.freeze({ id: newSessionId(), createdAt: Date.now() });
    this.#sessions.set(session.id, session);
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
