// Composes a durable, workshop-capable server: the SQLite store, environments re-adopted after
// a restart, durable progress, the workshop service and routes, instructor login, the dashboard
// socket (with read-only mirrors) and attendee presence. server/compose.ts builds it for serve, e2e, the benches and the demo.
import { Router } from 'express';
import { pidAlive } from '../../provisioning/image/dir-lock.ts';
import { BootQueue, queuedProvider } from '../../provisioning/boot-queue.ts';
import { POOL_OWNER, PoolSet } from '../../provisioning/pool-set.ts';
import type { Environment, Provider } from '../../provisioning/provider.ts';
import { providerView } from '../../provisioning/provider.ts';
import type { AppDeps } from '../app.ts';
import { authRoutes } from '../auth/auth-routes.ts';
import type { InstructorCredential } from '../auth/instructor-credential.ts';
import { credentialFingerprint, instructorCredential } from '../auth/instructor-credential.ts';
import type { Config } from '../config.ts';
import type { LabViewSource } from '../http/lab-source.ts';
import { soloMode } from '../http/solo-mode.ts';
import { logger } from '../log.ts';
import { createLabChecks } from '../checks/lab-checks.ts';
import { StepSnapshots } from '../workspaces/step-snapshots.ts';
import { createClusterModule } from '../cluster/cluster-module.ts';
import { startSessionSweeper } from '../sessions/session-sweeper.ts';
import type { LabChecks } from '../checks/lab-checks.ts';
import type { DurableStore } from '../store/durable-store.ts';
import { openDurableStore } from '../store/durable-store.ts';
import type { WorkshopRecord } from '../store/workshop-records.ts';
import { workshopMirrorPolicy } from '../terminals/mirror-policy.ts';
import { createTerminalModule } from '../terminals/terminal-module.ts';
import { createLabWorkspaces } from './lab-workspaces.ts';
import { migrationLabs } from '../labs/migration-labs.ts';
import type { LabVersions, VersionedCatalog } from './lab-versions.ts';
import { labVersions } from './lab-versions.ts';
import type { LabWorkspaces } from './lab-workspaces.ts';
import { isSessionOwnerLabel } from '../workspaces/workspace-manager.ts';
import { createDashboardModule } from './dashboard-module.ts';
import { observedProgress } from './observed-progress.ts';
import { createPresenceModule } from './presence-module.ts';
import { authorizeHello, mirrorDirectory } from './workshop-access.ts';
import { workshopRoutes } from './workshop-routes.ts';
import { createPreviewService } from '../previews/preview-service.ts';
import type { PreviewServiceOptions } from '../previews/preview-service.ts';
import { createFaultFireModule, createFaultNoticeModule } from '../faults/fault-modules.ts';
import { FaultService } from '../faults/fault-service.ts';
import { CatchUpService } from '../catchup/catch-up-service.ts';
import { createHelpDashboardModule, createHelpPageModule } from '../help/help-modules.ts';
import { HelpService } from '../help/help-service.ts';
import { WorkshopService } from './workshop-service.ts';
import type { WorkshopServiceOptions } from './workshop-service.ts';
import { bootAheadRefusal, keptBootAheadRefusals, machineMemory } from './boot-ahead-guard.ts';
import type { MachineMemory } from './boot-ahead-guard.ts';
import { WorkshopPools } from './workshop-pools.ts';
import { withWarmConnections } from './warm-connections.ts';
import { SshPool } from '../ssh/ssh-pool.ts';
import { ShellHub } from '../terminals/shell-hub.ts';

/** Providers whose create() boots hosts on this machine (their creates go through the boot queue). */
const BOOTING_PROVIDERS = ['local', 'lxd'];

export interface WorkshopStackOptions {
  config: Readonly<Config>;
  catalog: VersionedCatalog;
  labs: LabViewSource;
  provider: Provider;
  recheckMs?: number;
  /** See WorkspaceManagerOptions.idleReleaseMs (e2e: hosts of a closed test page go after 10 s). Unset: kept while the server runs. */
  idleReleaseMs?: number;
  /** Benches only: a tmux session per terminal, so attendees sharing hosts do not share shells. */
  sessionName?: (host: string, channel: number, connectionId: string) => string;
  /**
   * Whether the provider boots hosts (boot queue and warm pools apply). Default: for the local and lxd
   * providers; tests set it for a fake.
   */
  bootsHosts?: boolean;
  /** Tests only: the machine's memory as the boot-ahead guard sees it (default: /proc/meminfo). */
  machineMemory?: () => MachineMemory;
  /** Tests only: how a preview reaches HOST:PORT (default: over the host's SSH connection). */
  previewConnect?: PreviewServiceOptions['connect'];
}

export interface WorkshopStack {
  readonly store: DurableStore;
  readonly workspaces: LabWorkspaces;
  readonly checks: LabChecks;
  readonly service: WorkshopService;
  readonly credential: InstructorCredential;
  /** Which lab version each session works on. */
  readonly versions: LabVersions;
  /** The lab views for startServer: by session (a workshop's pinned version), change notices by version. */
  readonly labs: LabViewSource;
  /** For startServer, together with `labs`. */
  readonly appDeps: Omit<AppDeps, 'labs'>;
  /**
   * Run once at start, before listening (after provider.recover()): frees what ended workshops
   * still hold, destroys a dead process's unclaimed pool hosts, and gives solo hosts an earlier
   * run left config.reconnectGraceMs to be claimed again by their session.
   */
  start(): Promise<void>;
  /** Stops timers and terminals, gives environments back, closes the store. */
  close(): Promise<void>;
}

/**
 * An environment a `labwright serve` made (warm pool, or a session's hosts) whose process is gone,
 * found with no session recording it: nobody will ever claim it. Environments a live process holds
 * (another server or the e2e server on the same data directory) and those of `labwright env up`
 * are left alone. A pid equal to ours belongs to a dead earlier process.
 */
export function isOrphanEnvironment(env: Environment): boolean {
  if (env.spec.owner !== POOL_OWNER && !isSessionOwnerLabel(env.spec.owner)) return false;
  const pid = env.creatorPid;
  return pid === undefined || pid === process.pid || !pidAlive(pid);
}

/**
 * The providers of the warm pools: each environment a refill makes is snapshotted as booted before the pool counts
 * it as ready, so a class claiming pooled hosts at once takes no snapshot of its first step (StepSnapshots.
 * takeAsBooted; 40 snapshots at once froze the hosts and copied files while the attendees waited). An environment
 * the pool gives up forgets its snapshot (the provider's destroy removes it from disk). One a claim creates because
 * the pool is empty is not snapshotted here: its first step takes its own as it opens, as without a pool.
 */
function pooledWithSnapshots(claims: Provider, refills: Provider, snapshots: StepSnapshots): { claims: Provider; refills: Provider } {
  if (!snapshots.supported) return { claims, refills };
  return {
    claims: providerView(claims, {
      destroy: (env) => {
        snapshots.forgetEnvironment(typeof env === 'string' ? env : env.id);
        return claims.destroy(env);
      },
    }),
    refills: providerView(refills, {
      create: async (spec, o) => {
        const env = await refills.create(spec, o);
        await snapshots.takeAsBooted(env);
        return env;
      },
    }),
  };
}

export function createWorkshopStack(opts: WorkshopStackOptions): WorkshopStack {
  const log = logger('workshops');
  const limits = opts.config.sessions;
  const store = openDurableStore(opts.config.dataDir, { sessionLimits: limits, labs: migrationLabs(opts.config.labsDir) });
  const versions = labVersions(opts.catalog, store, opts.labs);
  const credential = instructorCredential(opts.config.instructorToken);
  // Instructor sessions of another credential (changed, or generated afresh this run) end here.
  const staleInstructors = store.sessions.bindCredential(credentialFingerprint(credential.token, store.sessions.credentialKey()));
  if (staleInstructors.length > 0) log.info({ count: staleInstructors.length }, 'instructor sessions of an earlier credential ended');
  const mirrorPolicy = workshopMirrorPolicy(mirrorDirectory(store));
  // Providers that boot hosts get a boot queue: LABWRIGHT_BOOT_CONCURRENCY boots at once, in order of
  // arrival, attendees before pool refills; and warm pools. An inventory's hosts exist already.
  const booting = opts.bootsHosts ?? BOOTING_PROVIDERS.includes(opts.provider.name);
  const queue = booting ? new BootQueue(opts.config.bootConcurrency) : undefined;
  const booter = queue ? queuedProvider(opts.provider, queue, 'attendee') : opts.provider;
  // Each open workshop keeps environments of its lab warm (workshop-pools.ts): a joining attendee gets one at once.
  // A dashboard of a workshop booting hosts ahead shows how far it has come: told when a pool's ready count moves.
  const bootAheadMoved = (): void => {
    for (const w of store.workshops.open()) if (w.bootAhead) service.changed(w.id);
  };
  // "Reset this step": each step's snapshot as it opens, on the provider itself (the pool only makes hosts,
  // and snapshots them as booted before they count as ready: see pooledWithSnapshots).
  // LABWRIGHT_STEP_SNAPSHOTS=0: no snapshots, so the page and the dashboard offer the full reset only.
  const stepSnapshots = new StepSnapshots({ provider: opts.config.stepSnapshots ? opts.provider : { name: opts.provider.name }, records: store.stepSnapshots, log: logger('step-snapshots') });
  // The checks' and the terminals' connections, made ahead for hosts waiting in a pool (warm-connections.ts).
  const ssh = new SshPool();
  const hub = new ShellHub();
  const pooling = withWarmConnections(pooledWithSnapshots(booter, queue ? queuedProvider(opts.provider, queue, 'refill') : booter, stepSnapshots), {
    ssh,
    hub,
    log: logger('warm-pool'),
  });
  const pools = new PoolSet(pooling.claims, 0, logger('warm-pool'), { refillProvider: pooling.refills, onChange: bootAheadMoved });
  const workshopPools = new WorkshopPools({
    k: booting ? opts.config.poolSize : 0,
    enabled: booting,
    open: () =>
      store.workshops.open().map((w) => ({
        id: w.id,
        labId: w.labId,
        seats: w.capacity,
        hosted: store.workshops.hostedCount(w.id),
        ...(w.bootAhead ? { bootAhead: true } : {}),
      })),
    shape: (labId) => opts.labs.view(labId)?.meta,
    apply: (targets) => pools.setTargets(targets),
  });
  const memory = opts.machineMemory ?? machineMemory;
  const hostsOf = (id: string): number => opts.labs.view(id)?.meta.hosts.length ?? 1;
  /** Workshops whose boot-ahead the server turned off at start, and why (kept while it stays off). */
  const stoppedAhead = new Map<string, string>();
  /** At start: kept boot-aheads the memory no longer holds (soonest to expire first kept) are turned off, saying why. */
  const recheckBootAhead = (): void => {
    const kept = store.workshops
      .open()
      .filter((w) => w.bootAhead)
      .map((w) => ({ id: w.id, seats: Math.max(0, w.capacity - store.workshops.hostedCount(w.id)), hostsPerEnvironment: hostsOf(w.labId) }));
    for (const [id, refusal] of keptBootAheadRefusals(kept, memory())) {
      store.workshops.setBootAhead(id, false);
      stoppedAhead.set(id, `Boot hosts ahead was turned off when the server started: ${refusal}`);
      log.warn({ workshop: id, refusal }, 'boot ahead turned off at start');
    }
  };
  const bootAhead: WorkshopServiceOptions['bootAhead'] = booting
    ? {
        refusal: (labId, seats) => {
          // Hosts other workshops still have to boot ahead: not in MemAvailable yet.
          let pendingHosts = 0;
          const statuses = workshopPools.bootAheadStatuses((spec) => pools.readyOf(spec));
          for (const w of store.workshops.open()) {
            const st = w.bootAhead ? statuses.get(w.id) : undefined;
            if (st) pendingHosts += (st.of - st.ready) * hostsOf(w.labId);
          }
          return bootAheadRefusal({ environments: seats, hostsPerEnvironment: hostsOf(labId), pendingHosts, memory: memory() });
        },
        status: (w) => workshopPools.bootAheadStatus(w.id, (spec) => pools.readyOf(spec)),
        apply: () => {
          // Turned on again by the instructor: the server's reason for turning it off no longer applies.
          for (const id of [...stoppedAhead.keys()]) if (store.workshops.get(id)?.bootAhead !== false) stoppedAhead.delete(id);
          void workshopPools.refresh();
        },
        stopped: (w) => (w.bootAhead ? undefined : stoppedAhead.get(w.id)),
      }
    : undefined;
  const provider = providerView(opts.provider, {
    // A claim does not boot a replacement by itself: the targets are recomputed once the claimant is recorded
    // (after this resolves), so a class claiming hosts booted ahead does not boot surplus ones meanwhile.
    create: (spec, o) =>
      pools.claim(spec, o).then((env) => {
        setTimeout(() => void workshopPools.refresh(), 0);
        return env;
      }),
  });
  const warm = (): void => void workshopPools.refresh();
  const workspaces = createLabWorkspaces({
    provider,
    ssh,
    hub,
    labMeta: (id, sessionId) => versions.ofSession(sessionId, id)?.meta ?? opts.labs.view(id)?.meta,
    labReset: (id, sessionId) => versions.ofSession(sessionId, id)?.reset,
    mirrorPolicy,
    ownership: store.environments,
    // Asked before any hosts are made or handed out: none for a workshop that has ended or expired,
    // whoever asks (a reconnecting page, a mirror, a reset finishing after the end).
    admit: (sessionId, labId) => service.hostRefusal(sessionId, labId),
    ...(opts.sessionName ? { sessionName: opts.sessionName } : {}),
    ...(opts.idleReleaseMs !== undefined ? { idleReleaseMs: opts.idleReleaseMs } : {}),
    maxEnvironmentsPerSession: limits.environmentsPerSession,
    maxTerminalsPerSession: limits.terminalsPerSession,
  });
  // Bound late: the fault service needs the checks' targets, which need the workshop service.
  const faultsView = {
    lab: (w: WorkshopRecord) => faults.faultsOf(w),
    of: (sessionId: string) => faults.attendeeFaults(sessionId),
    forget: (sessionId: string) => faults.forget(sessionId),
  };
  const catchUpView = {
    of: (sessionId: string) => catchUp.statusOf(sessionId),
    forget: (sessionId: string) => catchUp.forget(sessionId),
  };
  // Raised hands, messages and the keyboard; bound late like the faults (it tells the dashboard).
  const help = new HelpService({ store, log: logger('help'), onWorkshopChange: (id) => service.changed(id) });
  const service = new WorkshopService({
    store,
    workspaces: workspaces.workspaces,
    labs: opts.labs,
    versions,
    log,
    onWorkshopOpen: warm,
    onJoin: (workshopId) => void workshopPools.joined(workshopId),
    ...(bootAhead ? { bootAhead } : {}),
    faults: faultsView,
    catchUp: catchUpView,
    help: { of: (sessionId) => help.rowOf(sessionId), forget: (sessionId) => help.forget(sessionId) },
    resetStep: (sessionId, labId) => checks.module.resetStep(sessionId, labId),
    // Its pages reload the lab and get their progress again, in the new version's order.
    onMoved: (sessionId) => {
      versions.moved(sessionId);
      void checks.module.refresh(sessionId).catch((e: unknown) => log.error({ err: e }, 'progress after a move not sent'));
    },
  });
  // The dashboard says when a workshop's lab file changes under it.
  const offLabChange = opts.labs.onChange((labId) => {
    for (const w of store.workshops.open()) if (w.labId === labId) service.changed(w.id);
  });
  const checks = createLabChecks({
    catalog: opts.catalog,
    labFor: (sessionId, labId) => versions.ofSession(sessionId, labId),
    workspaces: workspaces.workspaces,
    ssh: workspaces.ssh,
    progress: observedProgress(store.progress, (sessionId) => service.progressChanged(sessionId)),
    onReport: (sessionId, labId, report) => service.reportSeen(sessionId, labId, report),
    setupRecords: store.setups,
    snapshots: stepSnapshots,
    onSetupChange: (sessionId) => service.progressChanged(sessionId),
    ...(opts.recheckMs !== undefined ? { recheckMs: opts.recheckMs } : {}),
    checkRunsPerMinute: limits.checkRunsPerMinute,
    autoCheckConcurrency: limits.autoCheckConcurrency,
    // Bound late (the catch-up needs the checks' targets); asked only once pages run checks.
    catchUpReplays: (sessionId, step) => catchUp.replays(sessionId, step),
  });
  /** The ready environment of (session, lab): what the Cluster tab and faults act on. */
  const readyEnvironment = (sessionId: string, labId: string): Environment | undefined => {
    const ws = workspaces.workspaces.get(sessionId, labId);
    return ws?.state === 'ready' ? ws.env : undefined;
  };
  const cluster = createClusterModule({
    meta: (id) => opts.labs.view(id)?.meta,
    environment: readyEnvironment,
    target: (env) => checks.target(env),
  });
  const faults = new FaultService({
    store,
    workshopLab: (w) => versions.ofWorkshop(w),
    sessionLab: (sessionId, labId) => versions.ofSession(sessionId, labId),
    environment: readyEnvironment,
    target: (env) => checks.target(env),
    log: logger('faults'),
    onChange: (sessionId) => service.progressChanged(sessionId),
    ...(opts.recheckMs !== undefined ? { recheckMs: opts.recheckMs } : {}),
  });
  // Catch-up: the instructor replays the solutions of the steps before N on an attendee's hosts.
  const catchUp = new CatchUpService({
    store,
    lab: (sessionId, labId) => versions.ofSession(sessionId, labId),
    environment: readyEnvironment,
    target: (env) => checks.target(env),
    setups: checks.setups,
    progress: checks.progress,
    refreshPages: (sessionId) => checks.module.refresh(sessionId),
    onChange: (sessionId) => service.progressChanged(sessionId),
    log: logger('catch-up'),
  });
  const presence = createPresenceModule(service);
  // The dashboard's terminals: mirrors only, over the same SSH connections as the attendees'.
  const mirrors = createTerminalModule({
    workspaces: workspaces.workspaces,
    mirrorPolicy,
    hub: workspaces.terminals.hub,
    mirrorsOnly: { hostsOf: (id) => opts.labs.view(id)?.meta.hosts },
    // Read-write only while the attendee has handed this instructor the keyboard.
    mirrorKeyboard: { mayType: (requester, owner) => help.mayType(requester, owner), onChange: (l) => help.onKeyboardChange(l) },
    maxTerminalsPerSession: limits.terminalsPerSession,
  });
  // Service previews: the owner's environment (and the instructor's view of it), over the same SSH connections.
  const previews = createPreviewService({
    config: opts.config,
    labs: opts.labs,
    workspaces: workspaces.workspaces,
    ssh: workspaces.ssh,
    sessions: store.sessions,
    directory: mirrorDirectory(store),
    ...(opts.previewConnect ? { connect: opts.previewConnect } : {}),
  });
  const basePath = opts.config.basePath;
  const instructorRouter = Router();
  instructorRouter.use(authRoutes({ sessions: store.sessions, credential, basePath, log }));

  // Expired sessions go at start (before leftovers are settled, so their hosts are not kept) and
  // every 10 minutes; a running workshop's attendees never expire (see sqlite-session-store.ts).
  let sweeper: ReturnType<typeof startSessionSweeper> | undefined;

  let closing: Promise<void> | undefined;
  return {
    store,
    workspaces,
    checks,
    service,
    credential,
    versions,
    labs: versions.views,
    appDeps: {
      sessions: store.sessions,
      previews,
      gatewayModules: [...workspaces.modules, checks.module, cluster, presence, createFaultNoticeModule(faults), createHelpPageModule(help)],
      workshops: {
        routes: [instructorRouter, previews.routes, workshopRoutes({ store, service, catchUp, basePath, log, joinsPerAddressPerMinute: limits.joinsPerAddressPerMinute })],
        dashboardModules: [createDashboardModule(service, store), mirrors, createFaultFireModule(faults, store), createHelpDashboardModule(help)],
        authorizeHello: authorizeHello(store, { soloAllowed: soloMode(opts.config).on }),
      },
    },
    async start() {
      await service.sweep();
      await service.freeEnded();
      sweeper = startSessionSweeper({ sweep: () => store.sessions.sweep(), release: (id) => workspaces.workspaces.release(id), log });
      await sweeper.runNow();
      // Before the pools fill: only what earlier processes left is listed.
      const leftovers = await workspaces.workspaces.settleLeftovers({
        keep: (sessionId) => service.holdsHosts(sessionId),
        graceMs: opts.config.reconnectGraceMs,
        orphan: isOrphanEnvironment,
      });
      if (leftovers.kept.length + leftovers.waiting.length + leftovers.destroyed.length > 0) log.info(leftovers, 'environments of an earlier run settled');
      // Setup records of environments nobody owns any more (destroyed while the server was down).
      store.setups.prune();
      store.stepSnapshots.prune();
      if (booting) recheckBootAhead();
      warm();
    },
    close() {
      closing ??= (async () => {
        offLabChange();
        service.close();
        previews.close();
        faults.close();
        await catchUp.close();
        sweeper?.stop();
        await presence.close();
        checks.close();
        cluster.close();
        // A restart mid-workshop (upgrade, SIGTERM) keeps attendees' hosts and shells for the next
        // process; the workshop's end or expiry frees them. Solo hosts have no such owner: freed now.
        await workspaces.close({ keep: (sessionId) => service.holdsHosts(sessionId) });
        workshopPools.close();
        await pools.drain();
        store.close();
      })();
      return closing;
    },
  };
}
