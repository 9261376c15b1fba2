// The durable store on a real SQLite file: what survives closing and reopening, capacity under
// a race for the last seat, step order and first-completion times, and schema versioning.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DATABASE_FILE, StoreError, migrate, openDatabase } from './database.ts';
import type { DurableStore } from './durable-store.ts';
import { openDurableStore } from './durable-store.ts';
import { MIGRATIONS } from './migrations.ts';

describe('durable store', () => {
  let dir: string;
  let store: DurableStore;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lw-store-'));
    store = openDurableStore(dir);
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const reopen = (): DurableStore => {
    store.close();
    store = openDurableStore(dir);
    return store;
  };

  it('keeps sessions and progress across a reopen; a step done twice keeps its first time', async () => {
    const s = await store.sessions.create();
    // As when its page opens a lab: from then on the session is durable.
    store.sessions.persist(s.id);
    await store.progress.markDone(s.id, 'etcd', { stepId: 'b', at: 200, skipped: true });
    await store.progress.markDone(s.id, 'etcd', { stepId: 'a', at: 100, skipped: false });
    await store.progress.markDone(s.id, 'etcd', { stepId: 'a', at: 999, skipped: false });
    await store.progress.recordAttempt(s.id, 'etcd', 'c', false, 300);
    await store.progress.recordAttempt(s.id, 'etcd', 'c', false, 310);
    await store.progress.recordAttempt(s.id, 'etcd', 'c', true, 320);
    reopen();
    expect(await store.sessions.get(s.id)).toEqual({ ...s, role: 'solo', workshopId: undefined, attendeeId: undefined, displayName: undefined, resetAt: undefined });
    expect(await store.progress.get(s.id, 'etcd')).toEqual({
      done: [
        { stepId: 'a', at: 100, skipped: false },
        { stepId: 'b', at: 200, skipped: true },
      ],
      attempts: { c: { count: 3, failed: 2, lastAt: 320, lastPassed: true } },
    });
    expect((await store.progress.get(s.id, 'other')).done).toEqual([]);
  });

  it('refuses junk and unknown session ids', async () => {
    expect(await store.sessions.get('forged')).toBeUndefined();
    expect(await store.sessions.get('x'.repeat(43))).toBeUndefined();
  });

  it('gives a workshop seats up to its capacity, then reports it full, ended or expired', () => {
    const w = store.workshops.create({ labId: 'etcd', capacity: 2, expiresAt: Date.now() + 60_000 });
    const a = store.workshops.join(w.joinToken, 'Ada');
    const b = store.workshops.join(w.joinToken, 'Bob');
    expect(a?.ok && a.session.role).toBe('attendee');
    expect(b?.ok && b.session.displayName).toBe('Bob');
    expect(store.workshops.join(w.joinToken, 'Cy')).toEqual({ ok: false, reason: 'full' });
    expect(store.workshops.join('nope', 'Cy')).toBeUndefined();
    expect(store.workshops.join(w.joinToken, 'Cy', w.expiresAt + 1)).toEqual({ ok: false, reason: 'expired' });
    reopen();
    expect(store.sessions.attendeesOf(w.id).map((s) => s.displayName)).toEqual(['Ada', 'Bob']);
    expect(store.workshops.end(w.id, 'ended')).toBe(true);
    expect(store.workshops.end(w.id, 'expired')).toBe(false);
    expect(store.workshops.get(w.id)?.endReason).toBe('ended');
    expect(store.workshops.setExpiry(w.id, Date.now() + 1)).toBe(false);
  });

  it('remembers which environment a session owns, and forgets it', async () => {
    const s = await store.sessions.create();
    store.environments.record(s.id, 'etcd', 'lwaaaa1');
    store.environments.record(s.id, 'etcd', 'lwbbbb2');
    reopen();
    expect(store.environments.find(s.id, 'etcd')).toBe('lwbbbb2');
    store.environments.forget(s.id, 'etcd');
    expect(store.environments.find(s.id, 'etcd')).toBeUndefined();
  });

  it('keeps the last check report shown to an attendee across a reopen', async () => {
    const s = await store.sessions.create();
    const report = { step: 1, passed: false, at: 5, results: [] };
    store.reports.set(s.id, 'etcd', report);
    reopen();
    expect(store.reports.get(s.id)).toEqual(report);
    store.reports.clear(s.id);
    expect(store.reports.get(s.id)).toBeUndefined();
  });

  it('commits check reports behind, many in one transaction: readable at once, on disk after the flush or the close', async () => {
    const a = await store.sessions.create();
    const b = await store.sessions.create();
    const onDisk = (id: string): unknown => {
      const raw = new Database(path.join(dir, DATABASE_FILE), { readonly: true });
      try {
        return raw.prepare('SELECT report FROM last_reports WHERE session_id = ?').get(id);
      } finally {
        raw.close();
      }
    };
    for (let at = 0; at < 50; at++) store.reports.set(a.id, 'etcd', { step: 0, passed: false, at, results: [] });
    store.reports.set(b.id, 'etcd', { step: 2, passed: true, at: 7, results: [] });
    expect(store.reports.get(a.id)?.at).toBe(49);
    // Not written on the event loop report by report: nothing is committed yet.
    expect(onDisk(a.id)).toBeUndefined();
    store.reports.flush();
    expect(JSON.parse((onDisk(a.id) as { report: string }).report)).toMatchObject({ at: 49 });
    store.reports.set(b.id, 'etcd', { step: 3, passed: false, at: 8, results: [] });
    reopen();
    expect(store.reports.get(b.id)).toMatchObject({ step: 3, at: 8 });
  });

  it('clears a session’s progress on reset', async () => {
    const s = await store.sessions.create();
    await store.progress.markDone(s.id, 'etcd', { stepId: 'a', at: 1, skipped: false });
    store.progress.clear(s.id);
    expect(await store.progress.get(s.id, 'etcd')).toEqual({ done: [], attempts: {} });
  });
});

describe('schema migrations', () => {
  it('apply once, in order, and refuse a database from a newer version', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lw-migr-'));
    try {
      openDatabase(dir).close();
      const db = new Database(path.join(dir, DATABASE_FILE));
      expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      // The shipped ones (already applied: not run again) and one more.
      const next = MIGRATIONS.length + 1;
      migrate(db, [...MIGRATIONS.map((m) => ({ version: m.version, sql: `SELECT ${m.version}` })), { version: next, sql: 'CREATE TABLE extra (x INTEGER)' }]);
      expect(db.pragma('user_version', { simple: true })).toBe(next);
      expect(() => migrate(db)).toThrow(StoreError);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
