// Runs workshops: create, join (capacity, expiry), extend, end, reset an attendee, and the
// expiry sweep that frees environments. Builds the dashboard snapshot and tells watchers when
// anything that changes it happens (progress, checks, presence, environments).
import type { StepReport } from '../../common/checks.ts';
import { currentStep, stepGates } from '../../common/gating.ts';
import type { Gate } from '../../common/gating.ts';
import { MAX_CAPACITY, MAX_MINUTES } from '../../common/http-api.ts';
import { CloseCode } from '../../common/protocol.ts';
import type { StepResetStatus } from '../../common/protocol.ts';
import type { AttendeeRow, BootAheadStatus, DashboardSnapshot, StepCell, WorkshopInfo } from '../../common/workshop.ts';
import type { AttendeeFault, FaultInfo } from '../../common/faults.ts';
import type { CatchUpStatus } from '../../common/catch-up.ts';
import { STUCK_AFTER_FAILURES, STUCK_AFTER_MS } from '../../common/workshop.ts';
import type { Lab } from '../../common/lab.ts';
import { stepDurations } from '../../common/room-heat.ts';
import type { ProgressExport, ProgressExportRow } from '../../common/workshop-export.ts';
import type { LabViewSource } from '../http/lab-source.ts';
import { doneMarks } from '../progress/gating.ts';
import type { LabVersions } from './lab-versions.ts';
import type { Logger } from '../log.ts';
import type { DurableStore } from '../store/durable-store.ts';
import type { SessionRecord } from '../store/sqlite-session-store.ts';
import type { JoinOutcome, WorkshopRecord } from '../store/workshop-records.ts';
import type { Refusal, WorkspaceManager } from '../workspaces/workspace-manager.ts';
import { WorkspaceError } from '../workspaces/workspace-manager.ts';

/** What an attendee's pages show once the workshop is over (the same words as a refused hello). */
const ENDED_REASON = 'This workshop has ended; its lab hosts were removed.';

/** Closes every open page of a session with a code and a reason the attendee reads. */
export type Kick = (sessionId: string, code: CloseCode, reason: string) => void;

export interface WorkshopServiceOptions {
  store: DurableStore;
  workspaces: WorkspaceManager;
  labs: LabViewSource;
  /** Which version of its lab each workshop runs (absent: every workshop follows the lab file). */
  versions?: LabVersions;
  /** The workshop moved to a new version of its lab: tell this attendee's pages. */
  onMoved?: (sessionId: string) => void;
  log: Logger;
  /** How often expired workshops are looked for. */
  sweepMs?: number;
  /** A workshop of this lab was created (e.g. start filling its warm pool). */
  onWorkshopOpen?: (labId: string) => void;
  /** An attendee joined this workshop (e.g. its warm pool's target moves). */
  onJoin?: (workshopId: string) => void;
  /**
   * "Boot hosts ahead for every seat" (workshop-pools.ts): why the machine cannot hold a workshop's free seats'
   * environments (undefined: they fit), how far the boot has come, and apply() after the option or the workshop
   * changed. Absent: this server's provider does not boot hosts, and the option is refused.
   */
  bootAhead?: {
    refusal(labId: string, seats: number): string | undefined;
    status(w: WorkshopRecord): BootAheadStatus | undefined;
    apply(): void;
    /** Why the server turned the option off at start (memory), while it stays off; see DashboardSnapshot.bootAheadStopped. */
    stopped?(w: WorkshopRecord): string | undefined;
  };
  /** Faults on demand (server/faults/): what the snapshot shows of them, and a reset forgets them. */
  faults?: { lab(w: WorkshopRecord): FaultInfo[]; of(sessionId: string): AttendeeFault[]; forget(sessionId: string): void };
  /** Catch-up (server/catchup/): where each attendee's stands, and a reset forgets it. */
  catchUp?: { of(sessionId: string): CatchUpStatus | undefined; forget(sessionId: string): void };
  /** "Reset step" (checks-module resetStep): puts an attendee's hosts back to the snapshot of their open step. */
  resetStep?: (sessionId: string, labId: string) => Promise<StepResetStatus>;
  /** The help loop (server/help/): what a row shows of it, and a reset lowers the hand and takes the keyboard back. */
  help?: { of(sessionId: string): Pick<AttendeeRow, 'hand' | 'keyboard'>; forget(sessionId: string): void };
}

export class WorkshopError extends Error {
  override name = 'WorkshopError';
  constructor(
    readonly code: 'bad-request' | 'not-found' | 'workshop-ended' | 'conflict',
    message: string,
  ) {
    super(message);
  }
}

export class WorkshopService {
  readonly #connections = new Map<string, number>();
  readonly #watchers = new Map<string, Set<() => void>>();
  readonly #kickers = new Set<Kick>();
  readonly #sweep: NodeJS.Timeout;
  readonly #envWatch = new Map<string, () => void>();

  constructor(private readonly opts: WorkshopServiceOptions) {
    this.#sweep = setInterval(() => void this.sweep(), opts.sweepMs ?? 5000);
    this.#sweep.unref();
  }

  // ---- instructor actions ----

  create(spec: { labId: string; capacity: number; minutes: number; bootAhead?: boolean | undefined }): WorkshopInfo {
    if (!this.opts.labs.view(spec.labId)) throw new WorkshopError('bad-request', `no working lab "${spec.labId}"`);
    if (!Number.isInteger(spec.capacity) || spec.capacity < 1 || spec.capacity > MAX_CAPACITY) {
      throw new WorkshopError('bad-request', `capacity must be a whole number from 1 to ${MAX_CAPACITY}`);
    }
    if (!Number.isInteger(spec.minutes) || spec.minutes < 1 || spec.minutes > MAX_MINUTES) {
      throw new WorkshopError('bad-request', `duration must be from 1 to ${MAX_MINUTES} minutes`);
    }
    if (spec.bootAhead === true) this.#checkBootAhead(spec.labId, spec.capacity);
    // The workshop keeps this version of the lab until the instructor moves it (moveToFile).
    const file = this.opts.versions?.fileVersion(spec.labId);
    const lab = file ? { source: file.source, hash: file.hash } : undefined;
    const w = this.opts.store.workshops.create({ labId: spec.labId, capacity: spec.capacity, expiresAt: Date.now() + spec.minutes * 60_000, ...(lab ? { lab } : {}), bootAhead: spec.bootAhead === true });
    this.opts.log.info({ workshop: w.id, lab: w.labId, capacity: w.capacity, version: w.labHash?.slice(0, 12), bootAhead: w.bootAhead }, 'workshop created');
    this.opts.onWorkshopOpen?.(w.labId);
    return this.info(w);
  }

  list(): WorkshopInfo[] {
    return this.opts.store.workshops.list().map((w) => this.info(w));
  }

  get(id: string): WorkshopRecord {
    const w = this.opts.store.workshops.get(id);
    if (!w) throw new WorkshopError('not-found', 'no such workshop');
    return w;
  }

  extend(id: string, minutes: number): WorkshopInfo {
    const w = this.get(id);
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > MAX_MINUTES) throw new WorkshopError('bad-request', `extend by 1 to ${MAX_MINUTES} minutes`);
    if (w.endedAt !== undefined) throw new WorkshopError('workshop-ended', 'this workshop has ended; its hosts are gone');
    // From now if it had already run out (but was not swept yet), else from its expiry.
    this.opts.store.workshops.setExpiry(id, Math.max(w.expiresAt, Date.now()) + minutes * 60_000);
    this.opts.log.info({ workshop: id, minutes }, 'workshop extended');
    this.changed(id);
    return this.info(this.get(id));
  }

  /**
   * "Boot hosts ahead for every seat" on or off. On: refused (conflict) when this machine's memory cannot hold
   * the free seats' environments, with the figures. Off: the environments booted ahead and not claimed go.
   */
  setBootAhead(id: string, on: boolean): WorkshopInfo {
    const w = this.get(id);
    if (w.endedAt !== undefined) throw new WorkshopError('workshop-ended', 'this workshop has ended; its hosts are gone');
    if (on === w.bootAhead) return this.info(w);
    if (on) this.#checkBootAhead(w.labId, w.capacity - this.opts.store.workshops.hostedCount(w.id));
    this.opts.store.workshops.setBootAhead(id, on);
    this.opts.log.info({ workshop: id, on }, 'boot hosts ahead for every seat');
    this.opts.bootAhead?.apply();
    this.changed(id);
    return this.info(this.get(id));
  }

  #checkBootAhead(labId: string, seats: number): void {
    const guard = this.opts.bootAhead;
    if (!guard) throw new WorkshopError('bad-request', 'this server does not boot lab hosts (its provider uses hosts that exist already), so there is nothing to boot ahead');
    if (this.opts.labs.view(labId)?.meta.vm) throw new WorkshopError('bad-request', 'this lab runs its hosts as virtual machines, which are not booted ahead');
    const refusal = guard.refusal(labId, seats);
    if (refusal) {
      this.opts.log.warn({ lab: labId, seats, refusal }, 'boot ahead refused');
      throw new WorkshopError('conflict', refusal);
    }
  }

  async end(id: string, reason: 'ended' | 'expired' = 'ended'): Promise<WorkshopInfo> {
    this.get(id);
    if (this.opts.store.workshops.end(id, reason)) {
      this.opts.log.info({ workshop: id, reason }, 'workshop over; freeing its environments');
      // Its environments booted ahead (or kept warm) and not claimed go now, not at the next refresh.
      this.opts.bootAhead?.apply();
    }
    await this.#free(this.get(id));
    this.changed(id);
    return this.info(this.get(id));
  }

  /**
   * Moves a running workshop to the lab file as it is now. Progress is kept by step id: new steps
   * are not done, removed ones drop out, and gating follows the new order. Attendees' pages reload
   * the lab. Refused when the file has errors or other hosts or services.
   */
  moveToFile(id: string): WorkshopInfo {
    const w = this.get(id);
    if (w.endedAt !== undefined || w.expiresAt <= Date.now()) throw new WorkshopError('workshop-ended', 'this workshop has ended');
    const versions = this.opts.versions;
    const standing = versions?.standing(w) ?? { kind: 'same' as const };
    if (standing.kind === 'same' || !versions) throw new WorkshopError('conflict', 'the lab file has not changed since this workshop’s version');
    if (!standing.movable) throw new WorkshopError('conflict', standing.reason);
    const file = versions.fileVersion(w.labId);
    if (!file) throw new WorkshopError('conflict', 'the lab file cannot be loaded now');
    this.opts.store.workshops.pinLab(id, { source: file.source, hash: file.hash });
    this.opts.log.info({ workshop: id, from: w.labHash?.slice(0, 12), to: file.hash.slice(0, 12) }, 'workshop moved to the new lab version');
    for (const a of this.opts.store.sessions.attendeesOf(id)) this.opts.onMoved?.(a.id);
    this.changed(id);
    return this.info(this.get(id));
  }

  /** New hosts and a clean slate for one attendee; their open pages reconnect to the new hosts. */
  async reset(workshopId: string, attendeeId: string): Promise<void> {
    const w = this.get(workshopId);
    const a = this.opts.store.sessions.byAttendeeId(attendeeId);
    if (!a || a.workshopId !== w.id) throw new WorkshopError('not-found', 'no such attendee in this workshop');
    // Expired but not swept yet counts as over: a reset would only destroy hosts hostRefusal then keeps from coming back.
    if (w.endedAt !== undefined || w.expiresAt <= Date.now()) throw new WorkshopError('workshop-ended', 'this workshop has ended');
    this.opts.log.info({ workshop: w.id, attendee: attendeeId }, 'resetting attendee');
    this.#kick(a.id, CloseCode.Replaced, 'your instructor reset your lab: reconnecting to fresh hosts');
    this.#envWatch.get(a.id)?.();
    this.#envWatch.delete(a.id);
    // Decided before the first await: the old hosts are out of use at once, and the new workspace
    // (this one, or one a reconnecting page asks for first) waits until they are destroyed.
    const freed = this.opts.workspaces.release(a.id);
    this.opts.store.progress.clear(a.id);
    this.opts.store.reports.clear(a.id);
    this.opts.faults?.forget(a.id);
    this.opts.catchUp?.forget(a.id);
    this.opts.help?.forget(a.id);
    this.opts.store.sessions.markReset(a.id, Date.now());
    this.#startEnvironment(a, w);
    this.changed(w.id);
    await freed;
  }

  /**
   * Puts one attendee's hosts back to how they were when their open step opened (progress and other steps
   * untouched). Answers where that ended: `unavailable` (with a code) means nothing was done — the dashboard
   * then offers the full reset.
   */
  async resetStep(workshopId: string, attendeeId: string): Promise<StepResetStatus> {
    const w = this.get(workshopId);
    const a = this.opts.store.sessions.byAttendeeId(attendeeId);
    if (!a || a.workshopId !== w.id) throw new WorkshopError('not-found', 'no such attendee in this workshop');
    if (w.endedAt !== undefined || w.expiresAt <= Date.now()) throw new WorkshopError('workshop-ended', 'this workshop has ended');
    if (!this.opts.resetStep) return { step: 0, state: 'unavailable', code: 'unsupported', message: 'this server cannot reset a step' };
    this.opts.log.info({ workshop: w.id, attendee: attendeeId }, 'resetting attendee step');
    const out = await this.opts.resetStep(a.id, w.labId);
    this.opts.log.info({ workshop: w.id, attendee: attendeeId, state: out.state, code: out.code }, 'attendee step reset ended');
    this.changed(w.id);
    return out;
  }

  // ---- attendees ----

  /** Joins with a display name; on success the attendee's hosts start being made at once. */
  join(token: string, displayName: string): JoinOutcome | undefined {
    const outcome = this.opts.store.workshops.join(token, displayName);
    if (outcome?.ok) {
      const w = this.get(outcome.session.workshopId ?? '');
      this.opts.log.info({ workshop: w.id, attendee: outcome.session.attendeeId }, 'attendee joined');
      this.#startEnvironment(outcome.session, w);
      this.opts.onJoin?.(w.id);
      this.changed(w.id);
    }
    return outcome;
  }

  /** Whether a workshop accepts attendees now, and why not. */
  state(w: WorkshopRecord, now = Date.now()): 'open' | 'full' | 'ended' | 'expired' {
    if (w.endedAt !== undefined) return w.endReason === 'expired' ? 'expired' : 'ended';
    if (w.expiresAt <= now) return 'expired';
    return this.opts.store.workshops.attendeeCount(w.id) >= w.capacity ? 'full' : 'open';
  }

  /**
   * Why a session may not have lab hosts now, or undefined when it may: an attendee only while
   * their workshop runs, and only its lab. The WorkspaceManager asks this before it hands out or
   * makes any hosts; it reads the store, so an end or expiry recorded a moment before is seen.
   */
  hostRefusal(sessionId: string, labId: string, now = Date.now()): Refusal | undefined {
    const rec = this.opts.store.sessions.record(sessionId);
    if (rec?.role !== 'attendee') return undefined;
    const w = rec.workshopId ? this.opts.store.workshops.get(rec.workshopId) : undefined;
    if (!w) return { code: CloseCode.Unauthorized, reason: 'your workshop no longer exists' };
    if (w.endedAt !== undefined || w.expiresAt <= now) return { code: CloseCode.WorkshopEnded, reason: ENDED_REASON };
    if (labId !== w.labId) return { code: CloseCode.Unauthorized, reason: `your workshop runs the lab "${w.labId}"` };
    return undefined;
  }

  /** Whether a session's hosts belong to a running workshop (kept across a server restart). */
  holdsHosts(sessionId: string, now = Date.now()): boolean {
    const rec = this.opts.store.sessions.record(sessionId);
    const w = rec?.role === 'attendee' && rec.workshopId ? this.opts.store.workshops.get(rec.workshopId) : undefined;
    return w !== undefined && w.endedAt === undefined && w.expiresAt > now;
  }

  // ---- events feeding the dashboard ----

  /** Progress or a check attempt of a session was stored. */
  progressChanged(sessionId: string): void {
    const w = this.opts.store.sessions.record(sessionId)?.workshopId;
    if (w) this.changed(w);
  }

  reportSeen(sessionId: string, labId: string, report: StepReport): void {
    const rec = this.opts.store.sessions.record(sessionId);
    if (rec?.role !== 'attendee' || !rec.workshopId) return;
    this.opts.store.reports.set(sessionId, labId, report);
    this.changed(rec.workshopId);
  }

  /** A page of a session connected (+1) or went away (-1). */
  presence(sessionId: string, delta: 1 | -1): void {
    const n = (this.#connections.get(sessionId) ?? 0) + delta;
    if (n <= 0) this.#connections.delete(sessionId);
    else this.#connections.set(sessionId, n);
    const rec = this.opts.store.sessions.record(sessionId);
    if (rec?.workshopId) {
      this.#watchEnvironment(rec);
      this.changed(rec.workshopId);
    }
  }

  onKick(kick: Kick): () => void {
    this.#kickers.add(kick);
    return () => this.#kickers.delete(kick);
  }

  /** Calls `listener` whenever the workshop's snapshot may have changed; returns an unsubscribe. */
  watch(workshopId: string, listener: () => void): () => void {
    let set = this.#watchers.get(workshopId);
    if (!set) this.#watchers.set(workshopId, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  changed(workshopId: string): void {
    for (const l of this.#watchers.get(workshopId) ?? []) l();
  }

  // ---- views ----

  info(w: WorkshopRecord): WorkshopInfo {
    const info: WorkshopInfo = {
      id: w.id,
      labId: w.labId,
      labTitle: this.#lab(w)?.meta.title ?? w.labId,
      capacity: w.capacity,
      attendeeCount: this.opts.store.workshops.attendeeCount(w.id),
      createdAt: w.createdAt,
      expiresAt: w.expiresAt,
      joinPath: `#/join/${w.joinToken}`,
    };
    if (w.endedAt !== undefined) info.endedAt = w.endedAt;
    if (w.endReason !== undefined) info.endReason = w.endReason;
    if (w.bootAhead && w.endedAt === undefined) info.bootAhead = true;
    return info;
  }

  snapshot(workshopId: string): DashboardSnapshot {
    const w = this.get(workshopId);
    const lab = this.#lab(w);
    const steps = lab?.steps.map((s) => s.title) ?? [];
    const ids = lab?.steps.map((s) => s.id) ?? [];
    const attendees = this.opts.store.sessions.attendeesOf(w.id).map((a) => this.#row(a, w, lab?.meta.gate ?? 'hard', ids));
    const snap: DashboardSnapshot = { workshop: this.info(w), steps, attendees, stuck: { afterMs: STUCK_AFTER_MS, afterFailures: STUCK_AFTER_FAILURES }, now: Date.now() };
    const standing = this.opts.versions?.standing(w);
    if (standing?.kind === 'changed') snap.labChanged = standing.movable ? { movable: true } : { movable: false, reason: standing.reason };
    const faults = this.opts.faults?.lab(w) ?? [];
    if (faults.length > 0) snap.faults = faults;
    const ahead = w.bootAhead && w.endedAt === undefined ? this.opts.bootAhead?.status(w) : undefined;
    if (ahead) snap.bootAhead = ahead;
    const stopped = w.endedAt === undefined ? this.opts.bootAhead?.stopped?.(w) : undefined;
    if (stopped) snap.bootAheadStopped = stopped;
    return snap;
  }

  /** The workshop's progress for export: one row per attendee and step (common/workshop-export.ts). */
  progressExport(workshopId: string, now = Date.now()): ProgressExport {
    const w = this.get(workshopId);
    const lab = this.#lab(w);
    const steps = lab?.steps ?? [];
    const ids = steps.map((st) => st.id);
    const rows: ProgressExportRow[] = [];
    for (const a of this.opts.store.sessions.attendeesOf(w.id)) {
      const row = this.#row(a, w, lab?.meta.gate ?? 'hard', ids);
      const p = this.opts.store.progress.getSync(a.id, w.labId);
      const doneAt = new Map(p.done.map((d) => [d.stepId, d.at]));
      steps.forEach((st, i) => {
        const at = doneAt.get(st.id);
        const spent = row.spentMs?.[i] ?? null;
        rows.push({
          attendee: row.name,
          attendeeId: row.id,
          step: i + 1,
          stepId: st.id,
          stepTitle: st.title,
          state: row.cells[i] ?? 'locked',
          doneAt: at === undefined ? null : new Date(at).toISOString(),
          seconds: spent === null ? null : Math.round(spent / 1000),
          attempts: p.attempts[st.id]?.count ?? 0,
          failedAttempts: p.attempts[st.id]?.failed ?? 0,
          replayed: row.replayed?.includes(i) ?? false,
        });
      });
    }
    return { workshop: { id: w.id, labId: w.labId, labTitle: this.info(w).labTitle, exportedAt: new Date(now).toISOString() }, rows };
  }

  /** The lab version a workshop runs. */
  #lab(w: WorkshopRecord): { meta: Lab['meta']; steps: readonly { id: string; title: string }[] } | undefined {
    return this.opts.versions?.ofWorkshop(w) ?? this.opts.labs.view(w.labId);
  }

  #row(a: SessionRecord, w: WorkshopRecord, gate: Gate, ids: readonly string[]): AttendeeRow {
    const p = this.opts.store.progress.getSync(a.id, w.labId);
    const stepCount = ids.length;
    const marks = doneMarks({ meta: { gate }, steps: ids.map((id) => ({ id })) }, p);
    const cells: StepCell[] = stepGates(gate, stepCount, marks);
    const current = currentStep(stepCount, marks);
    const lastDone = marks.reduce((t, d) => Math.max(t, d.at), 0);
    const failedTotal = Object.values(p.attempts).reduce((n, x) => n + x.failed, 0);
    const row: AttendeeRow = {
      id: a.attendeeId ?? '',
      name: a.displayName ?? '',
      joinedAt: a.createdAt,
      connected: (this.#connections.get(a.id) ?? 0) > 0,
      env: this.opts.workspaces.get(a.id, w.labId)?.state ?? 'none',
      cells,
      current,
      currentSince: marks.length > 0 ? lastDone : (a.resetAt ?? a.createdAt),
      failedOnCurrent: p.attempts[ids[current] ?? '']?.failed ?? 0,
      failedTotal,
      spentMs: stepDurations(stepCount, marks, a.resetAt ?? a.createdAt),
    };
    const last = this.opts.store.reports.get(a.id);
    if (last) row.lastReport = last;
    const envId = this.opts.workspaces.get(a.id, w.labId)?.env?.id;
    // The workshop's version's step, not the file's: an edit may have moved steps since.
    const stepId = ids[current];
    const setup = envId && stepId ? this.opts.store.setups.get(envId, stepId) : undefined;
    if (setup && setup.state !== 'ready') {
      row.setup = { step: current, state: setup.state };
      if (setup.host !== undefined) row.setup.host = setup.host;
      if (setup.reason !== undefined) row.setup.reason = setup.reason;
    }
    const faults = this.opts.faults?.of(a.id) ?? [];
    if (faults.length > 0) row.faults = faults;
    const replayed = marks.filter((m) => m.replayed === true).map((m) => m.step);
    if (replayed.length > 0) row.replayed = replayed;
    const catchUp = this.opts.catchUp?.of(a.id);
    if (catchUp) row.catchUp = catchUp;
    const help = this.opts.help?.of(a.id);
    if (help?.hand) row.hand = help.hand;
    if (help?.keyboard) row.keyboard = help.keyboard;
    return row;
  }

  // ---- expiry ----

  /** Ends workshops past their expiry and frees what ended workshops still hold. */
  async sweep(now = Date.now()): Promise<void> {
    for (const { id } of this.opts.store.workshops.open()) {
      // Read again right before ending (end() marks it in the same tick): freeing the workshops
      // before it may have taken minutes, and the instructor may have extended this one meanwhile.
      const w = this.opts.store.workshops.get(id);
      if (w && w.endedAt === undefined && w.expiresAt <= now) await this.end(w.id, 'expired').catch((e: unknown) => this.opts.log.error({ err: e, workshop: w.id }, 'expiry failed'));
    }
  }

  /** At start: a crash between "ended" and "freed" leaves environments; free them now. */
  async freeEnded(): Promise<void> {
    for (const w of this.opts.store.workshops.list()) {
      if (w.endedAt !== undefined) await this.#free(w);
    }
  }

  close(): void {
    clearInterval(this.#sweep);
    for (const off of this.#envWatch.values()) off();
    this.#envWatch.clear();
  }

  async #free(w: WorkshopRecord): Promise<void> {
    const reason = w.endReason === 'expired' ? 'This workshop has expired; its lab hosts were removed.' : 'The instructor ended this workshop; its lab hosts were removed.';
    const attendees = this.opts.store.sessions.attendeesOf(w.id);
    // Every page closed at once, not one attendee per destroy; hostRefusal already keeps any
    // page or mirror still connecting from getting hosts. The destroys run one after another.
    for (const a of attendees) {
      this.#kick(a.id, CloseCode.WorkshopEnded, reason);
      this.#envWatch.get(a.id)?.();
      this.#envWatch.delete(a.id);
    }
    for (const a of attendees) await this.opts.workspaces.release(a.id);
  }

  #kick(sessionId: string, code: CloseCode, reason: string): void {
    for (const k of this.#kickers) k(sessionId, code, reason);
  }

  #startEnvironment(a: SessionRecord, w: WorkshopRecord): void {
    try {
      this.opts.workspaces.acquire(a.id, w.labId);
      this.#watchEnvironment(a);
    } catch (e) {
      // Refused: the workshop ended (or expired) meanwhile, e.g. during a reset; no hosts, rightly.
      if (e instanceof WorkspaceError && e.code === 'refused') this.opts.log.info({ attendee: a.attendeeId, reason: e.message }, 'no environment: the workshop is over');
      else this.opts.log.error({ err: e, attendee: a.attendeeId }, 'could not start the attendee’s environment');
    }
  }

  /** Follows the attendee's env-status so the dashboard shows provisioning → ready. */
  #watchEnvironment(a: SessionRecord): void {
    if (this.#envWatch.has(a.id) || !a.workshopId) return;
    const w = this.opts.store.workshops.get(a.workshopId);
    if (!w || !this.opts.workspaces.get(a.id, w.labId)) return;
    let last = '';
    const off = this.opts.workspaces.subscribe(a.id, w.labId, (s) => {
      if (s.state === last) return;
      last = s.state;
      this.changed(w.id);
    });
    this.#envWatch.set(a.id, off);
  }
}
