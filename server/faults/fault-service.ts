// Faults on demand: an instructor fires one of the lab's faults on an attendee's hosts (the
// server runs its commands as root over its own SSH connection, like a solve block), then the
// fault's step checks are re-run on that attendee's hosts until they pass again: repaired.
// What was fired lives in memory: a restarted server forgets it (the hosts stay as they are).
// A workshop's faults are those of the lab version it is pinned to, not of the file as it is now.
import type { AttendeeFault, FaultInfo, FaultNotice, FireOutcome } from '../../common/faults.ts';
import type { Fault, Lab } from '../../common/lab.ts';
import type { Environment } from '../../provisioning/provider.ts';
import { runStepChecks } from '../checks/check-engine.ts';
import type { CheckTarget } from '../checks/check-target.ts';
import { execSolves } from '../checks/solve-runner.ts';
import type { Logger } from '../log.ts';
import type { DurableStore } from '../store/durable-store.ts';
import type { SessionRecord } from '../store/sqlite-session-store.ts';
import type { WorkshopRecord } from '../store/workshop-records.ts';

export class FaultError extends Error {
  override name = 'FaultError';
  constructor(
    readonly code: 'forbidden' | 'invalid-message' | 'unknown-fault',
    message: string,
  ) {
    super(message);
  }
}

export interface FaultServiceDeps {
  store: DurableStore;
  /** The full lab (with its faults) a workshop runs: the version it is pinned to. */
  workshopLab(w: WorkshopRecord): Lab | undefined;
  /** The full lab an attendee works on now (their workshop's version), whose step checks show a repair. */
  sessionLab(sessionId: string, labId: string): Lab | undefined;
  /** The attendee's ready environment, or undefined (provisioning, failed, none). */
  environment(sessionId: string, labId: string): Environment | undefined;
  target(env: Environment): CheckTarget;
  log: Logger;
  /** The faults of a session changed (fired, repaired): the dashboard and the attendee's pages are told. */
  onChange(sessionId: string): void;
  /** How often broken faults are re-checked; the lab page's auto re-check cadence by default. */
  recheckMs?: number;
}

interface Fired extends AttendeeFault {
  labId: string;
  fault: Fault;
  /** The id of the fault's step: a workshop moved to a new version re-checks that step wherever it now is. */
  stepId: string;
}

export class FaultService {
  /** session id → fault name → the last firing of it. */
  readonly #fired = new Map<string, Map<string, Fired>>();
  readonly #listeners = new Map<string, Set<() => void>>();
  readonly #timer: NodeJS.Timeout;
  #busy = false;

  constructor(private readonly deps: FaultServiceDeps) {
    this.#timer = setInterval(() => {
      if (this.#busy) return;
      this.#busy = true;
      this.recheck()
        .catch((e: unknown) => deps.log.error({ err: e }, 'fault re-check failed'))
        .finally(() => {
          this.#busy = false;
        });
    }, deps.recheckMs ?? 2500);
    this.#timer.unref();
  }

  /** The faults a workshop's lab version offers, for the dashboard. */
  faultsOf(w: WorkshopRecord): FaultInfo[] {
    return (this.deps.workshopLab(w)?.faults ?? []).map((f) => ({ name: f.name, title: f.title, host: f.host, step: f.step }));
  }

  /** Where each fault fired on a session stands, for the dashboard row. */
  attendeeFaults(sessionId: string): AttendeeFault[] {
    return [...(this.#fired.get(sessionId)?.values() ?? [])].map(({ name, firedAt, state, repairedAt, message }) => ({
      name,
      firedAt,
      state,
      ...(repairedAt !== undefined ? { repairedAt } : {}),
      ...(message !== undefined ? { message } : {}),
    }));
  }

  /** What the attendee's page of this lab shows: faults that really ran, never their names or commands. */
  notices(sessionId: string, labId: string): FaultNotice[] {
    const out: FaultNotice[] = [];
    for (const f of this.#fired.get(sessionId)?.values() ?? []) {
      if (f.labId !== labId || (f.state !== 'broken' && f.state !== 'repaired')) continue;
      out.push({ title: f.fault.title, host: f.fault.host, firedAt: f.firedAt, state: f.state, ...(f.repairedAt !== undefined ? { repairedAt: f.repairedAt } : {}) });
    }
    return out;
  }

  /** Calls `listener` when a session's faults change; returns an unsubscribe. */
  subscribe(sessionId: string, listener: () => void): () => void {
    let set = this.#listeners.get(sessionId);
    if (!set) this.#listeners.set(sessionId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#listeners.delete(sessionId);
    };
  }

  /**
   * Fires a fault of the workshop's lab for one attendee of that workshop, or for every attendee.
   * The caller has checked the instructor session. Throws FaultError for a request that makes no
   * sense (unknown workshop, fault or attendee); an attendee it cannot be fired for now (hosts
   * not ready, step not done yet, still broken) gets an outcome that says why.
   */
  async fire(workshopId: string, faultName: string, attendeeId?: string): Promise<FireOutcome[]> {
    const w = this.deps.store.workshops.get(workshopId);
    if (!w) throw new FaultError('invalid-message', 'no such workshop');
    if (w.endedAt !== undefined || w.expiresAt <= Date.now()) throw new FaultError('forbidden', 'this workshop has ended');
    const lab = this.deps.workshopLab(w);
    const fault = lab?.faults.find((f) => f.name === faultName);
    if (!lab || !fault) {
      const known = lab?.faults.map((f) => f.name) ?? [];
      throw new FaultError('unknown-fault', `the lab "${w.labId}" declares no fault "${faultName}"${known.length > 0 ? `; its faults: ${known.join(', ')}` : ''}`);
    }
    let targets: SessionRecord[];
    if (attendeeId === undefined) {
      targets = this.deps.store.sessions.attendeesOf(w.id);
    } else {
      const a = this.deps.store.sessions.attendeeOf(w.id, attendeeId);
      if (!a) throw new FaultError('forbidden', 'no such attendee in this workshop');
      targets = [a];
    }
    this.deps.log.info({ workshop: w.id, fault: fault.name, attendees: targets.length }, 'firing fault');
    return Promise.all(targets.map((a) => this.#fireOne(a, lab, fault)));
  }

  async #fireOne(a: SessionRecord, lab: Lab, fault: Fault): Promise<FireOutcome> {
    const who = { attendee: a.attendeeId ?? '', name: a.displayName ?? '' };
    const refuse = (message: string): FireOutcome => ({ ...who, ok: false, message });
    const env = this.deps.environment(a.id, lab.id);
    if (!env) return refuse('their hosts are not ready');
    const stepId = lab.steps[fault.step]?.id;
    const done = stepId !== undefined && this.deps.store.progress.getSync(a.id, lab.id).done.some((d) => d.stepId === stepId);
    if (!done || stepId === undefined) return refuse(`they have not finished step ${fault.step + 1} yet, whose checks would show the repair`);
    let mine = this.#fired.get(a.id);
    if (!mine) this.#fired.set(a.id, (mine = new Map<string, Fired>()));
    const prev = mine.get(fault.name);
    if (prev?.state === 'firing' || prev?.state === 'broken') return refuse('it is already fired and not repaired yet');
    const rec: Fired = { name: fault.name, labId: lab.id, fault, stepId, firedAt: Date.now(), state: 'firing' };
    mine.set(fault.name, rec);
    this.#changed(a.id);
    const [ran] = await execSolves(this.deps.target(env), [{ host: fault.host, code: fault.code, line: fault.line }]);
    if (!ran?.ok) {
      rec.state = 'failed';
      rec.message = `the fault's commands failed on ${fault.host}: ${ran?.detail ?? 'not run'}`;
      this.deps.log.warn({ attendee: a.attendeeId, fault: fault.name, detail: ran?.detail, stderr: ran?.stderr.slice(-500) }, 'fault did not run');
      this.#changed(a.id);
      return refuse(rec.message);
    }
    rec.state = 'broken';
    this.deps.log.info({ attendee: a.attendeeId, fault: fault.name }, 'fault fired');
    this.#changed(a.id);
    return { ...who, ok: true, message: `fired on ${fault.host}` };
  }

  /** Re-runs the step checks of every broken fault once; those that pass are repaired. */
  async recheck(): Promise<void> {
    const jobs: Promise<void>[] = [];
    for (const [sessionId, faults] of this.#fired) {
      for (const f of faults.values()) {
        if (f.state !== 'broken') continue;
        const env = this.deps.environment(sessionId, f.labId);
        const step = this.deps.sessionLab(sessionId, f.labId)?.steps.find((s) => s.id === f.stepId);
        if (!env || !step) continue;
        jobs.push(
          runStepChecks(this.deps.target(env), step).then((report) => {
            if (!report.passed || f.state !== 'broken') return;
            f.state = 'repaired';
            f.repairedAt = report.at;
            this.deps.log.info({ fault: f.name }, 'fault repaired');
            this.#changed(sessionId);
          }),
        );
      }
    }
    await Promise.all(jobs);
  }

  /** An attendee was reset (new hosts, clean slate): what was fired on the old hosts no longer applies. */
  forget(sessionId: string): void {
    if (this.#fired.delete(sessionId)) this.#changed(sessionId);
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #changed(sessionId: string): void {
    this.deps.onChange(sessionId);
    for (const l of this.#listeners.get(sessionId) ?? []) l();
  }
}
