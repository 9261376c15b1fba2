// Opens the one SQLite file of a server's durable state and brings its schema up to date.
// Durability: WAL with synchronous=FULL, so a commit is fsynced before the call returns.
// A file that is not ours (random bytes, another program's database, a newer schema) is refused
// before anything writes to it, and left byte-for-byte as it was.
import { accessSync, chmodSync, closeSync, constants, existsSync, fsyncSync, mkdirSync, openSync, readSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import type { Migration, MigrationLabs } from './migrations.ts';
import { MIGRATIONS } from './migrations.ts';
import { StoreError, storageFailureOf } from './store-error.ts';

export type { Db };
export { StoreError };

export const DATABASE_FILE = 'labwright.sqlite';

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const errCode = (e: unknown): string => (e as NodeJS.ErrnoException | null)?.code ?? '';
const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const ELSEWHERE = 'or set LABWRIGHT_DATA_DIR to another folder';

/** Turns a failed write or open under the data folder into what the operator must do about it. */
function storeErrorOf(e: unknown, dir: string, what: string): StoreError {
  if (e instanceof StoreError) return e;
  const failure = storageFailureOf(e, dir);
  if (failure === 'disk-full') return new StoreError('disk-full', `no space left on the disk of ${dir} (${what}); free some space ${ELSEWHERE} on another disk`);
  if (failure === 'read-only') return new StoreError('read-only', `cannot write to ${dir} (${what}): it is on a read-only filesystem; mount it writable ${ELSEWHERE}`);
  const code = errCode(e);
  if (code === 'EACCES' || code === 'EPERM') return new StoreError('cannot-open', `not allowed to write to ${dir} (${what}); fix its permissions ${ELSEWHERE}`);
  if (failure === 'io-error') return new StoreError('cannot-open', `the disk of ${dir} failed a write (${what}: ${errText(e)}); check the disk ${ELSEWHERE}`);
  if (code === 'ENOTDIR' || code === 'EEXIST') return new StoreError('not-a-folder', `the data folder ${dir} is not a folder (a file is in its place or on its path); move that file aside ${ELSEWHERE}`);
  return new StoreError('cannot-open', `cannot use the data folder ${dir} (${what}): ${errText(e)}`);
}

/** Node's recursive mkdir says ENOENT on a read-only filesystem: ask the nearest existing parent why. */
function whyNotWritable(dir: string): unknown {
  let parent = path.dirname(dir);
  while (!existsSync(parent) && parent !== path.dirname(parent)) parent = path.dirname(parent);
  try {
    accessSync(parent, constants.W_OK);
    return undefined;
  } catch (e) {
    return e;
  }
}

/**
 * The data folder exists (it is made if missing) and takes a small fsynced write: a read-only or
 * full disk, or a file where the folder should be, is reported here rather than half-way through.
 */
export function checkDataDir(dataDir: string): void {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    if (!statSync(dataDir).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  } catch (e) {
    throw storeErrorOf(errCode(e) === 'ENOENT' ? (whyNotWritable(dataDir) ?? e) : e, dataDir, 'creating the folder');
  }
  const probe = path.join(dataDir, `.labwright-write-test.${process.pid}`);
  let fd: number | undefined;
  try {
    fd = openSync(probe, 'w', 0o600);
    writeSync(fd, Buffer.alloc(4096));
    fsyncSync(fd);
  } catch (e) {
    throw storeErrorOf(e, dataDir, 'a test write');
  } finally {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(probe);
    } catch {
      // Never created (read-only disk) or already gone.
    }
  }
}

/** Tables of a Labwright database at schema `version`, found by running the migrations in memory. */
function tablesAt(version: number, migrations: readonly Migration[]): string[] {
  const mem = new Database(':memory:');
  try {
    for (const m of migrations) {
      if (m.version > version) continue;
      mem.exec(m.sql);
      if (m.after) mem.exec(m.after);
    }
    return tableNames(mem);
  } finally {
    mem.close();
  }
}

function tableNames(db: Db): string[] {
  return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
}

/**
 * Refuses, without writing to it, a file at `file` that is not a Labwright database this version can
 * use: not SQLite at all, damaged, another program's tables, or a newer schema. A missing or empty
 * file is a new database.
 */
export function inspectDatabaseFile(file: string, migrations: readonly Migration[] = MIGRATIONS): void {
  const aside = `nothing was changed; move it aside (e.g. mv ${file} ${file}.bad) ${ELSEWHERE}`;
  let size: number;
  try {
    const st = statSync(file);
    if (st.isDirectory()) throw new StoreError('not-a-database', `${file} is a folder, not a Labwright database; ${aside}`);
    // A FIFO or device would block the open or be read forever.
    if (!st.isFile()) throw new StoreError('not-a-database', `${file} is not a regular file, so not a Labwright database; ${aside}`);
    size = st.size;
  } catch (e) {
    if (errCode(e) === 'ENOENT') return;
    throw storeErrorOf(e, path.dirname(file), `reading ${path.basename(file)}`);
  }
  if (size === 0) return;
  const head = Buffer.alloc(SQLITE_MAGIC.length);
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    readSync(fd, head, 0, head.length, 0);
  } catch (e) {
    throw storeErrorOf(e, path.dirname(file), `reading ${path.basename(file)}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (size < 512 || !head.equals(SQLITE_MAGIC)) throw new StoreError('not-a-database', `${file} is not a Labwright database (not an SQLite file); ${aside}`);
  // Reading a WAL-mode file makes its -wal and -shm companions: a refused file gets back the folder
  // it came with (a file we accept keeps them: the server is about to use them anyway).
  const companions = [`${file}-wal`, `${file}-shm`].filter((f) => !existsSync(f));
  let db: Db | undefined;
  let refused = true;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const check = db.pragma('quick_check(1)', { simple: true }) as string;
    const first = check.replace(/\*\*\* in database \w+ \*\*\*/, '').replace(/\s+/g, ' ').trim().slice(0, 120);
    if (check !== 'ok') throw new StoreError('damaged', `${file} is damaged (${first}); ${aside}, then start again (progress in it is lost unless you restore a backup)`);
    const version = db.pragma('user_version', { simple: true }) as number;
    const tables = tableNames(db);
    const latest = migrations.at(-1)?.version ?? 0;
    const foreign = (): StoreError =>
      new StoreError('foreign', `${file} is a database of another program (tables: ${tables.slice(0, 5).join(', ')}${tables.length > 5 ? ', …' : ''}), not Labwright's; ${aside}`);
    if (version > latest) {
      const ours = tablesAt(latest, migrations);
      if (!ours.every((t) => tables.includes(t))) throw foreign();
      throw new StoreError('newer-schema', `${file} was written by a newer Labwright (schema ${version}; this one knows up to ${latest}); nothing was changed; upgrade Labwright, or move the file aside to start afresh`);
    }
    if (version === 0 ? tables.length > 0 : !tablesAt(version, migrations).every((t) => tables.includes(t))) throw foreign();
    refused = false;
  } catch (e) {
    if (e instanceof StoreError) throw e;
    const code = errCode(e);
    if (code === 'SQLITE_NOTADB') throw new StoreError('not-a-database', `${file} is not a Labwright database (not an SQLite file); ${aside}`);
    if (code.startsWith('SQLITE_CORRUPT')) throw new StoreError('damaged', `${file} is damaged (${errText(e)}); ${aside}, then start again`);
    throw storeErrorOf(e, path.dirname(file), `reading ${path.basename(file)}`);
  } finally {
    db?.close();
    if (refused) for (const f of companions) if ((statSync(f, { throwIfNoEntry: false })?.size ?? 1) === 0 || f.endsWith('-shm')) rmSync(f, { force: true });
  }
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

export function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS, labs?: MigrationLabs): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = migrations.at(-1)?.version ?? 0;
  if (current > latest) {
    throw new StoreError('newer-schema', `the database was written by a newer Labwright (schema ${current}, this one knows ${latest}); upgrade Labwright`);
  }
  for (const m of migrations) {
    if (m.version <= current) continue;
    // Each migration and its version bump commit together: a crash leaves the old or the new schema.
    db.transaction(() => {
      db.exec(m.sql);
      m.data?.(db, labs);
      if (m.after) db.exec(m.after);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
}

/**
 * Opens (creating if needed) dataDir/labwright.sqlite, readable by this user only. Throws a
 * StoreError naming the path and what to do when the folder or file cannot be used.
 */
export function openDatabase(dataDir: string, opts: { labs?: MigrationLabs } = {}): Db {
  checkDataDir(dataDir);
  const file = path.join(dataDir, DATABASE_FILE);
  inspectDatabaseFile(file);
  let db: Db;
  try {
    db = new Database(file);
  } catch (e) {
    throw storeErrorOf(e, dataDir, `opening ${DATABASE_FILE}`);
  }
  try {
    // It holds session ids (cookie values) and join tokens.
    chmodSync(file, 0o600);
    applyPragmas(db);
    migrate(db, MIGRATIONS, opts.labs);
  } catch (e) {
    try {
      db.close();
    } catch {
      // The error that matters is the one above.
    }
    throw storeErrorOf(e, dataDir, `preparing ${DATABASE_FILE}`);
  }
  return db;
}
