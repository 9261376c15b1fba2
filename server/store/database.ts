// Opens the one SQLite file of a server's durable state and brings its schema up to date.
// Durability: WAL with synchronous=FULL, so a commit is fsynced before the call returns.
import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import type { Migration } from './migrations.ts';
import { MIGRATIONS } from './migrations.ts';

export type { Db };

export const DATABASE_FILE = 'labwright.sqlite';

export class StoreError extends Error {
  override name = 'StoreError';
}

/**
 * kill -9 alone only needs a commit to reach the OS (WAL + NORMAL would do), but a workshop
 * server may also lose power; FULL fsyncs the WAL on every commit. Writes are a few per check,
 * so the fsync costs nothing an attendee notices.
 */
function applyPragmas(db: Db): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  // Another process (labwright env, a second server by mistake) holding a lock: wait, do not fail.
  db.pragma('busy_timeout = 5000');
}

export function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = migrations.at(-1)?.version ?? 0;
  if (current > latest) {
    throw new StoreError(`the database was written by a newer Labwright (schema ${current}, this one knows ${latest}); upgrade Labwright`);
  }
  for (const m of migrations) {
    if (m.version <= current) continue;
    // Each migration and its version bump commit together: a crash leaves the old or the new schema.
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
}

/** Opens (creating if needed) dataDir/labwright.sqlite, readable by this user only. */
export function openDatabase(dataDir: string): Db {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, DATABASE_FILE);
  let db: Db;
  try {
    db = new Database(file);
  } catch (e) {
    throw new StoreError(`cannot open the database ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  // It holds session ids (cookie values) and join tokens.
  chmodSync(file, 0o600);
  applyPragmas(db);
  migrate(db);
  return db;
}
