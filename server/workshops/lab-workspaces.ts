// Wires environments into the server: a WorkspaceManager over a provider, the SSH pool the checks
// share, and the gateway modules for env-status and terminals (the workshop stack uses it). It lives
// here, not in workspaces/, so that terminals depend on workspaces and never the other way round.
import type { LabMeta } from '../../common/lab.ts';
import type { Provider } from '../../provisioning/provider.ts';
import { SshPool } from '../ssh/ssh-pool.ts';
import type { ShellHub } from '../terminals/shell-hub.ts';
import type { MirrorPolicy } from '../terminals/mirror-policy.ts';
import { createTerminalModule } from '../terminals/terminal-module.ts';
import type { TerminalModule, TerminalModuleOptions } from '../terminals/terminal-module.ts';
import type { GatewayModule } from '../ws/gateway-module.ts';
import type { EnvironmentOwnership } from '../store/environment-owners.ts';
import { WorkspaceManager } from '../workspaces/workspace-manager.ts';
import type { WorkspaceManagerOptions } from '../workspaces/workspace-manager.ts';
import { createWorkspaceModule } from '../workspaces/workspace-module.ts';

export interface LabWorkspacesOptions {
  provider: Provider;
  /** The lab's metadata (hosts, services) by id, as this session sees it; undefined for an unknown or broken lab. */
  labMeta: (labId: string, sessionId: string) => Pick<LabMeta, 'hosts' | 'services' | 'vm'> | undefined;
  /** The lab's `reset:` script as this session sees it (kept hosts run it when given back). */
  labReset?: (labId: string, sessionId: string) => string | undefined;
  /** Defaults to a new pool; pass the checks' pool to share connections. */
  ssh?: SshPool;
  /** The terminals' connections; defaults to a new hub (workshops pass theirs, which warm pools connect ahead). */
  hub?: ShellHub;
  mirrorPolicy?: MirrorPolicy;
  /** See WorkspaceManagerOptions.idleReleaseMs. */
  idleReleaseMs?: number;
  /** See WorkspaceManagerOptions.ownership (durable mode: re-adopt environments after a restart). */
  ownership?: EnvironmentOwnership;
  /** See TerminalModuleOptions.sessionName (benches give each terminal its own shell). */
  sessionName?: TerminalModuleOptions['sessionName'];
  /** See WorkspaceManagerOptions.admit (workshop mode: no hosts for an ended workshop). */
  admit?: WorkspaceManagerOptions['admit'];
  /** See WorkspaceManagerOptions.maxPerSession. */
  maxEnvironmentsPerSession?: number;
  /** See TerminalModuleOptions.maxTerminalsPerSession. */
  maxTerminalsPerSession?: number;
}

export interface LabWorkspaces {
  readonly workspaces: WorkspaceManager;
  readonly ssh: SshPool;
  readonly terminals: TerminalModule;
  /** env-status and terminals, for startServer's gatewayModules. */
  readonly modules: readonly GatewayModule[];
  /**
   * Closes every terminal connection and destroys every environment (solo mode: at shutdown),
   * except those `keep` names (see WorkspaceManager.close).
   */
  close(opts?: Parameters<WorkspaceManager['close']>[0]): Promise<void>;
}

export function createLabWorkspaces(opts: LabWorkspacesOptions): LabWorkspaces {
  const ssh = opts.ssh ?? new SshPool();
  const workspaces = new WorkspaceManager({
    provider: opts.provider,
    ssh,
    ...(opts.idleReleaseMs !== undefined ? { idleReleaseMs: opts.idleReleaseMs } : {}),
    ...(opts.ownership ? { ownership: opts.ownership } : {}),
    ...(opts.admit ? { admit: opts.admit } : {}),
    ...(opts.maxEnvironmentsPerSession !== undefined ? { maxPerSession: opts.maxEnvironmentsPerSession } : {}),
    labShape: (labId, sessionId) => {
      const meta = opts.labMeta(labId, sessionId);
      const reset = opts.labReset?.(labId, sessionId);
      return meta ? { hosts: [...meta.hosts], services: { ...meta.services }, ...(reset !== undefined ? { reset } : {}), ...(meta.vm ? { vm: true } : {}) } : undefined;
    },
  });
  const terminals = createTerminalModule({
    workspaces,
    ssh,
    ...(opts.hub ? { hub: opts.hub } : {}),
    ...(opts.mirrorPolicy ? { mirrorPolicy: opts.mirrorPolicy } : {}),
    ...(opts.sessionName ? { sessionName: opts.sessionName } : {}),
    ...(opts.maxTerminalsPerSession !== undefined ? { maxTerminalsPerSession: opts.maxTerminalsPerSession } : {}),
  });
  return {
    workspaces,
    ssh,
    terminals,
    modules: [createWorkspaceModule(workspaces), terminals],
    async close(closeOpts) {
      terminals.close();
      await workspaces.close(closeOpts);
      ssh.closeAll();
    },
  };
}
