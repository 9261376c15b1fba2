// `labwright serve` on a data folder it cannot use, as an operator meets it: a real process on a
// foreign, damaged or newer database, a full or read-only disk (real tmpfs mounts), a file in the
// folder's place. Each says what and where in one line, exits non-zero, and changes no byte.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_FILE, openDatabase } from '../store/database.ts';
import { fillDisk } from '../testing/fill-disk.ts';

const pexec = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, '../../bin/labwright.mjs');
const isRoot = process.getuid?.() === 0;

let tmp: string;
let labsDir: string;
const mounts: string[] = [];

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-bad-state-'));
  labsDir = path.join(tmp, 'labs');
  fs.mkdirSync(path.join(labsDir, 'demo'), { recursive: true });
  fs.writeFileSync(path.join(labsDir, 'demo', 'lab.md'), '---\ntitle: Demo\nhosts: [host0]\n---\nIntro.\n\n## Read\n\nJust read.\n');
});

afterAll(async () => {
  for (const m of mounts.reverse()) await pexec('umount', [m]).catch(() => pexec('umount', ['-l', m]));
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function serve(dataDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, LABWRIGHT_DATA_DIR: dataDir, LABWRIGHT_LABS_DIR: labsDir, LABWRIGHT_LOG_LEVEL: 'warn' };
  try {
    // A server that starts would run until the timeout: that is a failure here (code -1).
    const r = await pexec(process.execPath, [BIN, 'serve', '--port', '0'], { env, timeout: 120_000, killSignal: 'SIGKILL' });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

const sha256 = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function dir(name: string): string {
  const d = path.join(tmp, name);
  fs.mkdirSync(d, { recursive: true });
  return d;
}

/** A real Labwright database with a session and a workshop in it. */
function labwrightDatabase(dataDir: string): string {
  const db = openDatabase(dataDir);
  db.prepare("INSERT INTO workshops (id, join_token, lab_id, capacity, created_at, expires_at) VALUES ('w1', 'tok', 'demo', 5, 1, 2)").run();
  db.transaction(() => {
    for (let i = 0; i < 200; i++) db.prepare("INSERT INTO sessions (id, created_at, role) VALUES (?, 1, 'solo')").run(`s${i}-${'x'.repeat(40)}`);
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return path.join(dataDir, DATABASE_FILE);
}

async function tmpfs(name: string, size: string): Promise<string> {
  const d = dir(name);
  await pexec('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', d]);
  mounts.push(d);
  return d;
}

const fill = (d: string): void => fillDisk(path.join(d, 'filler'));

/** One or two lines on stderr naming `where`, matching `what`, exit ≠ 0, no stack trace. */
function expectClearRefusal(r: { code: number; stdout: string; stderr: string }, what: RegExp, where: string): void {
  expect(r.code, r.stderr).not.toBe(0);
  expect(r.code).not.toBe(-1);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  expect(lines.length, r.stderr).toBeGreaterThanOrEqual(1);
  expect(lines.length, r.stderr).toBeLessThanOrEqual(2);
  expect(lines[0]).toMatch(/^labwright serve: /);
  expect(r.stderr).toMatch(what);
  expect(r.stderr).toContain(where);
  expect(r.stderr + r.stdout).not.toMatch(/^\s+at /m);
  expect(r.stdout).not.toContain('Open http');
}

describe('labwright serve on a data folder it cannot use', () => {
  it('random bytes where the database should be → "not a Labwright database", file untouched', async () => {
    const d = dir('random');
    const file = path.join(d, DATABASE_FILE);
    fs.writeFileSync(file, randomBytes(16384), { mode: 0o644 });
    const before = sha256(file);
    const r = await serve(d);
    expectClearRefusal(r, /is not a Labwright database \(not an SQLite file\).*move it aside/, file);
    expect(sha256(file)).toBe(before);
    expect(fs.statSync(file).mode & 0o777).toBe(0o644);
    expect(fs.readdirSync(d)).toEqual([DATABASE_FILE]);
  });

  it("another program's SQLite database → names its tables, says move it aside, file untouched", async () => {
    const d = dir('foreign');
    const file = path.join(d, DATABASE_FILE);
    const db = new Database(file);
    // WAL mode, as many programs use: reading it must not leave -wal / -shm files behind either.
    db.pragma('journal_mode = WAL');
    db.exec("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT); INSERT INTO moz_places (url) VALUES ('https://example.org/')");
    db.close();
    const before = sha256(file);
    const r = await serve(d);
    expectClearRefusal(r, /is a database of another program \(tables: moz_places\), not Labwright's.*move it aside/, file);
    expect(sha256(file)).toBe(before);
    expect(fs.readdirSync(d)).toEqual([DATABASE_FILE]);
  });

  it('a database from a newer Labwright schema → "upgrade Labwright", file untouched', async () => {
    const d = dir('newer');
    const file = labwrightDatabase(d);
    const db = new Database(file);
    db.pragma('journal_mode = DELETE');
    db.pragma('user_version = 99');
    db.close();
    const before = sha256(file);
    const r = await serve(d);
    expectClearRefusal(r, /was written by a newer Labwright \(schema 99; this one knows up to \d+\).*upgrade Labwright/, file);
    expect(sha256(file)).toBe(before);
  });

  it('a damaged Labwright database (a page overwritten) → "is damaged", file untouched', async () => {
    const d = dir('damaged');
    const file = labwrightDatabase(d);
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, randomBytes(4096), 0, 4096, 4096 * 3);
    fs.closeSync(fd);
    const before = sha256(file);
    const r = await serve(d);
    expectClearRefusal(r, /is damaged .*move it aside/, file);
    expect(sha256(file)).toBe(before);
  });

  it('a FIFO where the database should be → "not a regular file" at once, not a hang', async () => {
    const d = dir('fifo');
    const file = path.join(d, DATABASE_FILE);
    await pexec('mkfifo', [file]);
    const r = await serve(d);
    expectClearRefusal(r, /is not a regular file, so not a Labwright database/, file);
    expect(fs.statSync(file).isFIFO()).toBe(true);
  });

  it('a file where the data folder should be → "not a folder", file untouched', async () => {
    const file = path.join(dir('file-in-place'), 'data');
    fs.writeFileSync(file, 'my notes\n');
    const r = await serve(file);
    expectClearRefusal(r, /is not a folder/, file);
    expect(fs.readFileSync(file, 'utf8')).toBe('my notes\n');
  });

  it.skipIf(!isRoot)('a full disk (64k tmpfs, filled) → "no space left", nothing created', async () => {
    const d = await tmpfs('full', '64k');
    fill(d);
    const r = await serve(d);
    expectClearRefusal(r, /no space left on the disk of .*free some space/, d);
    expect(fs.readdirSync(d)).toEqual(['filler']);
  });

  it.skipIf(!isRoot)('a full disk under an existing database → "no space left", the database keeps every byte', async () => {
    const d = await tmpfs('full-existing', '8m');
    const file = labwrightDatabase(d);
    const before = sha256(file);
    fill(d);
    const r = await serve(d);
    expectClearRefusal(r, /no space left on the disk of/, d);
    expect(sha256(file)).toBe(before);
    // Space freed: the same file opens and still holds its workshop.
    fs.rmSync(path.join(d, 'filler'));
    const db = openDatabase(d);
    expect(db.prepare('SELECT count(*) AS n FROM workshops').get()).toEqual({ n: 1 });
    db.close();
  });

  it.skipIf(!isRoot)('a read-only mount → "read-only filesystem", the database untouched', async () => {
    const d = await tmpfs('read-only', '8m');
    const file = labwrightDatabase(d);
    const before = sha256(file);
    await pexec('mount', ['-o', 'remount,ro', d]);
    const r = await serve(d);
    expectClearRefusal(r, /it is on a read-only filesystem/, d);
    expect(sha256(file)).toBe(before);
    const sub = path.join(d, 'not-yet');
    expectClearRefusal(await serve(sub), /it is on a read-only filesystem/, sub);
  });
});
