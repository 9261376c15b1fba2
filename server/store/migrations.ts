// The durable store's schema, as numbered migrations applied in order at open. The database's
// user_version records the last one applied; a migration is never edited once shipped, only added.

export interface Migration {
  version: number;
  sql: string;
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
];
