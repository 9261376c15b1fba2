// Wires the checks feature into the server: the checks gateway module over the lab catalogue, the
// workspaces (whose ready environment is checked) and the shared SSH pool, with an etcd client
// per environment that is closed when the environment is released. `serve` and e2e use it.
import type { Lab } from '../../common/lab.ts';
import type { Environment } from '../../provisioning/provider.ts';
import type { CheckTarget } from './check-target.ts';
import { EtcdClients, WarmShells, environmentTarget } from './env-target.ts';
import type { SshPool } from '../ssh/ssh-pool.ts';
import type { WorkspaceManager } from '../workspaces/workspace-manager.ts';
import type { ChecksModule, ChecksModuleDeps } from './checks-module.ts';
import { StepSetups } from './setup-service.ts';
import type { SetupRecords } from './setup-records.ts';
import { MemorySetupRecords } from './setup-records.ts';
import type { StepResetStatus, StepSetupStatus } from '../../common/protocol.ts';
import { logger } from '../log.ts';
import { createChecksModule } from './checks-module.ts';
import { StepSnapshotError } from '../workspaces/step-snapshots.ts';
import type { StepSnapshots } from '../workspaces/step-snapshots.ts';
import type { ProgressStore } from '../progress/progress-store.ts';
import { MemoryProgressStore } from '../progress/progress-store.ts';

export interface LabChecksOptions {
  /** The lab catalogue (or anything answering `get(id)` with a lint result). */
  catalog: { get(id: string): { ok: true; lab: Lab } | { ok: false } | undefined };
  /** The lab version a session works on (a workshop's pinned one); without it, the catalogue's. */
  labFor?: (sessionId: string, labId: string) => Lab | undefined;
  workspaces: Pick<WorkspaceManager, 'get' | 'onRelease' | 'onReady'> & Partial<Pick<WorkspaceManager, 'restoreHosts'>>;
  /** "Reset this step": snapshots taken as steps open, restored on request (needs workspaces.restoreHosts). */
  snapshots?: StepSnapshots;
  ssh: SshPool;
  /** Defaults to in-memory progress (solo mode). */
  progress?: ProgressStore;
  recheckMs?: number;
  /** See ChecksModuleDeps.onReport. */
  onReport?: ChecksModuleDeps['onReport'];
  /** See ChecksModuleDeps.checkRunsPerMinute. */
  checkRunsPerMinute?: number;
  /** See ChecksModuleDeps.autoCheckConcurrency. */
  autoCheckConcurrency?: number;
  /** See ChecksModuleDeps.catchUpReplays. */
  catchUpReplays?: (sessionId: string, step: number) => boolean;
  /** Where steps' setups stand per environment; defaults to memory (solo tests). */
  setupRecords?: SetupRecords;
  /** Told when a step's setup changes state (the dashboard shows a running or failed one). */
  onSetupChange?: (sessionId: string, labId: string, status: StepSetupStatus) => void;
}

export interface LabChecks {
  /** For startServer's gatewayModules. */
  readonly module: ChecksModule;
  readonly progress: ProgressStore;
  readonly setups: StepSetups;
  /** The check connection of an environment (warm shells, its etcd client): the Cluster tab reads through it too. */
  target(env: Environment): CheckTarget;
  close(): void;
}

export function createLabChecks(opts: LabChecksOptions): LabChecks {
  const etcd = new EtcdClients();
  const warm = new WarmShells();
  const progress = opts.progress ?? new MemoryProgressStore();
  const records = opts.setupRecords ?? new MemorySetupRecords();
  const target = (env: Environment): CheckTarget => environmentTarget(env, opts.ssh, etcd, warm);
  const setups = new StepSetups({
    records,
    target,
    onChange: (sessionId, labId, status) => {
      module.setupChanged(sessionId, labId, status);
      opts.onSetupChange?.(sessionId, labId, status);
    },
  });
  const unsubscribe = opts.workspaces.onRelease((env) => {
    etcd.close(env.id);
    warm.close(env.id);
    // New hosts start from scratch: every step's setup runs again on them.
    setups.forgetEnvironment(env.id);
    opts.snapshots?.forgetEnvironment(env.id);
  });
  // Step 1 opens when the hosts are ready, whether or not a page shows them yet.
  const unready = opts.workspaces.onReady((sessionId, labId, env) => {
    module.environmentReady(sessionId, labId, env).catch((e: unknown) => logger('checks').error({ err: e }, 'could not prepare the first step'));
  });
  const module = createChecksModule({
    lab: (sessionId, labId) => {
      if (opts.labFor) return opts.labFor(sessionId, labId);
      const load = opts.catalog.get(labId);
      return load?.ok ? load.lab : undefined;
    },
    environment: (sessionId, labId) => {
      const ws = opts.workspaces.get(sessionId, labId);
      return ws?.state === 'ready' ? ws.env : undefined;
    },
    target,
    progress,
    setups,
    ...(opts.snapshots && opts.workspaces.restoreHosts ? { snapshots: stepResets(opts.snapshots, opts.workspaces.restoreHosts.bind(opts.workspaces)) } : {}),
    ...(opts.recheckMs !== undefined ? { recheckMs: opts.recheckMs } : {}),
    ...(opts.onReport ? { onReport: opts.onReport } : {}),
    ...(opts.checkRunsPerMinute !== undefined ? { checkRunsPerMinute: opts.checkRunsPerMinute } : {}),
    ...(opts.autoCheckConcurrency !== undefined ? { autoCheckConcurrency: opts.autoCheckConcurrency } : {}),
    ...(opts.catchUpReplays ? { catchUpReplays: opts.catchUpReplays } : {}),
  });
  return {
    module,
    progress,
    setups,
    target,
    close() {
      module.close();
      unsubscribe();
      unready();
      etcd.closeAll();
      warm.closeAll();
    },
  };
}

/** The checks module's view of the step snapshots: the restore runs inside the workspace's restoreHosts. */
function stepResets(snapshots: StepSnapshots, restoreHosts: WorkspaceManager['restoreHosts']): NonNullable<Parameters<typeof createChecksModule>[0]['snapshots']> {
  return {
    stepOpened: (env, step) => void snapshots.stepOpened(env, step),
    async reset(sessionId, labId, env, step): Promise<Omit<StepResetStatus, 'step'>> {
      try {
        await snapshots.restore(env, step, (restore) => restoreHosts(sessionId, labId, 'Putting the hosts back to how they were when this step opened…', restore));
        return { state: 'done', message: 'This step was reset: your hosts are as they were when it opened.' };
      } catch (e) {
        if (e instanceof StepSnapshotError && e.code !== 'failed') return { state: 'unavailable', code: e.code, message: e.message };
        return { state: 'failed', code: 'failed', message: `This step could not be reset (${e instanceof Error ? e.message : String(e)}); your lab hosts were replaced by fresh ones.` };
      }
    },
  };
}
