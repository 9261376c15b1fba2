// The last check report shown to each attendee, kept durably so the instructor's dashboard
// still shows it after a restart. Written behind: reports are collected for a second and
// committed together, so a room of attendees whose checks change costs one fsync a second, not
// one per report on the event loop (synchronous=FULL makes every commit wait for the disk).
import type { StepReport } from '../../common/checks.ts';
import { logger } from '../log.ts';
import { storageFailureOf } from './store-error.ts';
import type { Db } from './database.ts';

/** How long a report waits to be committed with the others; a crash loses at most this much (a display cache: the next check re-sends it). */
export const REPORT_FLUSH_MS = 1000;

export class LastReports {
  readonly #db: Db;
  readonly #get;
  readonly #set;
  readonly #clear;
  /** Reports set and not yet committed, by session. */
  readonly #pending = new Map<string, { labId: string; report: StepReport }>();
  #timer: NodeJS.Timeout | null = null;
  readonly #flushMs: number;

  constructor(db: Db, opts: { flushMs?: number } = {}) {
    this.#db = db;
    this.#flushMs = opts.flushMs ?? REPORT_FLUSH_MS;
    this.#get = db.prepare<[string], { report: string }>('SELECT report FROM last_reports WHERE session_id = ?');
    this.#set = db.prepare<[string, string, string]>(
      'INSERT INTO last_reports (session_id, lab_id, report) VALUES (?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET lab_id = excluded.lab_id, report = excluded.report',
    );
    this.#clear = db.prepare<[string]>('DELETE FROM last_reports WHERE session_id = ?');
  }

  get(sessionId: string): StepReport | undefined {
    const pending = this.#pending.get(sessionId);
    if (pending) return pending.report;
    const row = this.#get.get(sessionId);
    // Written by this code from a StepReport; the database is the server's own.
    return row ? (JSON.parse(row.report) as StepReport) : undefined;
  }

  set(sessionId: string, labId: string, report: StepReport): void {
    this.#pending.set(sessionId, { labId, report });
    if (!this.#timer) {
      this.#timer = setTimeout(() => this.#flushLogged(), this.#flushMs);
      this.#timer.unref();
    }
  }

  clear(sessionId: string): void {
    this.#pending.delete(sessionId);
    this.#clear.run(sessionId);
  }

  /** Commits what is pending in one transaction (the store calls it before closing). */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#pending.size === 0) return;
    const rows = [...this.#pending];
    this.#pending.clear();
    this.#db.transaction(() => {
      for (const [sessionId, { labId, report }] of rows) this.#set.run(sessionId, labId, JSON.stringify(report));
    })();
  }

  /** From the timer: a disk that refuses the write must not take the server down; the reports stay shown, only not kept. */
  #flushLogged(): void {
    try {
      this.flush();
    } catch (e) {
      logger('store').error({ failure: storageFailureOf(e), err: e instanceof Error ? e.message : String(e) }, 'last check reports not saved');
    }
  }
}
