// Progress in the durable store. Every method commits (fsynced, see database.ts) before its
// promise resolves, and the checks module awaits it before telling the browser: an
// acknowledged step or attempt is on disk.
import type { DoneStep, LabProgress, ProgressStore, StepAttempts } from '../progress/progress-store.ts';
import type { Db } from './database.ts';

interface DoneRow {
  step_id: string;
  at: number;
  skipped: number;
  replayed: number;
}
interface AttemptRow {
  step_id: string;
  count: number;
  failed: number;
  last_at: number;
  last_passed: number;
}

interface AttemptParams {
  sessionId: string;
  labId: string;
  stepId: string;
  failed: number;
  at: number;
  passed: number;
}

/** StepAttempts plus the number of failed explicit checks (the dashboard's "stuck" signal). */
export interface StepAttemptsWithFailures extends StepAttempts {
  failed: number;
}

export class SqliteProgressStore implements ProgressStore {
  readonly #done;
  readonly #attempts;
  readonly #markDone;
  readonly #attempt;
  readonly #clear;

  constructor(db: Db) {
    this.#done = db.prepare<[string, string], DoneRow>('SELECT step_id, at, skipped, replayed FROM steps_done_by_id WHERE session_id = ? AND lab_id = ? ORDER BY at, step_id');
    this.#attempts = db.prepare<[string, string], AttemptRow>(
      'SELECT step_id, count, failed, last_at, last_passed FROM step_attempts_by_id WHERE session_id = ? AND lab_id = ?',
    );
    // A step already done keeps its first time (ON CONFLICT DO NOTHING).
    this.#markDone = db.prepare<[string, string, string, number, number, number]>(
      'INSERT INTO steps_done_by_id (session_id, lab_id, step_id, at, skipped, replayed) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
    );
    this.#attempt = db.prepare<[AttemptParams]>(
      `INSERT INTO step_attempts_by_id (session_id, lab_id, step_id, count, failed, last_at, last_passed) VALUES (@sessionId, @labId, @stepId, 1, @failed, @at, @passed)
       ON CONFLICT (session_id, lab_id, step_id) DO UPDATE SET count = count + 1, failed = failed + @failed, last_at = @at, last_passed = @passed`,
    );
    const clearDone = db.prepare<[string]>('DELETE FROM steps_done_by_id WHERE session_id = ?');
    const clearAttempts = db.prepare<[string]>('DELETE FROM step_attempts_by_id WHERE session_id = ?');
    this.#clear = db.transaction((sessionId: string) => {
      clearDone.run(sessionId);
      clearAttempts.run(sessionId);
    });
  }

  get(sessionId: string, labId: string): Promise<LabProgress> {
    return Promise.resolve(this.getSync(sessionId, labId));
  }

  getSync(sessionId: string, labId: string): LabProgress & { attempts: Record<string, StepAttemptsWithFailures> } {
    const done = this.#done.all(sessionId, labId).map((r) => ({ stepId: r.step_id, at: r.at, skipped: r.skipped === 1, ...(r.replayed === 1 ? { replayed: true } : {}) }));
    const attempts: Record<string, StepAttemptsWithFailures> = {};
    for (const r of this.#attempts.all(sessionId, labId)) {
      attempts[r.step_id] = { count: r.count, failed: r.failed, lastAt: r.last_at, lastPassed: r.last_passed === 1 };
    }
    return { done, attempts };
  }

  recordAttempt(sessionId: string, labId: string, stepId: string, passed: boolean, at: number): Promise<void> {
    this.#attempt.run({ sessionId, labId, stepId, failed: passed ? 0 : 1, at, passed: passed ? 1 : 0 });
    return Promise.resolve();
  }

  markDone(sessionId: string, labId: string, done: DoneStep): Promise<LabProgress> {
    this.#markDone.run(sessionId, labId, done.stepId, done.at, done.skipped ? 1 : 0, done.replayed ? 1 : 0);
    return this.get(sessionId, labId);
  }

  /** Forgets every step and attempt of a session (the instructor reset its environment). */
  clear(sessionId: string): void {
    this.#clear(sessionId);
  }
}
