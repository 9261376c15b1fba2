// The `inventory` provider: hosts that already exist (made with Terraform, a cloud CLI, by hand), listed
// in an inventory file. create() hands out one free environment whose hosts answer; destroy() runs the
// lab's reset on them and frees it. Nothing on a host is ever deleted by the provider itself.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ExecResult } from '../exec-result.ts';
import { exec } from '../local/ssh-probe.ts';
import { quietLogger } from '../log.ts';
import type { ProvisionLogger } from '../log.ts';
import { ProvisionError } from '../provider.ts';
import type { CreateOptions, Environment, EnvironmentSpec, HostInfo, Provider } from '../provider.ts';
import { connectSsh } from '../ssh-login.ts';
import type { SshEndpoint } from '../ssh-login.ts';
import type { Inventory, InventoryEnvironment, InventoryHost, SshLogin } from './inventory-file.ts';
import { LeaseStore } from './leases.ts';
import type { Lease } from './leases.ts';

/**
 * Run after the lab's own `reset:` script on every host of a returned environment: the previous
 * attendee's shells (the server's session keeper, lw-term, keeps them between page loads; older
 * servers used tmux) end with their history, so the next attendee starts afresh. `[.]` keeps pkill
 * from matching the shell running this line. It runs under `set -e`, so each step that finds nothing
 * to end (no tmux server, no keeper) must not fail the reset.
 */
export const BUILT_IN_RESET =
  `{ tmux kill-server; } >/dev/null 2>&1 || true; pkill -KILL -u "$(id -u)" -f '[.]labwright/bin/lw-term-' >/dev/null 2>&1 || true; rm -rf "$HOME/.labwright/term"`;

/** Runs a script on one host; rejects when the host cannot be reached or logged in to. Tests pass a fake. */
export type HostRunner = (host: SshEndpoint & { name: string }, script: string, timeoutMs: number) => Promise<ExecResult>;

export const sshRunner: HostRunner = async (host, script, timeoutMs) => {
  const client = await connectSsh(host, Math.min(timeoutMs, 10_000));
  try {
    return await exec(client, script, timeoutMs);
  } finally {
    client.end();
  }
};

export interface InventoryProviderOptions {
  /** Leases live under <dataDir>/inventory/. */
  dataDir: string;
  log?: ProvisionLogger;
  run?: HostRunner;
  /** How long a host may take to answer the readiness probe. */
  probeTimeoutMs?: number;
  resetTimeoutMs?: number;
}

export type EnvironmentState =
  | { name: string; state: 'free' }
  | { name: string; state: 'held'; id: string; owner?: string }
  | { name: string; state: 'dirty'; problem: string }
  | { name: string; state: 'down'; problem: string };

/** What the readiness probe runs: the services the lab asked for must answer, as a local host's must. */
export function probeScript(spec: EnvironmentSpec): string {
  return [
    'echo labwright-probe',
    spec.services.etcd === 'cluster' ? 'ETCDCTL_API=3 etcdctl endpoint health >/dev/null 2>&1 || { echo "etcd is not healthy (etcdctl endpoint health)" >&2; exit 3; }' : '',
    spec.services.docker ? 'docker info >/dev/null 2>&1 || { echo "docker is not running (docker info)" >&2; exit 3; }' : '',
  ]
    .filter(Boolean)
    .join('\n');
}

export class InventoryProvider implements Provider {
  readonly name = 'inventory';
  private readonly leases: LeaseStore;
  private readonly log: ProvisionLogger;
  private readonly run: HostRunner;
  private readonly probeTimeoutMs: number;
  private readonly resetTimeoutMs: number;
  /** Environments found down, with why: reported, tried last, and tried again (a host may come back). */
  private readonly down = new Map<string, string>();

  constructor(
    readonly inventory: Inventory,
    opts: InventoryProviderOptions,
  ) {
    this.leases = new LeaseStore(path.join(opts.dataDir, 'inventory'));
    this.log = opts.log ?? quietLogger;
    this.run = opts.run ?? sshRunner;
    this.probeTimeoutMs = opts.probeTimeoutMs ?? 8000;
    this.resetTimeoutMs = opts.resetTimeoutMs ?? 120_000;
  }

  async create(spec: EnvironmentSpec, opts: CreateOptions = {}): Promise<Environment> {
    const fitting = this.inventory.environments.filter((e) => spec.hosts.every((h) => e.hosts.some((x) => x.name === h)));
    if (spec.hosts.length === 0) throw new ProvisionError('bad-spec', 'an environment needs at least 1 host');
    if (fitting.length === 0) {
      throw new ProvisionError('bad-spec', `no environment of the inventory ${this.inventory.file} has the hosts this lab uses (${spec.hosts.join(', ')})`);
    }
    // Environments not known to be down first: one that is down costs a probe timeout.
    const order = [...fitting.filter((e) => !this.down.has(e.name)), ...fitting.filter((e) => this.down.has(e.name))];
    let done = 0;
    for (const inv of order) {
      opts.signal?.throwIfAborted();
      const lease = await this.takeFree(inv, spec);
      if (!lease) continue;
      opts.onProgress?.({ phase: 'ssh', done: done++, total: fitting.length, message: `checking the hosts of ${inv.name}` });
      const problem = await this.probe(inv, spec);
      if (problem === undefined) {
        this.down.delete(inv.name);
        try {
          const env = await this.toEnvironment(inv, lease);
          this.log.info({ env: lease.id, environment: inv.name, owner: spec.owner }, 'environment handed out');
          return env;
        } catch (e) {
          await this.leases.release(inv.name, lease.id);
          throw e;
        }
      }
      await this.leases.release(inv.name, lease.id);
      if (this.down.get(inv.name) !== problem) this.log.warn({ environment: inv.name, problem }, 'environment is down: not handed out');
      this.down.set(inv.name, problem);
    }
    opts.signal?.throwIfAborted();
    throw new ProvisionError('none-free', await this.noneFreeMessage(fitting));
  }

  async destroy(env: Environment | string): Promise<void> {
    const id = typeof env === 'string' ? env : env.id;
    const lease = (await this.leases.all()).find((l) => l.id === id);
    if (!lease || lease.status !== 'held') return;
    const inv = this.inventory.environments.find((e) => e.name === lease.environment);
    if (!inv) {
      // Removed from the inventory since: nothing to reset, and nobody will be handed it again.
      this.log.warn({ env: id, environment: lease.environment }, 'environment no longer in the inventory; lease dropped without a reset');
      await this.leases.release(lease.environment, id);
      return;
    }
    await this.resetAndFree(inv, lease);
  }

  async list(): Promise<Environment[]> {
    const out: Environment[] = [];
    for (const lease of await this.leases.all()) {
      if (lease.status !== 'held') continue;
      const inv = this.inventory.environments.find((e) => e.name === lease.environment);
      if (!inv) continue;
      out.push(await this.toEnvironment(inv, lease));
    }
    return out;
  }

  /** Every environment of the inventory and its state now (down: as last probed). For the start banner and reports. */
  async states(): Promise<EnvironmentState[]> {
    const leases = new Map((await this.leases.all()).map((l) => [l.environment, l]));
    return this.inventory.environments.map((e): EnvironmentState => {
      const l = leases.get(e.name);
      if (l?.status === 'held') return { name: e.name, state: 'held', id: l.id, ...(l.spec.owner ? { owner: l.spec.owner } : {}) };
      if (l?.status === 'dirty') return { name: e.name, state: 'dirty', problem: l.problem ?? 'reset failed' };
      const problem = this.down.get(e.name);
      return problem === undefined ? { name: e.name, state: 'free' } : { name: e.name, state: 'down', problem };
    });
  }

  /** Probes every free environment now (all hosts, the services given), so the operator sees at start which are down. */
  async probeAll(services: EnvironmentSpec['services']): Promise<EnvironmentState[]> {
    const leases = new Set((await this.leases.all()).map((l) => l.environment));
    await Promise.all(
      this.inventory.environments
        .filter((e) => !leases.has(e.name))
        .map(async (e) => {
          const problem = await this.probe(e, { hosts: e.hosts.map((h) => h.name), services });
          if (problem === undefined) this.down.delete(e.name);
          else this.down.set(e.name, problem);
        }),
    );
    return this.states();
  }

  /** A lease on `inv` for this spec, or undefined when someone holds it; a dirty one gets its reset retried first. */
  private async takeFree(inv: InventoryEnvironment, spec: EnvironmentSpec): Promise<Lease | undefined> {
    const existing = await this.leases.read(inv.name);
    if (existing?.status === 'dirty') {
      const claimed: Lease = { ...existing, status: 'held', creatorPid: process.pid };
      await this.leases.update(claimed);
      if (!(await this.resetAndFree(inv, claimed))) return undefined;
    } else if (existing) return undefined;
    const lease: Lease = {
      version: 1,
      id: `${inv.name}.${randomBytes(4).toString('hex')}`,
      environment: inv.name,
      status: 'held',
      spec: { hosts: [...spec.hosts], services: { ...spec.services }, ...(spec.owner ? { owner: spec.owner } : {}), ...(spec.reset ? { reset: spec.reset } : {}) },
      createdAt: Date.now(),
      creatorPid: process.pid,
    };
    return (await this.leases.take(lease)) ? lease : undefined;
  }

  /** Undefined when every host the spec names answers with the services it asks for; else why not. */
  private async probe(inv: InventoryEnvironment, spec: EnvironmentSpec): Promise<string | undefined> {
    const script = probeScript(spec);
    const problems = await Promise.all(
      spec.hosts.map(async (name) => {
        const h = inv.hosts.find((x) => x.name === name)!;
        try {
          const r = await this.run(await endpointOf(h), script, this.probeTimeoutMs);
          if (r.code === 0 && r.stdout.includes('labwright-probe')) return undefined;
          return `${describe(h)}: ${r.stderr.trim().split('\n').at(-1) || `probe exited ${r.code ?? r.signal}`}`;
        } catch (e) {
          return `${describe(h)}: ${e instanceof Error ? e.message : String(e)}`;
        }
      }),
    );
    const bad = problems.filter((p): p is string => p !== undefined);
    return bad.length ? bad.join('; ') : undefined;
  }

  /** Runs the reset on every host of the lease; frees the environment when all succeed, else marks it dirty. */
  private async resetAndFree(inv: InventoryEnvironment, lease: Lease): Promise<boolean> {
    const script = [lease.spec.reset?.trim() ? `(\n${lease.spec.reset}\n)` : '', BUILT_IN_RESET].filter(Boolean).join('\n');
    const failures = await Promise.all(
      lease.spec.hosts.map(async (name) => {
        const h = inv.hosts.find((x) => x.name === name);
        if (!h) return undefined;
        try {
          const r = await this.run(await endpointOf(h), `set -e\n${script}`, this.resetTimeoutMs);
          return r.code === 0 ? undefined : `${describe(h)}: reset exited ${r.code ?? r.signal}: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`;
        } catch (e) {
          return `${describe(h)}: ${e instanceof Error ? e.message : String(e)}`;
        }
      }),
    );
    const bad = failures.filter((f): f is string => f !== undefined);
    if (bad.length === 0) {
      await this.leases.release(inv.name, lease.id);
      this.log.info({ env: lease.id, environment: inv.name }, 'environment reset and free');
      return true;
    }
    const problem = bad.join('; ');
    await this.leases.update({ ...lease, status: 'dirty', problem });
    this.log.error({ env: lease.id, environment: inv.name, problem }, 'reset failed: the environment is not handed out until a reset succeeds');
    return false;
  }

  private async noneFreeMessage(fitting: InventoryEnvironment[]): Promise<string> {
    const states = (await this.states()).filter((s) => fitting.some((e) => e.name === s.name));
    const count = (k: EnvironmentState['state']): number => states.filter((s) => s.state === k).length;
    const parts = [`${count('held')} held by others`];
    if (count('down')) parts.push(`${count('down')} down (${states.flatMap((s) => (s.state === 'down' ? [`${s.name}: ${s.problem}`] : [])).join('; ')})`);
    if (count('dirty')) parts.push(`${count('dirty')} waiting for a reset that failed`);
    return `no environment free: the inventory has ${fitting.length} for this lab, ${parts.join(', ')}. Ask the instructor to free one or add hosts, then reload this page`;
  }

  private async toEnvironment(inv: InventoryEnvironment, lease: Lease): Promise<Environment> {
    const hosts: HostInfo[] = [];
    for (const name of lease.spec.hosts) {
      const h = inv.hosts.find((x) => x.name === name);
      if (!h) throw new ProvisionError('bad-spec', `environment ${inv.name} of ${this.inventory.file} has no host ${name}`);
      const { address, port, user, privateKey, agent, jump } = await endpointOf(h);
      hosts.push({ name, address, port, user, ...(privateKey ? { privateKey } : {}), ...(agent ? { agent } : {}), ...(jump ? { jump } : {}) });
    }
    const first = inv.hosts.find((h) => h.name === lease.spec.hosts[0]);
    return {
      id: lease.id,
      provider: this.name,
      spec: lease.spec,
      hosts,
      privateKey: hosts[0]?.privateKey ?? '',
      privateKeyPath: first?.keyPath ?? '',
      createdAt: lease.createdAt,
      creatorPid: lease.creatorPid,
    };
  }
}

const describe = (h: InventoryHost): string => `${h.name} (${h.user}@${h.address}:${h.port}${h.jump ? ` via ${h.jump.address}` : ''})`;

async function credentials(l: SshLogin): Promise<{ privateKey?: string; agent?: string }> {
  const privateKey = l.keyPath ? await fs.readFile(l.keyPath, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new ProvisionError('bad-spec', `cannot read the key ${l.keyPath}: ${e.code ?? e.message}`);
  }) : undefined;
  return { ...(privateKey ? { privateKey } : {}), ...(l.agent ? { agent: l.agent } : {}) };
}

/** The host's login with its key read now (a key file replaced on disk is picked up). */
async function endpointOf(h: InventoryHost): Promise<SshEndpoint & { name: string }> {
  const out: SshEndpoint & { name: string } = { name: h.name, address: h.address, port: h.port, user: h.user, ...(await credentials(h)) };
  if (h.jump) out.jump = { address: h.jump.address, port: h.jump.port, user: h.jump.user, ...(await credentials(h.jump)) };
  return out;
}

export function createInventoryProvider(inventory: Inventory, opts: InventoryProviderOptions): InventoryProvider {
  return new InventoryProvider(inventory, opts);
}
