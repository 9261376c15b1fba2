// Sessions in SQLite: a new visitor's session writes nothing until it is persisted, sessions
// expire (idle, absolute, per role) and are swept with what hangs off them, a running workshop's
// attendee never expires, and a changed instructor credential ends instructor sessions.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { credentialFingerprint } from '../auth/instructor-credential.ts';
import { DEFAULT_SESSION_LIMITS } from '../config.ts';
import type { Db } from './database.ts';
import { openDatabase } from './database.ts';
import { SqliteProgressStore } from './sqlite-progress-store.ts';
import { SqliteSessionStore } from './sqlite-session-store.ts';
import { WorkshopRecords } from './workshop-records.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const limits = { ...DEFAULT_SESSION_LIMITS, idleMs: 2 * HOUR, maxAgeMs: 3 * DAY, instructorIdleMs: HOUR, instructorMaxAgeMs: 5 * HOUR, provisionalMax: 5 };

let dir: string;
let db: Db;
let t: number;
let sessions: SqliteSessionStore;
let workshops: WorkshopRecords;
let progress: SqliteProgressStore;
const rows = (): number => (db.prepare('SELECT count(*) AS n FROM sessions').get() as { n: number }).n;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lw-sessions-'));
  db = openDatabase(dir);
  t = 1_000 * DAY;
  sessions = new SqliteSessionStore(db, { limits, now: () => t });
  workshops = new WorkshopRecords(db, sessions);
  progress = new SqliteProgressStore(db);
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('provisional sessions', () => {
  it('a new visitor costs no row until its session is persisted, and memory stays bounded', async () => {
    const first = await sessions.create();
    for (let i = 0; i < 20; i++) await sessions.create();
    expect(rows()).toBe(0);
    expect(sessions.provisionalCount).toBe(5);
    // The oldest were dropped to keep within the cap.
    expect(await sessions.get(first.id)).toBeUndefined();

    const s = await sessions.create();
    expect(sessions.record(s.id)?.role).toBe('solo');
    sessions.persist(s.id);
    expect(rows()).toBe(1);
    expect(sessions.isDurable(s.id)).toBe(true);
    expect(sessions.record(s.id)).toMatchObject({ id: s.id, createdAt: s.createdAt, role: 'solo' });
    sessions.persist(s.id);
    expect(rows()).toBe(1);
  });

  it('persist of an unknown id writes nothing', () => {
    sessions.persist('x'.repeat(43));
    expect(rows()).toBe(0);
  });
});

describe('expiry', () => {
  it('a solo session ends when idle, and at its absolute age however active', async () => {
    const s = await sessions.create();
    sessions.persist(s.id);
    t += HOUR;
    expect(sessions.seen(s.id)).toBeDefined();
    t += HOUR + 1000;
    // Seen an hour ago: still inside the two-hour idle limit.
    expect(sessions.record(s.id)).toBeDefined();
    t += 2 * HOUR;
    expect(sessions.record(s.id)).toBeUndefined();

    const busy = await sessions.create();
    sessions.persist(busy.id);
    for (let i = 0; i < 80; i++) {
      t += HOUR;
      sessions.touch(busy.id);
    }
    expect(sessions.record(busy.id)).toBeUndefined();
  });

  it('instructor sessions have their own, shorter limits', () => {
    const i = sessions.createSync('instructor');
    t += HOUR - 1000;
    expect(sessions.seen(i.id)?.role).toBe('instructor');
    t += HOUR - 1000;
    expect(sessions.seen(i.id)).toBeDefined();
    t += HOUR + 1000;
    expect(sessions.seen(i.id)).toBeUndefined();
  });

  it('sweep deletes expired sessions with their progress, keeps a running workshop’s attendee, and an ended workshop’s for maxAgeMs', async () => {
    const solo = await sessions.create();
    sessions.persist(solo.id);
    await progress.markDone(solo.id, 'lab', { stepId: 'a', at: t, skipped: false });
    const running = workshops.create({ labId: 'lab', capacity: 5, expiresAt: t + 30 * DAY });
    const ended = workshops.create({ labId: 'lab', capacity: 5, expiresAt: t + 30 * DAY });
    const stay = workshops.join(running.joinToken, 'Ada', t);
    const gone = workshops.join(ended.joinToken, 'Bob', t);
    if (!stay?.ok || !gone?.ok) throw new Error('join failed');
    workshops.end(ended.id, 'ended', t);

    t += 3 * HOUR;
    expect(sessions.sweep()).toEqual([solo.id]);
    expect((await progress.get(solo.id, 'lab')).done).toEqual([]);
    // Long after: the running workshop's attendee is still there; the ended one's only until maxAgeMs after the end.
    t += 2 * DAY;
    expect(sessions.sweep()).toEqual([]);
    expect(sessions.record(stay.session.id)?.role).toBe('attendee');
    t += 2 * DAY;
    expect(sessions.sweep()).toEqual([gone.session.id]);
    expect(sessions.record(stay.session.id)?.role).toBe('attendee');
    expect(workshops.attendeeCount(running.id)).toBe(1);
  });

  it('tells listeners which sessions ended; end() is a logout', () => {
    const ended: string[] = [];
    sessions.onEnd((id) => ended.push(id));
    const i = sessions.createSync('instructor');
    expect(sessions.end(i.id)).toBe(true);
    expect(sessions.record(i.id)).toBeUndefined();
    expect(rows()).toBe(0);
    expect(ended).toEqual([i.id]);
    expect(sessions.end(i.id)).toBe(false);
  });
});

describe('instructor credential', () => {
  it('a session made with another credential is no session, and is deleted when the new one is bound', () => {
    const key = sessions.credentialKey();
    expect(sessions.credentialKey().equals(key)).toBe(true);
    const fpA = credentialFingerprint('token-A-0123456789', key);
    expect(fpA).not.toContain('token-A');
    expect(sessions.bindCredential(fpA)).toEqual([]);
    const a = sessions.createSync('instructor');
    expect(sessions.record(a.id)?.role).toBe('instructor');
    expect(JSON.stringify(db.prepare('SELECT * FROM sessions').all())).not.toContain('token-A');

    // The same data folder, another process with credential B.
    const other = new SqliteSessionStore(db, { limits, now: () => t });
    expect(other.bindCredential(credentialFingerprint('token-B-0123456789', other.credentialKey()))).toEqual([a.id]);
    expect(other.record(a.id)).toBeUndefined();
    expect(rows()).toBe(0);
  });
});
