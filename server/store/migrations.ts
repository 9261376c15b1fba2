// The durable store's schema, as numbered migrations applied in order at open. The database's
// user_version records the last one applied; a migration is never edited once shipped, only added.
import type { Database as Db } from 'better-sqlite3';
import { logger } from '../log.ts';

/** What a data migration may ask about the labs as they are when it runs. */
export interface MigrationLabs {
  /** The lab file's text and the ids of its steps in order; undefined when it is missing or does not load cleanly. */
  current(labId: string): { source: string; hash: string; stepIds: string[] } | undefined;
}

export interface Migration {
  version: number;
  sql: string;
  /** Moves rows into what `sql` made, in the same transaction; then `after` runs (drops what it replaced). */
  data?: (db: Db, labs: MigrationLabs | undefined) => void;
  after?: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      -- A browser session (the cookie's value is the id). role: solo | attendee | instructor.
      CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('solo', 'attendee', 'instructor')),
        workshop_id TEXT REFERENCES workshops(id),
        -- Public handle of an attendee (dashboard, mirrors); never the session id, which is a secret.
        attendee_id TEXT UNIQUE,
        display_name TEXT,
        reset_at INTEGER
      );
      CREATE INDEX sessions_by_workshop ON sessions(workshop_id);

      CREATE TABLE workshops (
        id TEXT PRIMARY KEY,
        join_token TEXT NOT NULL UNIQUE,
        lab_id TEXT NOT NULL,
        capacity INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        -- Set when the instructor ended it or it expired; its environments are freed then.
        ended_at INTEGER,
        end_reason TEXT
      );

      CREATE TABLE steps_done (
        session_id TEXT NOT NULL,
        lab_id TEXT NOT NULL,
        step INTEGER NOT NULL,
        at INTEGER NOT NULL,
        skipped INTEGER NOT NULL,
        PRIMARY KEY (session_id, lab_id, step)
      );

      CREATE TABLE step_attempts (
        session_id TEXT NOT NULL,
        lab_id TEXT NOT NULL,
        step INTEGER NOT NULL,
        count INTEGER NOT NULL,
        failed INTEGER NOT NULL,
        last_at INTEGER NOT NULL,
        last_passed INTEGER NOT NULL,
        PRIMARY KEY (session_id, lab_id, step)
      );

      -- Which provider environment a (session, lab) uses, so a restarted server adopts it again.
      CREATE TABLE environment_owners (
        session_id TEXT NOT NULL,
        lab_id TEXT NOT NULL,
        env_id TEXT NOT NULL,
        PRIMARY KEY (session_id, lab_id)
      );
    `,
  },
  {
    version: 2,
    sql: `
      -- The last check report each attendee's page was shown, for the instructor's dashboard.
      CREATE TABLE last_reports (
        session_id TEXT PRIMARY KEY,
        lab_id TEXT NOT NULL,
        report TEXT NOT NULL
      );
    `,
  },
  {
    version: 3,
    sql: `
      -- When the session was last used (a request, an open page), for idle expiry; NULL: created_at.
      ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER;
      -- Instructor sessions: a keyed fingerprint of the credential they logged in with (never the
      -- credential itself); a server started with another credential treats them as ended.
      ALTER TABLE sessions ADD COLUMN credential_fp TEXT;
      -- Random values made once per data folder (the key of the credential fingerprint).
      CREATE TABLE install_secrets (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
    `,
  },
  {
    version: 4,
    sql: `
      -- Where each step's setup blocks stand on an environment's hosts (running, ready, failed), so
      -- that a step's setup runs once per environment: a new environment (a reset) has no rows.
      CREATE TABLE step_setups (
        env_id TEXT NOT NULL,
        step_id TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('running', 'ready', 'failed')),
        at INTEGER NOT NULL,
        host TEXT,
        reason TEXT,
        PRIMARY KEY (env_id, step_id)
      );
    `,
  },
  {
    version: 5,
    sql: `
      -- Progress keyed by step id (common/lab.ts), not position: editing a lab never shifts it.
      CREATE TABLE steps_done_by_id (
        session_id TEXT NOT NULL,
        lab_id TEXT NOT NULL,
        step_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        skipped INTEGER NOT NULL,
        PRIMARY KEY (session_id, lab_id, step_id)
      );
      CREATE TABLE step_attempts_by_id (
        session_id TEXT NOT NULL,
        lab_id TEXT NOT NULL,
        step_id TEXT NOT NULL,
        count INTEGER NOT NULL,
        failed INTEGER NOT NULL,
        last_at INTEGER NOT NULL,
        last_passed INTEGER NOT NULL,
        PRIMARY KEY (session_id, lab_id, step_id)
      );
      -- The lab version a workshop runs: the file's text when it was created (or moved), and its hash.
      -- NULL: a workshop from before this migration whose lab could not be read then; it follows the file.
      ALTER TABLE workshops ADD COLUMN lab_source TEXT;
      ALTER TABLE workshops ADD COLUMN lab_hash TEXT;
    `,
    data: stepIdsFromPositions,
    after: `
      DROP TABLE steps_done;
      DROP TABLE step_attempts;
    `,
  },
  {
    version: 6,
    sql: `
      -- 1 when the instructor's catch-up replayed the step's solution (server/catchup/), not the attendee.
      ALTER TABLE steps_done_by_id ADD COLUMN replayed INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 7,
    sql: `
      -- The help loop: an attendee's raised hand (one per session; lowering deletes it) and the
      -- instructor's messages (session_id NULL: a broadcast to the workshop), so a restart keeps both.
      CREATE TABLE help_hands (
        session_id TEXT PRIMARY KEY,
        workshop_id TEXT NOT NULL,
        raised_at INTEGER NOT NULL,
        text TEXT
      );
      CREATE TABLE help_messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        workshop_id TEXT NOT NULL,
        session_id TEXT,
        at INTEGER NOT NULL,
        text TEXT NOT NULL
      );
      CREATE INDEX help_messages_by_workshop ON help_messages(workshop_id, at);
    `,
  },
  {
    version: 8,
    sql: `
      -- Which step the provider's step snapshot of an environment belongs to (server/workspaces/step-snapshots.ts),
      -- so "Reset this step" still works after a restart (the snapshot's files outlive the process).
      CREATE TABLE step_snapshots (
        env_id TEXT PRIMARY KEY,
        step_id TEXT NOT NULL,
        taken_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 9,
    sql: `
      -- 1 while the instructor wants every free seat's hosts booted ahead (server/workshops/workshop-pools.ts),
      -- so a restart keeps booting them.
      ALTER TABLE workshops ADD COLUMN boot_ahead INTEGER NOT NULL DEFAULT 0;
    `,
  },
];

/**
 * Schema 3 → 4: positions become step ids by the lab as it is now (the best knowledge there is), and
 * running workshops are pinned to that same version. Rows whose lab cannot be loaded now, or whose
 * position is past its last step, cannot be mapped: they are dropped, with a log line per lab.
 */
function stepIdsFromPositions(db: Db, labs: MigrationLabs | undefined): void {
  const log = logger('store');
  const labIds = db.prepare<[], { lab_id: string }>('SELECT lab_id FROM steps_done UNION SELECT lab_id FROM step_attempts UNION SELECT lab_id FROM workshops WHERE ended_at IS NULL').all();
  const copyDone = db.prepare<[string, string, number]>('INSERT INTO steps_done_by_id SELECT session_id, lab_id, ?, at, skipped FROM steps_done WHERE lab_id = ? AND step = ?');
  const copyAttempts = db.prepare<[string, string, number]>(
    'INSERT INTO step_attempts_by_id SELECT session_id, lab_id, ?, count, failed, last_at, last_passed FROM step_attempts WHERE lab_id = ? AND step = ?',
  );
  const countDone = db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM steps_done WHERE lab_id = ?');
  const countAttempts = db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM step_attempts WHERE lab_id = ?');
  const pin = db.prepare<[string, string, string]>('UPDATE workshops SET lab_source = ?, lab_hash = ? WHERE lab_id = ? AND ended_at IS NULL');
  for (const { lab_id: labId } of labIds) {
    const lab = labs?.current(labId);
    let kept = 0;
    if (lab) {
      lab.stepIds.forEach((id, i) => {
        kept += copyDone.run(id, labId, i).changes + copyAttempts.run(id, labId, i).changes;
      });
      pin.run(lab.source, lab.hash, labId);
    }
    const total = (countDone.get(labId)?.n ?? 0) + (countAttempts.get(labId)?.n ?? 0);
    if (kept < total) {
      log.warn({ lab: labId, dropped: total - kept, kept }, lab ? 'progress rows past the lab’s last step were dropped while keying progress by step id' : 'progress rows of a lab that cannot be loaded now were dropped while keying progress by step id');
    } else if (total > 0) {
      log.info({ lab: labId, rows: kept }, 'progress keyed by step id');
    }
  }
}
