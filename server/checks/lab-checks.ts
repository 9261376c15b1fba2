// Wires the checks feature into the server: the checks gateway module over the lab catalogue, the
// workspaces (whose ready environment is checked) and the shared SSH pool, with an etcd client
// per environment that is closed when the environment is released. `serve` and e2e use it.
import type { Lab } from '../../common/lab.ts';
import { EtcdClients, WarmShells, environmentTarget } from './env-target.ts';
import type { SshPool } from '../ssh/ssh-pool.ts';
import type { WorkspaceManager } from '../workspaces/workspace-manager.ts';
import type { ChecksModule, ChecksModuleDeps } from './checks-module.ts';
import { createChecksModule } from './checks-module.ts';
import type { ProgressStore } from '../progress/progress-store.ts';
import { MemoryProgressStore } from '../progress/progress-store.ts';

export interface LabChecksOptions {
  /** The lab catalogue (or anything answering `get(id)` with a lint result). */
  catalog: { get(id: string): { ok: true; lab: Lab } | { ok: false } | undefined };
  workspaces: Pick<WorkspaceManager, 'get' | 'onRelease'>;
  ssh: SshPool;
  /** Defaults to in-memory progress (solo mode). */
  progress?: ProgressStore;
  recheckMs?: number;
  /** See ChecksModuleDeps.onReport. */
  onReport?: ChecksModuleDeps['onReport'];
  /** See ChecksModuleDeps.checkRunsPerMinute. */
  checkRunsPerMinute?: number;
}

export interface LabChecks {
  /** For startServer's gatewayModules. */
  readonly module: ChecksModule;
  readonly progress: ProgressStore;
  close(): void;
}

export function createLabChecks(opts: LabChecksOptions): LabChecks {
  const etcd = new EtcdClients();
  const warm = new WarmShells();
  const progress = opts.progress ?? new MemoryProgressStore();
  const unsubscribe = opts.workspaces.onRelease((env) => {
    etcd.close(env.id);
    warm.close(env.id);
  });
  const module = createChecksModule({
    lab: (id) => {
      const load = opts.catalog.get(id);
      return load?.ok ? load.lab : undefined;
    },
    environment: (sessionId, labId) => {
      const ws = opts.workspaces.get(sessionId, labId);
      return ws?.state === 'ready' ? ws.env : undefined;
    },
    target: (env) => environmentTarget(env, opts.ssh, etcd, warm),
    progress,
    ...(opts.recheckMs !== undefined ? { recheckMs: opts.recheckMs } : {}),
    ...(opts.onReport ? { onReport: opts.onReport } : {}),
    ...(opts.checkRunsPerMinute !== undefined ? { checkRunsPerMinute: opts.checkRunsPerMinute } : {}),
  });
  return {
    module,
    progress,
    close() {
      module.close();
      unsubscribe();
      etcd.closeAll();
      warm.closeAll();
    },
  };
}
