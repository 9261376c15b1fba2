// Sessions in the durable store: the SessionStore of solo mode, plus the roles workshop mode
// adds (attendee of a workshop with a display name, instructor). A cookie outlives a restart.
import { randomBytes } from 'node:crypto';
import type { Session, SessionStore } from '../sessions/session-store.ts';
import { isSessionIdShape, newSessionId } from '../sessions/session-store.ts';
import type { Db } from './database.ts';

export type SessionRole = 'solo' | 'attendee' | 'instructor';

export interface SessionRecord extends Session {
  readonly role: SessionRole;
  readonly workshopId: string | undefined;
  /** Public handle of an attendee (dashboard rows, mirrorOf); never the secret session id. */
  readonly attendeeId: string | undefined;
  readonly displayName: string | undefined;
  /** When the instructor last gave this attendee fresh hosts. */
  readonly resetAt: number | undefined;
}

interface Row {
  id: string;
  created_at: number;
  role: SessionRole;
  workshop_id: string | null;
  attendee_id: string | null;
  display_name: string | null;
  reset_at?: number | null;
}

const toRecord = (r: Row): SessionRecord =>
  Object.freeze({
    id: r.id,
    createdAt: r.created_at,
    role: r.role,
    workshopId: r.workshop_id ?? undefined,
    attendeeId: r.attendee_id ?? undefined,
    displayName: r.display_name ?? undefined,
    resetAt: r.reset_at ?? undefined,
  });

/** 72 random bits: not a secret (it grants nothing by itself), only unique and unenumerable. */
export const newAttendeeId = (): string => `a${randomBytes(9).toString('base64url')}`;

export class SqliteSessionStore implements SessionStore {
  readonly #insert;
  readonly #byId;
  readonly #byAttendee;
  readonly #byWorkshop;
  readonly #markReset;

  constructor(db: Db) {
    this.#insert = db.prepare<[string, number, SessionRole, string | null, string | null, string | null]>(
      'INSERT INTO sessions (id, created_at, role, workshop_id, attendee_id, display_name) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.#byId = db.prepare<[string], Row>('SELECT * FROM sessions WHERE id = ?');
    this.#byAttendee = db.prepare<[string], Row>('SELECT * FROM sessions WHERE attendee_id = ?');
    this.#markReset = db.prepare<[number, string]>('UPDATE sessions SET reset_at = ? WHERE id = ?');
    this.#byWorkshop = db.prepare<[string], Row>("SELECT * FROM sessions WHERE workshop_id = ? AND role = 'attendee' ORDER BY created_at, rowid");
  }

  create(): Promise<Session> {
    return Promise.resolve(this.createSync('solo'));
  }

  /** Creates a session of a role; synchronous so callers can make it part of a transaction. */
  createSync(role: SessionRole, attendee?: { workshopId: string; displayName: string }): SessionRecord {
    const rec: Row = {
      id: newSessionId(),
      created_at: Date.now(),
      role,
      workshop_id: attendee?.workshopId ?? null,
      attendee_id: attendee ? newAttendeeId() : null,
      display_name: attendee?.displayName ?? null,
    };
    this.#insert.run(rec.id, rec.created_at, rec.role, rec.workshop_id, rec.attendee_id, rec.display_name);
    return toRecord(rec);
  }

  get(id: string): Promise<Session | undefined> {
    return Promise.resolve(this.record(id));
  }

  /** The full record of a session id, or undefined for an unknown or malformed one. */
  record(id: string): SessionRecord | undefined {
    if (!isSessionIdShape(id)) return undefined;
    const row = this.#byId.get(id);
    return row ? toRecord(row) : undefined;
  }

  byAttendeeId(attendeeId: string): SessionRecord | undefined {
    if (!/^a[A-Za-z0-9_-]{12}$/.test(attendeeId)) return undefined;
    const row = this.#byAttendee.get(attendeeId);
    return row ? toRecord(row) : undefined;
  }

  markReset(id: string, at: number): void {
    this.#markReset.run(at, id);
  }

  attendeesOf(workshopId: string): SessionRecord[] {
    return this.#byWorkshop.all(workshopId).map(toRecord);
  }

  /** The database is owned by the DurableStore, which closes it. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
