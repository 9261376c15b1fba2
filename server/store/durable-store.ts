// The server's durable state in one SQLite file under config.dataDir: sessions, progress,
// workshops and environment ownership, over one connection (better-sqlite3 is synchronous,
// so each write is committed before the caller continues).
import type { Db } from './database.ts';
import { openDatabase } from './database.ts';
import { SqliteEnvironmentOwners } from './environment-owners.ts';
import { HelpRecords } from './help-records.ts';
import { LastReports } from './last-reports.ts';
import type { MigrationLabs } from './migrations.ts';
import { SqliteProgressStore } from './sqlite-progress-store.ts';
import { SqliteSessionStore } from './sqlite-session-store.ts';
import { SqliteSetupRecords } from './step-setup-records.ts';
import { SqliteStepSnapshotRecords } from './step-snapshot-records.ts';
import type { SessionStoreLimits } from './sqlite-session-store.ts';
import { WorkshopRecords } from './workshop-records.ts';

export interface DurableStore {
  readonly sessions: SqliteSessionStore;
  readonly progress: SqliteProgressStore;
  readonly workshops: WorkshopRecords;
  readonly environments: SqliteEnvironmentOwners;
  readonly reports: LastReports;
  /** Which steps' setup ran on which environment (see checks/setup-records.ts). */
  readonly setups: SqliteSetupRecords;
  /** Which step each environment's step snapshot belongs to (see workspaces/step-snapshots.ts). */
  readonly stepSnapshots: SqliteStepSnapshotRecords;
  /** Raised hands and the instructor's messages (server/help/). */
  readonly help: HelpRecords;
  /** Closes the database; idempotent. */
  close(): void;
}

export function openDurableStore(dataDir: string, opts: { sessionLimits?: SessionStoreLimits; labs?: MigrationLabs } = {}): DurableStore {
  const db: Db = openDatabase(dataDir, opts.labs ? { labs: opts.labs } : {});
  const sessions = new SqliteSessionStore(db, opts.sessionLimits ? { limits: opts.sessionLimits } : {});
  let closed = false;
  const reports = new LastReports(db);
  return {
    sessions,
    progress: new SqliteProgressStore(db),
    workshops: new WorkshopRecords(db, sessions),
    environments: new SqliteEnvironmentOwners(db),
    reports,
    setups: new SqliteSetupRecords(db),
    stepSnapshots: new SqliteStepSnapshotRecords(db),
    help: new HelpRecords(db),
    close() {
      if (closed) return;
      closed = true;
      try {
        reports.flush();
      } finally {
        db.close();
      }
    },
  };
}
