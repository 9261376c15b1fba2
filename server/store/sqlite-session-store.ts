// Sessions in the durable store: the SessionStore of solo mode, plus the roles workshop mode
// adds (attendee of a workshop with a display name, instructor). A cookie outlives a restart.
//
// A page load without a cookie writes nothing: the new session is provisional, kept only in a
// bounded in-memory LRU (ProvisionalSessions), and gets its row when it first needs to outlive
// the process — when a page of it says hello on the WebSocket (the point where hosts, progress
// and check reports start hanging off the id; see persist()). Join and login make durable
// sessions directly. Sessions expire: solo and instructor ones when idle and at an absolute age;
// an attendee's lives as long as its workshop (its end bounds them) and its record is deleted
// `maxAgeMs` after that end. Instructor sessions also end when the credential changes.
import { randomBytes } from 'node:crypto';
import type { SessionLimits } from '../config.ts';
import { DEFAULT_SESSION_LIMITS } from '../config.ts';
import { ProvisionalSessions } from '../sessions/provisional-sessions.ts';
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
  last_seen_at?: number | null;
  credential_fp?: string | null;
}

export type SessionStoreLimits = Pick<SessionLimits, 'idleMs' | 'maxAgeMs' | 'instructorIdleMs' | 'instructorMaxAgeMs' | 'provisionalMax'>;

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

const provisionalRecord = (s: Session): SessionRecord =>
  Object.freeze({ id: s.id, createdAt: s.createdAt, role: 'solo', workshopId: undefined, attendeeId: undefined, displayName: undefined, resetAt: undefined });

/** 72 random bits: not a secret (it grants nothing by itself), only unique and unenumerable. */
export const newAttendeeId = (): string => `a${randomBytes(9).toString('base64url')}`;

/** last_seen_at is rewritten at most this often per session: reads stay reads. */
const TOUCH_EVERY_MS = 60_000;

export class SqliteSessionStore implements SessionStore {
  readonly #db: Db;
  readonly #insert;
  readonly #byId;
  readonly #byAttendee;
  readonly #byWorkshop;
  readonly #markReset;
  readonly #touch;
  readonly #expired;
  readonly #deleteMany;
  readonly #limits: SessionStoreLimits;
  readonly #now: () => number;
  readonly #provisional: ProvisionalSessions;
  readonly #endListeners = new Set<(id: string) => void>();
  /** Fingerprint of the instructor credential this server runs with (bindCredential). */
  #credentialFp: string | null = null;

  constructor(db: Db, opts: { limits?: SessionStoreLimits; now?: () => number } = {}) {
    this.#db = db;
    this.#limits = opts.limits ?? DEFAULT_SESSION_LIMITS;
    this.#now = opts.now ?? Date.now;
    this.#provisional = new ProvisionalSessions(this.#limits.provisionalMax, this.#limits.idleMs, this.#now);
    this.#insert = db.prepare<[string, number, SessionRole, string | null, string | null, string | null, number, string | null]>(
      'INSERT INTO sessions (id, created_at, role, workshop_id, attendee_id, display_name, last_seen_at, credential_fp) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.#byId = db.prepare<[string], Row>('SELECT * FROM sessions WHERE id = ?');
    this.#byAttendee = db.prepare<[string], Row>('SELECT * FROM sessions WHERE attendee_id = ?');
    this.#markReset = db.prepare<[number, string]>('UPDATE sessions SET reset_at = ? WHERE id = ?');
    this.#touch = db.prepare<[number, string]>('UPDATE sessions SET last_seen_at = ? WHERE id = ?');
    this.#byWorkshop = db.prepare<[string], Row>("SELECT * FROM sessions WHERE workshop_id = ? AND role = 'attendee' ORDER BY created_at, rowid");
    // An attendee's record goes once its workshop has been over for maxAgeMs (or is gone): until
    // then the instructor's dashboard of that workshop still lists them and their progress.
    this.#expired = db.prepare<{ soloIdle: number; soloMax: number; instIdle: number; instMax: number; endedBefore: number; fp: string | null }, { id: string }>(`
      SELECT s.id FROM sessions s LEFT JOIN workshops w ON w.id = s.workshop_id
      WHERE (s.role = 'solo' AND (coalesce(s.last_seen_at, s.created_at) <= @soloIdle OR s.created_at <= @soloMax))
         OR (s.role = 'instructor' AND (coalesce(s.last_seen_at, s.created_at) <= @instIdle OR s.created_at <= @instMax OR s.credential_fp IS NOT @fp))
         OR (s.role = 'attendee' AND (w.id IS NULL OR (w.ended_at IS NOT NULL AND w.ended_at <= @endedBefore)))`);
    const del = [
      db.prepare<[string]>('DELETE FROM steps_done_by_id WHERE session_id = ?'),
      db.prepare<[string]>('DELETE FROM step_attempts_by_id WHERE session_id = ?'),
      db.prepare<[string]>('DELETE FROM last_reports WHERE session_id = ?'),
      db.prepare<[string]>('DELETE FROM sessions WHERE id = ?'),
    ];
    // Environment ownership rows are the workspaces' to forget when they free the hosts (the
    // caller of sweep() releases each ended session's environments).
    this.#deleteMany = db.transaction((ids: readonly string[]) => {
      for (const id of ids) for (const d of del) d.run(id);
    });
  }

  /** A new visitor's session: provisional (memory only) until persist(). */
  create(): Promise<Session> {
    const session: Session = Object.freeze({ id: newSessionId(), createdAt: this.#now() });
    this.#provisional.add(session);
    return Promise.resolve(session);
  }

  /** Creates a durable session of a role; synchronous so callers can make it part of a transaction. */
  createSync(role: SessionRole, attendee?: { workshopId: string; displayName: string }): SessionRecord {
    const rec: Row = {
      id: newSessionId(),
      created_at: this.#now(),
      role,
      workshop_id: attendee?.workshopId ?? null,
      attendee_id: attendee ? newAttendeeId() : null,
      display_name: attendee?.displayName ?? null,
    };
    const fp = role === 'instructor' ? this.#credentialFp : null;
    this.#insert.run(rec.id, rec.created_at, rec.role, rec.workshop_id, rec.attendee_id, rec.display_name, rec.created_at, fp);
    return toRecord(rec);
  }

  /** A request carrying the cookie: the session, counted as used now. */
  get(id: string): Promise<Session | undefined> {
    return Promise.resolve(this.seen(id));
  }

  /** Synchronous get(): the valid session of a cookie value, marked as used now. */
  seen(id: string): SessionRecord | undefined {
    if (!isSessionIdShape(id)) return undefined;
    const row = this.#byId.get(id);
    if (row) {
      if (!this.#valid(row)) return undefined;
      const now = this.#now();
      if (now - (row.last_seen_at ?? row.created_at) >= TOUCH_EVERY_MS) this.#touch.run(now, id);
      return toRecord(row);
    }
    const p = this.#provisional.get(id);
    return p ? provisionalRecord(p) : undefined;
  }

  touch(id: string): void {
    this.seen(id);
  }

  /** The session needs to outlive this process: a provisional one gets its row now. */
  persist(id: string): void {
    if (!isSessionIdShape(id) || this.#byId.get(id)) return;
    const p = this.#provisional.peek(id);
    if (!p) return;
    this.#insert.run(p.id, p.createdAt, 'solo', null, null, null, this.#now(), null);
    this.#provisional.delete(id);
  }

  /** The full record of a valid session id (not marked as used), or undefined for an unknown, ended or malformed one. */
  record(id: string): SessionRecord | undefined {
    if (!isSessionIdShape(id)) return undefined;
    const row = this.#byId.get(id);
    if (row) return this.#valid(row) ? toRecord(row) : undefined;
    const p = this.#provisional.peek(id);
    return p ? provisionalRecord(p) : undefined;
  }

  /** Whether a session has its row (tests, figures). */
  isDurable(id: string): boolean {
    return isSessionIdShape(id) && this.#byId.get(id) !== undefined;
  }

  /** Provisional sessions held in memory now (tests, figures). */
  get provisionalCount(): number {
    return this.#provisional.size;
  }

  byAttendeeId(attendeeId: string): SessionRecord | undefined {
    if (!/^a[A-Za-z0-9_-]{12}$/.test(attendeeId)) return undefined;
    const row = this.#byAttendee.get(attendeeId);
    return row ? toRecord(row) : undefined;
  }

  /** The attendee with this public handle, only if they are an attendee of this workshop. */
  attendeeOf(workshopId: string, attendeeId: string): SessionRecord | undefined {
    const a = this.byAttendeeId(attendeeId);
    return a?.role === 'attendee' && a.workshopId === workshopId ? a : undefined;
  }

  markReset(id: string, at: number): void {
    this.#markReset.run(at, id);
  }

  attendeesOf(workshopId: string): SessionRecord[] {
    return this.#byWorkshop.all(workshopId).map(toRecord);
  }

  /**
   * The random key of the credential fingerprint, made once per data folder. Kept in the
   * database so a fingerprint is useless to anyone without this file (no offline dictionary).
   */
  credentialKey(): Buffer {
    const get = this.#db.prepare<[], { value: string }>("SELECT value FROM install_secrets WHERE name = 'credential_key'");
    const found = get.get();
    if (found) return Buffer.from(found.value, 'base64');
    this.#db.prepare<[string]>("INSERT OR IGNORE INTO install_secrets (name, value) VALUES ('credential_key', ?)").run(randomBytes(32).toString('base64'));
    return Buffer.from(get.get()!.value, 'base64');
  }

  /**
   * The instructor credential this server runs with, as its fingerprint: instructor sessions made
   * with another credential are ended (deleted) now and never valid again.
   */
  bindCredential(fingerprint: string): string[] {
    this.#credentialFp = fingerprint;
    const stale = this.#db
      .prepare<[string], { id: string }>("SELECT id FROM sessions WHERE role = 'instructor' AND credential_fp IS NOT ?")
      .all(fingerprint)
      .map((r) => r.id);
    this.#end(stale);
    return stale;
  }

  /** Ends one session now (logout): its row and what hangs off it are deleted. */
  end(id: string): boolean {
    if (!isSessionIdShape(id)) return false;
    if (this.#provisional.delete(id)) {
      this.#notify([id]);
      return true;
    }
    if (!this.#byId.get(id)) return false;
    this.#end([id]);
    return true;
  }

  /**
   * Deletes every expired session (see the file comment) with its progress and reports; returns
   * their ids so the caller frees their hosts. Listeners (open pages) are told each one.
   */
  sweep(): string[] {
    const now = this.#now();
    const l = this.#limits;
    const ids = this.#expired
      .all({
        soloIdle: now - l.idleMs,
        soloMax: now - l.maxAgeMs,
        instIdle: now - l.instructorIdleMs,
        instMax: now - l.instructorMaxAgeMs,
        endedBefore: now - l.maxAgeMs,
        fp: this.#credentialFp,
      })
      .map((r) => r.id);
    this.#end(ids);
    return ids;
  }

  onEnd(listener: (id: string) => void): () => void {
    this.#endListeners.add(listener);
    return () => this.#endListeners.delete(listener);
  }

  /** The database is owned by the DurableStore, which closes it. */
  close(): Promise<void> {
    this.#provisional.clear();
    return Promise.resolve();
  }

  #valid(row: Row): boolean {
    const now = this.#now();
    const l = this.#limits;
    const idle = now - (row.last_seen_at ?? row.created_at);
    const age = now - row.created_at;
    switch (row.role) {
      case 'solo':
        return idle <= l.idleMs && age <= l.maxAgeMs;
      case 'instructor':
        return idle <= l.instructorIdleMs && age <= l.instructorMaxAgeMs && (row.credential_fp ?? null) === this.#credentialFp;
      case 'attendee':
        // Bound by the workshop: its end (checked where the attendee connects) and the sweep.
        return true;
    }
  }

  #end(ids: readonly string[]): void {
    if (ids.length === 0) return;
    this.#deleteMany(ids);
    this.#notify(ids);
  }

  #notify(ids: readonly string[]): void {
    for (const id of ids) for (const l of this.#endListeners) l(id);
  }
}
