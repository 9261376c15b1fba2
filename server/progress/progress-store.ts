// Per (session, lab) progress: which steps are done (and when, and whether skipped) and how many
// times each step was checked. An interface so the workshop issue can make it durable; this
// in-memory store is the solo-mode default.

export interface DoneStep {
  step: number;
  at: number;
  skipped: boolean;
}

export interface StepAttempts {
  /** Explicit checks (Check button, skip); automatic re-checks are not counted. */
  count: number;
  lastAt: number;
  lastPassed: boolean;
}

export interface LabProgress {
  done: DoneStep[];
  attempts: Record<number, StepAttempts>;
}

export interface ProgressStore {
  get(sessionId: string, labId: string): Promise<LabProgress>;
  /** Records one explicit check of a step. */
  recordAttempt(sessionId: string, labId: string, step: number, passed: boolean, at: number): Promise<void>;
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

  recordAttempt(sessionId: string, labId: string, step: number, passed: boolean, at: number): Promise<void> {
    const p = this.#entry(sessionId, labId);
    const prev = p.attempts[step];
    p.attempts[step] = { count: (prev?.count ?? 0) + 1, lastAt: at, lastPassed: passed };
    return Promise.resolve();
  }

  markDone(sessionId: string, labId: string, done: DoneStep): Promise<LabProgress> {
    const p = this.#entry(sessionId, labId);
    if (!p.done.some((d) => d.step === done.step)) {
      p.done.push({ ...done });
      p.done.sort((a, b) => a.step - b.step);
    }
    return Promise.resolve(copy(p));
  }
}
