// The provider interface: whatever creates lab hosts (local nspawn machines, a static inventory,
// a cloud) hands the server an Environment with addresses and SSH credentials, and takes it back.
import type { LabServices } from '../common/lab.ts';

export interface EnvironmentSpec {
  /** Host names, in order (host0, host1, …). */
  hosts: string[];
  services: LabServices;
  /** Free-form owner label (session id, "cli", "pool"), kept with the environment for `env ls`. */
  owner?: string;
  /**
   * Shell script a provider that keeps its hosts (inventory) runs as root on every host when the
   * environment is given back: the lab's front matter `reset:`. Providers that throw hosts away ignore it.
   */
  reset?: string;
  /** Ask for virtual machines instead of containers (LXD, where a member has KVM); other providers refuse or ignore it. */
  vm?: boolean;
}

/** An SSH login other than the environment's key (inventory hosts). Server side only: never sent to a browser. */
export interface SshCredentials {
  /** PEM private key of this host (else the environment's). */
  privateKey?: string;
  /** Path of an ssh-agent socket to authenticate with (besides the key, if any). */
  agent?: string;
}

/** A host reached through another (OpenSSH's ProxyJump): the server logs in there and opens a tunnel to the host's sshd. */
export interface JumpHost extends SshCredentials {
  address: string;
  port: number;
  user: string;
}

export interface HostInfo extends SshCredentials {
  name: string;
  /** Address reachable from the server (or from the jump host): IPv4 for local hosts, any address or name for inventory ones. */
  address: string;
  port: number;
  user: string;
  jump?: JumpHost;
}

export interface Environment {
  /** Stable id, also the prefix of every resource the provider created for it. */
  id: string;
  provider: string;
  spec: EnvironmentSpec;
  hosts: HostInfo[];
  /** PEM private key for every host of this environment (a host's own privateKey wins; '' when hosts use an agent). Stays on the server; never sent to a browser. */
  privateKey: string;
  /** Path of the private key file on the server (for `ssh -i`; '' when there is none). */
  privateKeyPath: string;
  createdAt: number;
  /**
   * The process that created it, when the provider knows. One that is still alive (and not this
   * process) manages it; a dead one's environment is a leftover for whoever finds it.
   */
  creatorPid?: number;
}

export interface ProvisionProgress {
  /** Short machine-readable phase: image, network, boot, ssh, services, ready. */
  phase: string;
  done: number;
  total: number;
  message: string;
}

export interface CreateOptions {
  signal?: AbortSignal;
  onProgress?: (p: ProvisionProgress) => void;
}

/** A saved state of every host of an environment ("reset this step"). */
export interface SnapshotInfo {
  name: string;
  takenAt: number;
  /** Bytes the snapshot holds on the provider's storage, when the provider can tell. */
  bytes?: number;
}

export interface Provider {
  readonly name: string;
  /** Creates an environment and resolves once it is ready (SSH answers, systemd running, services healthy). */
  create(spec: EnvironmentSpec, opts?: CreateOptions): Promise<Environment>;
  /** Removes everything the environment created. Idempotent. */
  destroy(env: Environment | string): Promise<void>;
  /** Environments that exist now (including ones left by an earlier process), to adopt or reap. */
  list(): Promise<Environment[]>;
  /**
   * Optional: saves the state of every host of `env` under `name`, replacing an earlier snapshot of
   * that name. Destroy removes an environment's snapshots. Callers fall back to a full reset where a
   * provider has no snapshots.
   */
  snapshot?(env: Environment, name: string): Promise<SnapshotInfo>;
  /** Optional: puts every host of `env` back to snapshot `name`; the environment keeps its id, addresses and key. */
  restore?(env: Environment, name: string): Promise<void>;
  /**
   * Optional: snapshot `name` of `env` as the provider keeps it now, or undefined when it has none (never taken,
   * or lost). Lets a restarted caller check that a snapshot it recorded is still there before a restore.
   */
  snapshotInfo?(env: Environment, name: string): Promise<SnapshotInfo | undefined>;
}

/**
 * `provider` with create or destroy replaced; name, list and what is not replaced call through. A plain object, not
 * a spread: a provider may be a class instance, whose methods a spread would lose. The optional snapshot methods are
 * not carried over: a view that needs them adds them.
 */
export function providerView(provider: Provider, replace: Partial<Pick<Provider, 'create' | 'destroy'>>): Provider {
  return {
    name: provider.name,
    create: replace.create ?? ((spec, opts) => provider.create(spec, opts)),
    destroy: replace.destroy ?? ((env) => provider.destroy(env)),
    list: () => provider.list(),
  };
}

export class ProvisionError extends Error {
  constructor(
    readonly code:
      | 'bad-spec'
      | 'missing-dependency'
      | 'not-root'
      | 'limits-unavailable'
      | 'isolation-unavailable'
      | 'aborted'
      | 'boot-failed'
      | 'timeout'
      | 'internal'
      /** Inventory: every environment that fits is held by someone or down. */
      | 'none-free'
      /** restore(): the environment has no snapshot of that name (never taken, or lost). */
      | 'no-snapshot'
      /** snapshot()/restore(): the environment is not in a state that allows it (not ready, another one runs). */
      | 'busy',
    message: string,
  ) {
    super(message);
    this.name = 'ProvisionError';
  }
}
