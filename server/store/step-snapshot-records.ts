// The step snapshot records of server/workspaces/step-snapshots.ts in the SQLite file: which step each
// environment's snapshot belongs to, so a restarted server can still put that step back.
import type { StepSnapshotRecord, StepSnapshotRecords } from '../workspaces/step-snapshots.ts';
import type { Db } from './database.ts';

export class SqliteStepSnapshotRecords implements StepSnapshotRecords {
  readonly #get;
  readonly #set;
  readonly #forget;
  readonly #prune;

  constructor(db: Db) {
    this.#get = db.prepare<[string], { step_id: string; taken_at: number }>('SELECT step_id, taken_at FROM step_snapshots WHERE env_id = ?');
    this.#set = db.prepare<[string, string, number]>(
      'INSERT INTO step_snapshots (env_id, step_id, taken_at) VALUES (?, ?, ?) ON CONFLICT (env_id) DO UPDATE SET step_id = excluded.step_id, taken_at = excluded.taken_at',
    );
    this.#forget = db.prepare<[string]>('DELETE FROM step_snapshots WHERE env_id = ?');
    this.#prune = db.prepare<[]>('DELETE FROM step_snapshots WHERE env_id NOT IN (SELECT env_id FROM environment_owners)');
  }

  get(envId: string): StepSnapshotRecord | undefined {
    const r = this.#get.get(envId);
    return r ? { stepId: r.step_id, takenAt: r.taken_at } : undefined;
  }

  set(envId: string, record: StepSnapshotRecord): void {
    this.#set.run(envId, record.stepId, record.takenAt);
  }

  forget(envId: string): void {
    this.#forget.run(envId);
  }

  /** At start, once leftovers are settled: forgets records of environments no session owns any more. */
  prune(): number {
    return this.#prune.run().changes;
  }
}
