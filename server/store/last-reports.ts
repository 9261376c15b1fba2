// The last check report shown to each attendee, kept durably so the instructor's dashboard
// still shows it after a restart. Written only when a report differs from the previous one.
import type { StepReport } from '../../common/checks.ts';
import type { Db } from './database.ts';

export class LastReports {
  readonly #get;
  readonly #set;
  readonly #clear;

  constructor(db: Db) {
    this.#get = db.prepare<[string], { report: string }>('SELECT report FROM last_reports WHERE session_id = ?');
    this.#set = db.prepare<[string, string, string]>(
      'INSERT INTO last_reports (session_id, lab_id, report) VALUES (?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET lab_id = excluded.lab_id, report = excluded.report',
    );
    this.#clear = db.prepare<[string]>('DELETE FROM last_reports WHERE session_id = ?');
  }

  get(sessionId: string): StepReport | undefined {
    const row = this.#get.get(sessionId);
    // Written by this code from a StepReport; the database is the server's own.
    return row ? (JSON.parse(row.report) as StepReport) : undefined;
  }

  set(sessionId: string, labId: string, report: StepReport): void {
    this.#set.run(sessionId, labId, JSON.stringify(report));
  }

  clear(sessionId: string): void {
    this.#clear.run(sessionId);
  }
}
