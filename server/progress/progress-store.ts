// Per (session, lab) progress: which steps are done (and when, and whether skipped) and how many
// times each step was checked, keyed by step id (common/lab.ts), never by position: a lab edit that
// inserts or reorders steps leaves everyone's progress on the same steps. The in-memory store is
// the default for tests; the server keeps it in SQLite (server/store/sqlite-progress-store.ts).

export interface DoneStep {
  stepId: string;
  at: number;
  skipped: boolean;
  /** Done by the instructor's catch-up (its solution replayed), not by the attendee. */
  replayed?: boolean;
}

export interface StepAttempts {
  /** Explicit checks (Check button, skip); automatic re-checks are not counted. */
  count: number;
  lastAt: number;
  lastPassed: boolean;
}

export interface LabProgress {
  /** In the order they were done. Ids the lab no longer has stay stored and are ignored by gating. */
  done: DoneStep[];
  /** By step id. */
  attempts: Record<string, StepAttempts>;
}

export interface ProgressStore {
  get(sessionId: string, labId: string): Promise<LabProgress>;
  /** Records one explicit check of a step. */
  recordAttempt(sessionId: string, labId: string, stepId: string, passed: boolean, at: number): Promise<void>;
  /** Marks a step done; a step already done keeps its first time. Resolves once stored. */
  markDone(sessionId: string, labId: string, done: DoneStep): Promise<LabProgress>;
}

const key = (sessionId: string, labId: string): string => `${sessionId}\u0000${labId}`;

const copy = (p: LabProgress): LabProgress => ({ done: p.done.map((d) => ({ ...d })), attempts: Object.fromEntries(Object.entries(p.attempts).map(([k, v]) => [k, { ...v }])) });

export class MemoryProgressStore implements ProgressStore {
  readonly #byKey = new Map<string, LabProgress>();

  #entry(sessionId: string, labId: string): LabProgress {
    const k = key(sessionId, labId);
    let p = this.#byKey.get(k);
    if (!p) {
      p = { done: [], attempts: {} };
      this.#byKey.set(k, p);
    }
    return p;
  }

  get(sessionId: string, labId: string): Promise<LabProgress> {
    return Promise.resolve(copy(this.#entry(sessionId, labId)));
  }

  recordAttempt(sessionId: string, labId: string, stepId: string, passed: boolean, at: number): Promise<void> {
    const p = this.#entry(sessionId, labId);
    const prev = p.attempts[stepId];
    p.attempts[stepId] = { count: (prev?.count ?? 0) + 1, lastAt: at, lastPassed: passed };
    return Promise.resolve();
  }

  markDone(sessionId: string, labId: string, done: DoneStep): Promise<LabProgress> {
    const p = this.#entry(sessionId, labId);
    if (!p.done.some((d) => d.stepId === done.stepId)) p.done.push({ ...done });
    return Promise.resolve(copy(p));
  }
}
