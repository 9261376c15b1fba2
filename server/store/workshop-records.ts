// Workshops in the durable store: created by an instructor, joined by attendees through an
// unguessable token, extended, ended. Capacity is enforced inside one transaction.
import { randomBytes } from 'node:crypto';
import type { Db } from './database.ts';
import type { SessionRecord, SqliteSessionStore } from './sqlite-session-store.ts';

export type WorkshopEndReason = 'ended' | 'expired';

export interface WorkshopRecord {
  readonly id: string;
  /** The secret part of the join link. */
  readonly joinToken: string;
  readonly labId: string;
  readonly capacity: number;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly endedAt: number | undefined;
  readonly endReason: WorkshopEndReason | undefined;
  /** Hash of the lab version it runs (see labSource); undefined: it follows the lab file. */
  readonly labHash: string | undefined;
  /** The instructor wants the hosts of every free seat booted ahead (workshop-pools.ts). */
  readonly bootAhead: boolean;
}

interface Row {
  id: string;
  join_token: string;
  lab_id: string;
  capacity: number;
  created_at: number;
  expires_at: number;
  ended_at: number | null;
  end_reason: WorkshopEndReason | null;
  lab_hash: string | null;
  boot_ahead: number;
}

const toRecord = (r: Row): WorkshopRecord =>
  Object.freeze({
    id: r.id,
    joinToken: r.join_token,
    labId: r.lab_id,
    capacity: r.capacity,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    endedAt: r.ended_at ?? undefined,
    endReason: r.end_reason ?? undefined,
    labHash: r.lab_hash ?? undefined,
    bootAhead: r.boot_ahead === 1,
  });

/** 256 random bits: whoever holds the link may join, so it cannot be guessed. */
export const newJoinToken = (): string => randomBytes(32).toString('base64url');
export const isJoinTokenShape = (t: string): boolean => /^[A-Za-z0-9_-]{43}$/.test(t);
export const newWorkshopId = (): string => `w${randomBytes(6).toString('base64url')}`;
export const isWorkshopIdShape = (id: string): boolean => /^w[A-Za-z0-9_-]{8}$/.test(id);

export type JoinOutcome =
  | { ok: true; session: SessionRecord }
  | { ok: false; reason: 'full' | 'ended' | 'expired' };

export class WorkshopRecords {
  readonly #insert;
  readonly #byId;
  readonly #byToken;
  readonly #all;
  readonly #open;
  readonly #countAttendees;
  readonly #setExpiry;
  readonly #end;
  readonly #join;
  readonly #source;
  readonly #pin;
  readonly #setBootAhead;
  readonly #countHosted;

  constructor(
    db: Db,
    sessions: SqliteSessionStore,
  ) {
    this.#insert = db.prepare<[string, string, string, number, number, number, string | null, string | null, number]>(
      'INSERT INTO workshops (id, join_token, lab_id, capacity, created_at, expires_at, lab_source, lab_hash, boot_ahead) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    // Every column but the lab's text, which only labSource() reads.
    const cols = 'id, join_token, lab_id, capacity, created_at, expires_at, ended_at, end_reason, lab_hash, boot_ahead';
    this.#byId = db.prepare<[string], Row>(`SELECT ${cols} FROM workshops WHERE id = ?`);
    this.#byToken = db.prepare<[string], Row>(`SELECT ${cols} FROM workshops WHERE join_token = ?`);
    this.#all = db.prepare<[], Row>(`SELECT ${cols} FROM workshops ORDER BY created_at DESC`);
    this.#open = db.prepare<[], Row>(`SELECT ${cols} FROM workshops WHERE ended_at IS NULL ORDER BY expires_at`);
    this.#source = db.prepare<[string], { lab_source: string | null; lab_hash: string | null }>('SELECT lab_source, lab_hash FROM workshops WHERE id = ?');
    this.#pin = db.prepare<[string, string, string]>('UPDATE workshops SET lab_source = ?, lab_hash = ? WHERE id = ? AND ended_at IS NULL');
    this.#setBootAhead = db.prepare<[number, string]>('UPDATE workshops SET boot_ahead = ? WHERE id = ? AND ended_at IS NULL');
    this.#countHosted = db.prepare<[string], { n: number }>(
      "SELECT count(DISTINCT o.session_id) AS n FROM environment_owners o JOIN sessions s ON s.id = o.session_id WHERE s.workshop_id = ? AND s.role = 'attendee'",
    );
    this.#countAttendees = db.prepare<[string], { n: number }>("SELECT count(*) AS n FROM sessions WHERE workshop_id = ? AND role = 'attendee'");
    this.#setExpiry = db.prepare<[number, string]>('UPDATE workshops SET expires_at = ? WHERE id = ? AND ended_at IS NULL');
    this.#end = db.prepare<[number, WorkshopEndReason, string]>('UPDATE workshops SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL');
    // Count and insert in one transaction: two attendees racing for the last seat cannot both get it.
    this.#join = db.transaction((token: string, displayName: string, now: number): JoinOutcome | undefined => {
      const w = this.#byToken.get(token);
      if (!w) return undefined;
      if (w.ended_at !== null) return { ok: false, reason: w.end_reason === 'expired' ? 'expired' : 'ended' };
      if (w.expires_at <= now) return { ok: false, reason: 'expired' };
      if ((this.#countAttendees.get(w.id)?.n ?? 0) >= w.capacity) return { ok: false, reason: 'full' };
      return { ok: true, session: sessions.createSync('attendee', { workshopId: w.id, displayName }) };
    });
  }

  /** `lab`: the version of the lab file it runs (its text and hash), kept until the instructor moves it. */
  create(spec: { labId: string; capacity: number; expiresAt: number; lab?: { source: string; hash: string }; bootAhead?: boolean }): WorkshopRecord {
    const row: Row = {
      id: newWorkshopId(),
      join_token: newJoinToken(),
      lab_id: spec.labId,
      capacity: spec.capacity,
      created_at: Date.now(),
      expires_at: spec.expiresAt,
      ended_at: null,
      end_reason: null,
      lab_hash: spec.lab?.hash ?? null,
      boot_ahead: spec.bootAhead === true ? 1 : 0,
    };
    this.#insert.run(row.id, row.join_token, row.lab_id, row.capacity, row.created_at, row.expires_at, spec.lab?.source ?? null, row.lab_hash, row.boot_ahead);
    return toRecord(row);
  }

  get(id: string): WorkshopRecord | undefined {
    if (!isWorkshopIdShape(id)) return undefined;
    const r = this.#byId.get(id);
    return r ? toRecord(r) : undefined;
  }

  byToken(token: string): WorkshopRecord | undefined {
    if (!isJoinTokenShape(token)) return undefined;
    const r = this.#byToken.get(token);
    return r ? toRecord(r) : undefined;
  }

  list(): WorkshopRecord[] {
    return this.#all.all().map(toRecord);
  }

  /** Workshops not ended yet (some may be past their expiry, waiting to be freed). */
  open(): WorkshopRecord[] {
    return this.#open.all().map(toRecord);
  }

  attendeeCount(id: string): number {
    return this.#countAttendees.get(id)?.n ?? 0;
  }

  /** Creates an attendee session if the workshop is open and has a seat; undefined for an unknown token. */
  join(token: string, displayName: string, now = Date.now()): JoinOutcome | undefined {
    if (!isJoinTokenShape(token)) return undefined;
    return this.#join(token, displayName, now);
  }

  /** Attendees of the workshop whose hosts exist (recorded in environment_owners): the seats a boot-ahead no longer covers. */
  hostedCount(id: string): number {
    return this.#countHosted.get(id)?.n ?? 0;
  }

  /** Turns "boot hosts ahead for every seat" on or off for an open workshop; false when it has ended. */
  setBootAhead(id: string, on: boolean): boolean {
    return this.#setBootAhead.run(on ? 1 : 0, id).changes === 1;
  }

  /** Moves the expiry of an open workshop; false when it has ended. */
  setExpiry(id: string, expiresAt: number): boolean {
    return this.#setExpiry.run(expiresAt, id).changes === 1;
  }

  /** The lab version the workshop runs; undefined when it follows the lab file. */
  labSource(id: string): { source: string; hash: string } | undefined {
    const r = this.#source.get(id);
    return r?.lab_source != null && r.lab_hash != null ? { source: r.lab_source, hash: r.lab_hash } : undefined;
  }

  /** Moves a running workshop to another version of its lab; false when it has ended. */
  pinLab(id: string, lab: { source: string; hash: string }): boolean {
    return this.#pin.run(lab.source, lab.hash, id).changes === 1;
  }

  /** Marks the workshop ended; false when it already was. */
  end(id: string, reason: WorkshopEndReason, at = Date.now()): boolean {
    return this.#end.run(at, reason, id).changes === 1;
  }
}
