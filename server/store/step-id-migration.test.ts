// Schema 4 re-keys progress from step positions to step ids by the labs as they are at upgrade,
// pins running workshops to that version, and drops (with a log line) rows it cannot map.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { DATABASE_FILE, migrate } from './database.ts';
import { openDurableStore } from './durable-store.ts';
import { MIGRATIONS } from './migrations.ts';
import type { MigrationLabs } from './migrations.ts';

describe('migration to step ids', () => {
  it('maps stored positions to the ids of the lab as it is now, pins open workshops, drops what cannot be mapped', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lw-stepids-'));
    try {
      const db = new Database(path.join(dir, DATABASE_FILE));
      migrate(db, MIGRATIONS.filter((m) => m.version <= 4));
      db.exec(`INSERT INTO workshops (id, join_token, lab_id, capacity, created_at, expires_at) VALUES ('wAAAAAAAA', 't', 'etcd', 5, 1, 9999999999999)`);
      const done = db.prepare('INSERT INTO steps_done (session_id, lab_id, step, at, skipped) VALUES (?, ?, ?, ?, ?)');
      done.run('s1', 'etcd', 0, 10, 0);
      done.run('s1', 'etcd', 1, 20, 1);
      done.run('s1', 'etcd', 7, 30, 0); // past the lab's last step
      done.run('s1', 'gone', 0, 40, 0); // a lab that no longer loads
      db.prepare('INSERT INTO step_attempts (session_id, lab_id, step, count, failed, last_at, last_passed) VALUES (?, ?, ?, ?, ?, ?, ?)').run('s1', 'etcd', 2, 3, 2, 50, 0);
      const labs: MigrationLabs = { current: (id) => (id === 'etcd' ? { source: '# etcd v1', hash: 'h1', stepIds: ['health', 'put-get', 'watch'] } : undefined) };
      migrate(db, MIGRATIONS, labs);
      db.close();

      const store = openDurableStore(dir);
      try {
        expect(store.progress.getSync('s1', 'etcd')).toEqual({
          done: [
            { stepId: 'health', at: 10, skipped: false },
            { stepId: 'put-get', at: 20, skipped: true },
          ],
          attempts: { watch: { count: 3, failed: 2, lastAt: 50, lastPassed: false } },
        });
        expect(store.progress.getSync('s1', 'gone')).toEqual({ done: [], attempts: {} });
        expect(store.workshops.get('wAAAAAAAA')?.labHash).toBe('h1');
        expect(store.workshops.labSource('wAAAAAAAA')).toEqual({ source: '# etcd v1', hash: 'h1' });
      } finally {
        store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
