// The setup records of server/checks/setup-records.ts in the SQLite file: one row per (environment,
// step id), committed before the caller goes on, so a restarted server never runs a setup twice.
import type { SetupState } from '../../common/protocol.ts';
import type { SetupRecord, SetupRecords } from '../checks/setup-records.ts';
import type { Db } from './database.ts';

interface Row {
  state: SetupState;
  at: number;
  host: string | null;
  reason: string | null;
}

export class SqliteSetupRecords implements SetupRecords {
  readonly #get;
  readonly #set;
  readonly #forget;
  readonly #prune;

  constructor(db: Db) {
    this.#get = db.prepare<[string, string], Row>('SELECT state, at, host, reason FROM step_setups WHERE env_id = ? AND step_id = ?');
    this.#set = db.prepare<[string, string, SetupState, number, string | null, string | null]>(
      `INSERT INTO step_setups (env_id, step_id, state, at, host, reason) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (env_id, step_id) DO UPDATE SET state = excluded.state, at = excluded.at, host = excluded.host, reason = excluded.reason`,
    );
    this.#forget = db.prepare<[string]>('DELETE FROM step_setups WHERE env_id = ?');
    this.#prune = db.prepare<[]>('DELETE FROM step_setups WHERE env_id NOT IN (SELECT env_id FROM environment_owners)');
  }

  get(envId: string, stepId: string): SetupRecord | undefined {
    const r = this.#get.get(envId, stepId);
    if (!r) return undefined;
    const rec: SetupRecord = { state: r.state, at: r.at };
    if (r.host !== null) rec.host = r.host;
    if (r.reason !== null) rec.reason = r.reason;
    return rec;
  }

  set(envId: string, stepId: string, record: SetupRecord): void {
    this.#set.run(envId, stepId, record.state, record.at, record.host ?? null, record.reason ?? null);
  }

  forgetEnvironment(envId: string): void {
    this.#forget.run(envId);
  }

  /** At start, once leftovers are settled: forgets records of environments no session owns any more. */
  prune(): number {
    return this.#prune.run().changes;
  }
}
