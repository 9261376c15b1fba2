// Which provider environment each (session, lab) uses, kept durably so that a restarted server
// adopts the same hosts (the session keeper there still holds the shells) instead of creating new ones.
import type { Db } from './database.ts';

export interface EnvironmentOwnership {
  /** The environment id recorded for (session, lab), if any. */
  find(sessionId: string, labId: string): string | undefined;
  record(sessionId: string, labId: string, envId: string): void;
  forget(sessionId: string, labId: string): void;
  /** Every environment a session owns, including ones no process has adopted yet. */
  ofSession(sessionId: string): { labId: string; envId: string }[];
  /** Every record, e.g. to settle what an earlier process left at start. */
  all(): { sessionId: string; labId: string; envId: string }[];
}

export class SqliteEnvironmentOwners implements EnvironmentOwnership {
  readonly #find;
  readonly #record;
  readonly #forget;
  readonly #ofSession;
  readonly #all;

  constructor(db: Db) {
    this.#find = db.prepare<[string, string], { env_id: string }>('SELECT env_id FROM environment_owners WHERE session_id = ? AND lab_id = ?');
    this.#record = db.prepare<[string, string, string]>(
      'INSERT INTO environment_owners (session_id, lab_id, env_id) VALUES (?, ?, ?) ON CONFLICT (session_id, lab_id) DO UPDATE SET env_id = excluded.env_id',
    );
    this.#forget = db.prepare<[string, string]>('DELETE FROM environment_owners WHERE session_id = ? AND lab_id = ?');
    this.#ofSession = db.prepare<[string], { lab_id: string; env_id: string }>('SELECT lab_id, env_id FROM environment_owners WHERE session_id = ?');
    this.#all = db.prepare<[], { session_id: string; lab_id: string; env_id: string }>('SELECT session_id, lab_id, env_id FROM environment_owners');
  }

  find(sessionId: string, labId: string): string | undefined {
    return this.#find.get(sessionId, labId)?.env_id;
  }

  record(sessionId: string, labId: string, envId: string): void {
    this.#record.run(sessionId, labId, envId);
  }

  forget(sessionId: string, labId: string): void {
    this.#forget.run(sessionId, labId);
  }

  ofSession(sessionId: string): { labId: string; envId: string }[] {
    return this.#ofSession.all(sessionId).map((r) => ({ labId: r.lab_id, envId: r.env_id }));
  }

  all(): { sessionId: string; labId: string; envId: string }[] {
    return this.#all.all().map((r) => ({ sessionId: r.session_id, labId: r.lab_id, envId: r.env_id }));
  }
}
