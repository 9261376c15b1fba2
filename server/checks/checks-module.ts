// The checks feature on the WebSocket: `check-run` and `step-skip` with gating, `progress` on
// connect, and automatic re-checking of the open step while a page of (session, lab) is connected.
// A step with setup blocks is prepared first (setup-service.ts): `step-setup` tells the pages, its
// checks wait until it is ready, and `setup-retry` runs a failed one again.
import type { StepReport } from '../../common/checks.ts';
import type { Lab, Step } from '../../common/lab.ts';
import type { ServerMessage, StepResetStatus, StepSetupStatus } from '../../common/protocol.ts';
import type { Environment } from '../../provisioning/provider.ts';
import { AutoCheckQueue } from './auto-check-queue.ts';
import { runStepChecks } from './check-engine.ts';
import type { CheckTarget } from './check-target.ts';
import type { StepSetups } from './setup-service.ts';
import { typeSolves } from './solve-runner.ts';
import type { Logger } from '../log.ts';
import { logger } from '../log.ts';
import { RateWindow, waitText } from '../sessions/rate-window.ts';
import type { ConnectionContext } from '../ws/connection-context.ts';
import type { GatewayModule, MessageOf } from '../ws/gateway-module.ts';
import { completesOnPass, currentStep, isUnlocked, toProgressState } from '../progress/gating.ts';
import type { ProgressStore } from '../progress/progress-store.ts';

export interface ChecksModuleDeps {
  /** Told about every report sent to a page (the instructor dashboard shows the last one). */
  onReport?: (sessionId: string, labId: string, report: StepReport) => void;
  /** The full lab (with checks and solves) this session works on: its workshop's version, else the file's. */
  lab(sessionId: string, labId: string): Lab | undefined;
  /** The ready environment of (session, lab), or undefined while there is none (provisioning, failed). */
  environment(sessionId: string, labId: string): Environment | undefined;
  target(env: Environment): CheckTarget;
  progress: ProgressStore;
  /**
   * True while the instructor's catch-up is replaying this attendee's step (0-based): her checks of it still
   * report, but only the catch-up marks it done (as replayed) — else her page's re-check, seeing the replayed
   * solution take effect first, would mark the step as done by her.
   */
  catchUpReplays?: (sessionId: string, step: number) => boolean;
  /** Auto re-check period of the open step; 0 turns it off. */
  recheckMs?: number;
  /**
   * Automatic re-check runs in flight at once over every attendee (LABWRIGHT_AUTO_CHECK_CONCURRENCY);
   * the rest wait their turn in order. Default DEFAULT_AUTO_CHECK_CONCURRENCY. A pressed Check does not wait.
   */
  autoCheckConcurrency?: number;
  /** After a skip, how long its checks are retried for while the typed solution takes effect. */
  skipSettleMs?: number;
  /**
   * Check and Skip presses one session may make per minute, over all its pages; past that the
   * press is answered with a `too-many` error the page shows on the step. The automatic
   * re-check is paced by the server and does not count. Default 60.
   */
  checkRunsPerMinute?: number;
  /** Runs the setup blocks of the step that opens; without it, setup blocks are not run. */
  setups?: StepSetups;
  /**
   * "Reset this step" (server/workspaces/step-snapshots.ts): told when a step is open and prepared (it takes
   * the step's snapshot), and asked to put the hosts back to it. Without it, a reset is answered unavailable.
   */
  snapshots?: {
    stepOpened(env: Environment, step: Step): void;
    /** Puts env back to the snapshot of step; the status says done, unavailable (with a code) or failed. */
    reset(sessionId: string, labId: string, env: Environment, step: Step): Promise<Omit<StepResetStatus, 'step'>>;
  };
}

export interface ChecksModule extends GatewayModule {
  /** Tells the pages of (session, lab) where a step's setup stands (StepSetups.onChange). */
  setupChanged(sessionId: string, labId: string, status: StepSetupStatus): void;
  /** The hosts of (session, lab) are ready (or adopted): prepares the current step. */
  environmentReady(sessionId: string, labId: string, env: Environment): Promise<void>;
  /** The lab version of this session changed (its workshop moved): its pages get progress by the new order. */
  refresh(sessionId: string): Promise<void>;
  /**
   * Puts the hosts of (session, lab) back to how they were when the open step opened; the session's pages
   * are told (step-reset) as it starts and ends. The attendee's button and the instructor's dashboard use it.
   */
  resetStep(sessionId: string, labId: string): Promise<StepResetStatus>;
  /** Stops every auto re-check timer. */
  close(): void;
  /** The automatic re-check queue's figures (the bench's checks/s). */
  readonly autoChecks: Pick<AutoCheckQueue, 'started' | 'running' | 'waiting' | 'peak' | 'concurrency'>;
}

export const DEFAULT_RECHECK_MS = 2500;
/**
 * Why 16: a re-check of a lab host takes a few to some tens of ms, so 16 at once carry several
 * hundred runs a second — a room of 300 re-checking every 2.5 s needs ~120 — while a burst (everyone
 * reconnecting at once) costs the event loop and the hosts at most 16 runs at a time.
 */
export const DEFAULT_AUTO_CHECK_CONCURRENCY = 16;
/**
 * A room whose automatic re-check could not reach its hosts (an `error` result: unreachable,
 * timed out) waits twice as long before the next one, up to this: a run that times out holds a
 * slot of the shared queue for seconds, so dead hosts must not crowd out everyone else's checks.
 */
export const MAX_ERROR_BACKOFF_MS = 30_000;

/** The pages of one (session, lab): progress goes to all of them, and they share one re-check loop. */
interface Room {
  sessionId: string;
  labId: string;
  conns: Set<ConnectionContext>;
  /** The wait before the next automatic re-check is queued (null while queued or running). */
  timer: NodeJS.Timeout | null;
  /** Takes the room's re-check out of the queue if it has not started. */
  cancelQueued: (() => void) | null;
  /** No page left: the re-check chain stops. */
  closed: boolean;
  /** Automatic re-checks in a row that ended in an `error` result (backs the next one off). */
  errorStreak: number;
  /** What the last report sent for each step said, so unchanged automatic reports are not re-sent. */
  lastSent: Map<number, string>;
  /** Steps being skipped: auto re-check leaves them alone so the skip marks them done as skipped. */
  skipping: Set<number>;
  log: Logger;
}

const signature = (r: StepReport): string => JSON.stringify(r.results.map((x) => [x.status, x.host, x.message]));

export function createChecksModule(deps: ChecksModuleDeps): ChecksModule {
  const rooms = new Map<string, Room>();
  const recheckMs = deps.recheckMs ?? DEFAULT_RECHECK_MS;
  const skipSettleMs = deps.skipSettleMs ?? 15_000;
  const log = logger('checks');
  const presses = new RateWindow({ max: deps.checkRunsPerMinute ?? 60, windowMs: 60_000 });
  const autoQueue = new AutoCheckQueue({ concurrency: deps.autoCheckConcurrency ?? DEFAULT_AUTO_CHECK_CONCURRENCY });

  /** Counts a press of the session; false (and an error reply) past the per-minute budget. */
  function admit(ctx: ConnectionContext, ref: 'check-run' | 'step-skip' | 'setup-retry' | 'step-reset'): boolean {
    const waitMs = presses.take(ctx.session.id);
    if (waitMs === 0) return true;
    ctx.log.warn({ type: ref }, 'check refused: too many for this session');
    ctx.sendError('too-many', `too many checks: at most ${presses.max} a minute; try again in ${waitText(waitMs)}`, ref);
    return false;
  }

  const roomKey = (sessionId: string, labId: string): string => `${sessionId}\u0000${labId}`;
  const broadcast = (room: Room, msg: ServerMessage): void => {
    for (const c of room.conns) c.send(msg);
  };

  async function sendProgress(room: Room, lab: Lab): Promise<void> {
    const p = await deps.progress.get(room.sessionId, room.labId);
    broadcast(room, { type: 'progress', progress: toProgressState(lab, p) });
  }

  /** Sends the report and, if it passed, marks the step done (hard gate: only the current step). */
  async function settle(room: Room, lab: Lab, report: StepReport, opts: { explicit: boolean; skipped: boolean }): Promise<void> {
    const stepId = lab.steps[report.step]?.id;
    if (stepId === undefined) return;
    if (opts.explicit) await deps.progress.recordAttempt(room.sessionId, room.labId, stepId, report.passed, report.at);
    const sig = signature(report);
    if (opts.explicit || room.lastSent.get(report.step) !== sig) {
      room.lastSent.set(report.step, sig);
      broadcast(room, { type: 'check-report', report });
      deps.onReport?.(room.sessionId, room.labId, report);
    }
    if (!report.passed || deps.catchUpReplays?.(room.sessionId, report.step) === true) return;
    const p = await deps.progress.get(room.sessionId, room.labId);
    if (!completesOnPass(lab, p, report.step)) return;
    const after = await deps.progress.markDone(room.sessionId, room.labId, { stepId, at: report.at, skipped: opts.skipped });
    room.log.info({ step: stepId, skipped: opts.skipped }, 'step done');
    await sendProgress(room, lab);
    // The step that opens now is prepared (its setup runs once).
    const env = deps.environment(room.sessionId, room.labId);
    const next = lab.steps[currentStep(lab, after)];
    if (env && next) {
      deps.setups?.open(room.sessionId, room.labId, env, next);
      snapshotIfPrepared(env, next);
    }
  }

  /** A step that is open and prepared (no setup, or its setup ran) gets its snapshot (once; see StepSnapshots). */
  function snapshotIfPrepared(env: Environment, step: Step): void {
    if (deps.snapshots && (!deps.setups || deps.setups.prepared(env, step))) deps.snapshots.stepOpened(env, step);
  }

  /** Step resets running now, by room key: a second press (the page's, the instructor's) joins the first. */
  const resetting = new Map<string, Promise<StepResetStatus>>();
  /** What a running reset told its pages as it started (a page that presses meanwhile is told it again). */
  const resetRunning = new Map<string, StepResetStatus>();

  function resetStep(sessionId: string, labId: string, only?: number): Promise<StepResetStatus> {
    const k = roomKey(sessionId, labId);
    const running = resetting.get(k);
    if (running) return running;
    const job = resetStepNow(sessionId, labId, only).finally(() => {
      resetting.delete(k);
      resetRunning.delete(k);
    });
    resetting.set(k, job);
    return job;
  }

  async function resetStepNow(sessionId: string, labId: string, only?: number): Promise<StepResetStatus> {
    const lab = deps.lab(sessionId, labId);
    const env = deps.environment(sessionId, labId);
    if (!lab || !env) return { step: only ?? 0, state: 'unavailable', code: 'not-ready', message: 'the lab hosts are not ready' };
    const step = lab.steps[currentStep(lab, await deps.progress.get(sessionId, labId))];
    if (!step) return { step: only ?? 0, state: 'unavailable', code: 'not-current', message: 'every step is done: there is no open step to reset' };
    if (only !== undefined && only !== step.index) return { step: only, state: 'unavailable', code: 'not-current', message: 'only the step that is open now can be reset' };
    if (!deps.snapshots) return { step: step.index, state: 'unavailable', code: 'unsupported', message: 'this server cannot reset a step' };
    const room = rooms.get(roomKey(sessionId, labId));
    const tell = (s: StepResetStatus): void => {
      if (room) broadcast(room, { type: 'step-reset', reset: s });
    };
    const running: StepResetStatus = { step: step.index, state: 'running', message: 'Putting your hosts back to how they were when this step opened…' };
    resetRunning.set(roomKey(sessionId, labId), running);
    tell(running);
    const out: StepResetStatus = { step: step.index, ...(await deps.snapshots.reset(sessionId, labId, env, step)) };
    tell(out);
    if (room && out.state === 'done') {
      // The restored hosts have not been checked yet: the next report goes out even if it reads as before.
      room.lastSent.clear();
      await sendProgress(room, lab);
    }
    return out;
  }

  /** A step is checked only once prepared: an error (and false) while its setup runs or after it failed. */
  function preparedOrSay(ctx: ConnectionContext, env: Environment, step: Step, ref: 'check-run' | 'step-skip'): boolean {
    const setups = deps.setups;
    if (!setups || setups.prepared(env, step)) return true;
    const s = setups.open(ctx.session.id, ctx.labId, env, step);
    if (s?.state === 'ready') return true;
    ctx.sendError('not-ready', s?.state === 'failed' ? 'this step could not be prepared: press Retry' : 'this step is still being prepared; try again in a moment', ref);
    return false;
  }

  async function tick(room: Room): Promise<void> {
    const lab = deps.lab(room.sessionId, room.labId);
    const env = deps.environment(room.sessionId, room.labId);
    if (!lab || !env) return;
    const p = await deps.progress.get(room.sessionId, room.labId);
    const step = lab.steps[currentStep(lab, p)];
    // A step without checks is done by pressing Check (it is reading); re-checking it would skip it unread.
    if (!step || room.skipping.has(step.index)) return;
    // Not checked while its setup runs or after it failed; a step that opened without a page is prepared now.
    if (deps.setups && !deps.setups.prepared(env, step)) {
      deps.setups.open(room.sessionId, room.labId, env, step);
      return;
    }
    if (step.checks.length === 0) return;
    const report = await runStepChecks(deps.target(env), step);
    room.errorStreak = report.results.some((r) => r.status === 'error') ? room.errorStreak + 1 : 0;
    if (room.conns.size > 0) await settle(room, lab, report, { explicit: false, skipped: false });
  }

  /**
   * One chain per room: wait recheckMs, queue (the shared queue bounds runs over all rooms), run,
   * wait again. So a room never overlaps itself, and when the queue is long every room's period
   * stretches alike.
   */
  function scheduleRecheck(room: Room): void {
    if (recheckMs <= 0 || room.closed || room.timer || room.cancelQueued) return;
    const delay = room.errorStreak === 0 ? recheckMs : Math.min(MAX_ERROR_BACKOFF_MS, recheckMs * 2 ** Math.min(room.errorStreak, 16));
    room.timer = setTimeout(() => {
      room.timer = null;
      if (room.closed) return;
      room.cancelQueued = autoQueue.add(() =>
        tick(room)
          .catch((e: unknown) => room.log.error({ err: e }, 'auto re-check failed'))
          .finally(() => {
            room.cancelQueued = null;
            scheduleRecheck(room);
          }),
      );
    }, Math.max(recheckMs, delay));
    room.timer.unref();
  }

  function closeRoom(room: Room): void {
    room.closed = true;
    if (room.timer) clearTimeout(room.timer);
    room.timer = null;
    room.cancelQueued?.();
  }

  function join(ctx: ConnectionContext): Room {
    const k = roomKey(ctx.session.id, ctx.labId);
    let room = rooms.get(k);
    if (!room) {
      room = { sessionId: ctx.session.id, labId: ctx.labId, conns: new Set(), timer: null, cancelQueued: null, closed: false, errorStreak: 0, lastSent: new Map(), skipping: new Set(), log: ctx.log.child({ component: 'checks' }) };
      rooms.set(k, room);
    }
    room.conns.add(ctx);
    const r = room;
    ctx.onClose(() => {
      r.conns.delete(ctx);
      if (r.conns.size === 0) {
        closeRoom(r);
        rooms.delete(k);
      }
    });
    scheduleRecheck(room);
    return room;
  }

  const roomOf = (ctx: ConnectionContext): Room | undefined => rooms.get(roomKey(ctx.session.id, ctx.labId));

  /** Common preconditions of check-run and step-skip; undefined when an error was sent. */
  async function prepare(ctx: ConnectionContext, step: number, ref: 'check-run' | 'step-skip'): Promise<{ room: Room; lab: Lab; env: Environment } | undefined> {
    const lab = deps.lab(ctx.session.id, ctx.labId);
    const room = roomOf(ctx);
    if (!lab || !room) {
      ctx.sendError('not-ready', 'this lab cannot be checked right now', ref);
      return undefined;
    }
    if (step >= lab.steps.length) {
      ctx.sendError('unknown-step', `this lab has ${lab.steps.length} steps`, ref);
      return undefined;
    }
    if (!isUnlocked(lab, await deps.progress.get(room.sessionId, room.labId), step)) {
      ctx.sendError('step-locked', `step ${step + 1} is locked: finish the previous steps first`, ref);
      return undefined;
    }
    const env = deps.environment(room.sessionId, room.labId);
    if (!env) {
      ctx.sendError('not-ready', 'your hosts are not ready yet', ref);
      return undefined;
    }
    return { room, lab, env };
  }

  async function checkRun(ctx: ConnectionContext, msg: MessageOf<'check-run'>): Promise<void> {
    if (!admit(ctx, 'check-run')) return;
    const ready = await prepare(ctx, msg.step, 'check-run');
    if (!ready) return;
    const step = ready.lab.steps[msg.step];
    if (!step || !preparedOrSay(ctx, ready.env, step, 'check-run')) return;
    const report = await runStepChecks(deps.target(ready.env), step);
    await settle(ready.room, ready.lab, report, { explicit: true, skipped: false });
  }

  async function stepSkip(ctx: ConnectionContext, msg: MessageOf<'step-skip'>): Promise<void> {
    if (!admit(ctx, 'step-skip')) return;
    const lab = deps.lab(ctx.session.id, ctx.labId);
    const step = lab?.steps[msg.step];
    if (lab && step && (!lab.meta.allowSkip || step.solves.length === 0)) {
      ctx.sendError('forbidden', 'this step cannot be skipped', 'step-skip');
      return;
    }
    const ready = await prepare(ctx, msg.step, 'step-skip');
    if (!ready || !step || !preparedOrSay(ctx, ready.env, step, 'step-skip')) return;
    const { room } = ready;
    if (room.skipping.has(step.index)) return;
    room.skipping.add(step.index);
    try {
      const target = deps.target(ready.env);
      const solved = await typeSolves(target, step.solves);
      const failed = solved.find((s) => !s.ok);
      if (failed) room.log.warn({ step: step.index, host: failed.host, detail: failed.detail }, 'skip: a solve block failed');
      // The solution may take a moment to show (a unit starting, a lease appearing): retry briefly.
      const until = Date.now() + skipSettleMs;
      let report = await runStepChecks(target, step);
      while (!report.passed && Date.now() < until && room.conns.size > 0) {
        await new Promise((r) => setTimeout(r, 500));
        report = await runStepChecks(target, step);
      }
      await settle(room, ready.lab, report, { explicit: true, skipped: true });
    } finally {
      room.skipping.delete(step.index);
    }
  }

  async function setupRetry(ctx: ConnectionContext, msg: MessageOf<'setup-retry'>): Promise<void> {
    if (!admit(ctx, 'setup-retry')) return;
    const lab = deps.lab(ctx.session.id, ctx.labId);
    const env = deps.environment(ctx.session.id, ctx.labId);
    const step = lab?.steps[msg.step];
    if (!lab || !env || !deps.setups) {
      ctx.sendError('not-ready', 'your hosts are not ready yet', 'setup-retry');
      return;
    }
    // Only the step that is open now: a retry never prepares a step ahead of the attendee.
    if (!step || currentStep(lab, await deps.progress.get(ctx.session.id, ctx.labId)) !== step.index) {
      ctx.sendError('step-locked', 'only the current step can be prepared again', 'setup-retry');
      return;
    }
    const s = deps.setups.retry(ctx.session.id, ctx.labId, env, step);
    if (s) ctx.send({ type: 'step-setup', setup: s });
  }

  async function stepReset(ctx: ConnectionContext, msg: MessageOf<'step-reset'>): Promise<void> {
    if (!admit(ctx, 'step-reset')) return;
    // A reset of these hosts runs already (another page's press, the instructor's): this press joins it.
    const running = resetRunning.get(roomKey(ctx.session.id, ctx.labId));
    if (running) ctx.send({ type: 'step-reset', reset: running });
    const out = await resetStep(ctx.session.id, ctx.labId, msg.step);
    // Refusals are told to the asking page only (the others saw nothing start).
    if (out.state === 'unavailable') ctx.send({ type: 'step-reset', reset: out });
  }

  /** Prepares the current step of (session, lab) and returns where its setup stands. */
  async function openCurrent(sessionId: string, labId: string, env: Environment): Promise<StepSetupStatus | undefined> {
    const lab = deps.lab(sessionId, labId);
    if (!lab || !deps.setups) return undefined;
    const step = lab.steps[currentStep(lab, await deps.progress.get(sessionId, labId))];
    if (!step) return undefined;
    const s = deps.setups.open(sessionId, labId, env, step);
    snapshotIfPrepared(env, step);
    return s;
  }

  return {
    name: 'checks',
    autoChecks: autoQueue,
    setupChanged(sessionId, labId, status) {
      const room = rooms.get(roomKey(sessionId, labId));
      if (room) broadcast(room, { type: 'step-setup', setup: status });
      if (status.state === 'ready' && deps.snapshots) {
        // The open step is prepared now: its snapshot holds what the setup made.
        const env = deps.environment(sessionId, labId);
        const step = deps.lab(sessionId, labId)?.steps[status.step];
        if (env && step) {
          void deps.progress.get(sessionId, labId).then((p) => {
            const lab = deps.lab(sessionId, labId);
            if (lab && currentStep(lab, p) === step.index) snapshotIfPrepared(env, step);
          });
        }
      }
    },
    resetStep: (sessionId, labId) => resetStep(sessionId, labId),
    async environmentReady(sessionId, labId, env) {
      const setup = await openCurrent(sessionId, labId, env);
      // A page that connected before the hosts were ready (a restart re-adopting them, a reset) was
      // told nothing: a setup that failed earlier must reach it too, with its Retry.
      const room = rooms.get(roomKey(sessionId, labId));
      if (setup && room) broadcast(room, { type: 'step-setup', setup });
    },
    async onConnect(ctx) {
      const room = join(ctx);
      // A new page has seen no report yet: the next automatic check is sent even if unchanged.
      room.lastSent.clear();
      const lab = deps.lab(ctx.session.id, ctx.labId);
      if (!lab) return;
      const p = await deps.progress.get(room.sessionId, room.labId);
      ctx.send({ type: 'progress', progress: toProgressState(lab, p) });
      const env = deps.environment(room.sessionId, room.labId);
      const setup = env ? await openCurrent(room.sessionId, room.labId, env) : undefined;
      if (setup) ctx.send({ type: 'step-setup', setup });
    },
    handlers: { 'check-run': checkRun, 'step-skip': stepSkip, 'setup-retry': setupRetry, 'step-reset': stepReset },
    async refresh(sessionId) {
      for (const room of rooms.values()) {
        if (room.sessionId !== sessionId) continue;
        const lab = deps.lab(room.sessionId, room.labId);
        room.lastSent.clear();
        if (lab) await sendProgress(room, lab);
      }
    },
    close() {
      for (const room of rooms.values()) closeRoom(room);
      rooms.clear();
      log.debug('closed');
    },
  };
}
