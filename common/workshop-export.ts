// A workshop's progress as the instructor exports it (JSON, or CSV for a spreadsheet): one row per
// attendee and step — its standing, when it was done, how long it took, how often it was checked.
import type { StepCell } from './workshop.ts';

export interface ProgressExportRow {
  attendee: string;
  /** The attendee's public handle (as on the dashboard), not their session. */
  attendeeId: string;
  /** 1-based, as the lab page numbers steps. */
  step: number;
  stepId: string;
  stepTitle: string;
  state: StepCell;
  /** ISO 8601, when the step was done or skipped; null while not. */
  doneAt: string | null;
  /** Seconds spent on the step before it was done; null while not done. */
  seconds: number | null;
  /** Explicit checks (Check button, skip), and how many of them failed. */
  attempts: number;
  failedAttempts: number;
  /** Done by the instructor's catch-up (its solution replayed), not by the attendee. */
  replayed: boolean;
}

export interface ProgressExport {
  workshop: { id: string; labId: string; labTitle: string; exportedAt: string };
  rows: ProgressExportRow[];
}

const COLUMNS: readonly (keyof ProgressExportRow)[] = ['attendee', 'attendeeId', 'step', 'stepId', 'stepTitle', 'state', 'doneAt', 'seconds', 'attempts', 'failedAttempts', 'replayed'];

/**
 * One CSV field (RFC 4180 quoting). Text a spreadsheet would run as a formula (=, +, -, @, tab, CR
 * first) gets a leading apostrophe: attendee names are typed by attendees.
 */
export function csvField(v: string | number | boolean | null): string {
  if (v === null) return '';
  let s = String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function progressCsv(e: ProgressExport): string {
  const lines = [COLUMNS.join(','), ...e.rows.map((r) => COLUMNS.map((c) => csvField(r[c])).join(','))];
  return `${lines.join('\r\n')}\r\n`;
}
