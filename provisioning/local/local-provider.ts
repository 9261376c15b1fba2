// The `local` provider: lab hosts as systemd-nspawn machines on this machine, booted from the cached
// Debian image (provisioning/image), one bridge + subnet per environment, etcd/docker started as units.
//
// Usage (as root):
//   const provider = createLocalProvider(config, { log });  // config: LocalProviderConfig (the server's Config fits)
//   await provider.recover();                        // once at start: reap a crashed run's leftovers, adopt live envs
//   const env = await provider.create({ hosts: ['host0', 'host1'], services: { etcd: 'cluster', docker: true } },
//                                     { signal, onProgress });
//   // env.hosts[i].address / port / user + env.privateKey (OpenSSH format; never send it to a browser)
//   await provider.destroy(env);                     // or destroy(env.id); idempotent
// Near-instant hosts: new PoolSet(provider, config.poolSize).claim(spec) (provisioning/pool-set.ts).
// Hosts outlive the creating process (the CLI exits, hosts stay); list() finds them again from the state
// files under <dataDir>/envs/<id>/. Isolation (config.hostIsolation): 'userns' (default) runs each host in its
// own user namespace and id range (id-ranges.ts), so root in a host is an unprivileged uid here; 'privileged'
// hosts are root containers kept apart only by cgroup limits and the firewall.
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateKeyPair } from './ssh-keys.ts';
import { MAX_HOSTS } from '../../common/lab.ts';
import { haveCommand, run } from '../exec.ts';
import { allHostsReady, progressOf, rollBackCreate } from '../create-steps.ts';
import { ensureImage } from '../image/build-image.ts';
import { pidAlive } from '../image/dir-lock.ts';
import { quietLogger } from '../log.ts';
import type { ProvisionLogger } from '../log.ts';
import { ProvisionError } from '../provider.ts';
import type { CreateOptions, Environment, EnvironmentSpec, Provider, ProvisionProgress, SnapshotInfo } from '../provider.ts';
import { LimitsError, cgroupParents, createHostCgroups, hostCgroupSystem, killCgroups, missingControllers, removeCgroups } from './cgroups.ts';
import type { HostLimits } from './cgroups.ts';
import { ensureDockerSeed, plantDockerSeed } from './docker-seed.ts';
import { writeHostFiles } from './host-files.ts';
import { PROBE_BASE, reapIdRanges, releaseIdRanges, reserveIdRange, shiftOwnership } from './id-ranges.ts';
import { ensureIdmapHelper, probeUserns, staleProbeDirs, unmountProbe } from './idmap.ts';
import { detachLoopsUnder, envIdsWithLoops, mountHostDisk } from './host-disk.ts';
import { ensureInotifyRoom } from './inotify-room.ts';
import { SNAPSHOT_NAME_RE, clearForHostSnapshot, finishHostSnapshot, freezerOf, makeSpare, putBackHostSnapshot, readHostSnapshot, saveHostSnapshot, setFrozen } from './host-snapshots.ts';
import { directoryLockFile, hostPaths, isHostProcess, launchHost, mountMerged, mountOverlay, nspawnArgs, removeNspawnRuntime, unmountUnder } from './machine.ts';
import { BRIDGE_RE, ENV_ID_RE, HOST_NAME_RE, MACHINE_RE, bridgeName, machineName, newEnvId, vethName } from './names.ts';
import { claimEnvId, dataDirOf, envExists, ownedElsewhere, releaseEnvId, subnetsDir } from './registry.ts';
import { createBridge, deleteBridge, isolateBridge, isolatedEnvIds, listLinks, unisolate, usedNetworks } from './network.ts';
import { connectWhenUp, etcdHealthy, exec } from './ssh-probe.ts';
import { envDir, envsDir, keyPath, listEnvIds, readState, writeState } from './state.ts';
import type { EnvRecord, HostState } from './state.ts';
import { addressesIn, chooseSubnet, formatCidr, maxHostsFor, parseCidr } from './subnet.ts';
import type { Cidr } from './subnet.ts';

/** 'userns': root in a host is an unprivileged uid here; 'privileged': root in a host is root here. */
export type HostIsolation = 'userns' | 'privileged';

/** The settings the local provider reads; the server's Config (LABWRIGHT_*) has all of them. */
export interface LocalProviderConfig {
  /** Environments' state, keys and host disks live under <dataDir>/envs/. */
  dataDir: string;
  /** The built image and helpers. */
  cacheDir: string;
  /** Environments' subnets are carved from this range, one /subnetPrefix each. */
  subnetRange: string;
  subnetPrefix: number;
  hostMemoryMb: number;
  /** 0: no CPU quota (a shared weight only). */
  hostCpus: number;
  hostPids: number;
  hostDiskGb: number;
  /** Start hosts whose limits cannot be applied instead of refusing them. */
  allowUnlimitedHosts: boolean;
  /** Default 'userns'. */
  hostIsolation?: HostIsolation;
}

export interface LocalProviderOptions {
  limits?: Partial<HostLimits>;
  /** How long a host may take from launch to ready (SSH + systemd + services). */
  readyTimeoutMs?: number;
  /** Boot from this already-built image root instead of the current recipe's (benchmarks, pinned images). */
  imageRootfs?: string;
  /** Where the provider logs (the server passes its logger for component 'local-provider'); quiet without one. */
  log?: ProvisionLogger;
}

export interface RecoverReport {
  adopted: string[];
  reaped: string[];
}

/** The host limits a config asks for (LABWRIGHT_HOST_MEMORY_MB, _CPUS, _PIDS, _DISK_GB). */
export function configuredLimits(config: LocalProviderConfig): HostLimits {
  return { memoryBytes: config.hostMemoryMb * 2 ** 20, pids: config.hostPids, cpus: config.hostCpus, diskBytes: config.hostDiskGb * 2 ** 30 };
}
const SERVICE_UNITS = ['ssh.service', 'etcd.service', 'docker.service', 'containerd.service', 'systemd-networkd.service'];

/** Environments this process is creating right now: recover() must not take them for a crash's leftovers. */
const creatingHere = new Set<string>();

/** Whether unprivileged hosts work, per filesystem probed: asked once per process (the kernel does not change). */
const usernsProbes = new Map<string, Promise<string | undefined>>();

/** Checks a spec and returns a one-line reason when it is unusable. */
export function specProblem(spec: EnvironmentSpec, subnetPrefix: number): string | undefined {
  if (!Array.isArray(spec.hosts) || spec.hosts.length === 0) return 'an environment needs at least 1 host';
  const max = Math.min(MAX_HOSTS, maxHostsFor(subnetPrefix));
  if (spec.hosts.length > max) return `${spec.hosts.length} hosts asked, at most ${max} are allowed`;
  const bad = spec.hosts.find((h) => !HOST_NAME_RE.test(h));
  if (bad !== undefined) return `host name "${bad}" must be lowercase letters, digits and dashes, starting with a letter`;
  if (new Set(spec.hosts).size !== spec.hosts.length) return 'host names must be unique';
  const services = spec.services as Partial<EnvironmentSpec['services']> | undefined;
  if (!services || (services.etcd !== 'cluster' && services.etcd !== 'none')) return 'services.etcd must be "cluster" or "none"';
  if (typeof services.docker !== 'boolean') return 'services.docker must be true or false';
  return undefined;
}

export class LocalProvider implements Provider {
  readonly name = 'local';
  private readonly limits: HostLimits;
  private readonly readyTimeoutMs: number;
  private readonly imageRootfs: string | undefined;
  private readonly log: ProvisionLogger;
  /** 'userns': unprivileged hosts (default); 'privileged': root in a host is root here. */
  readonly isolation: HostIsolation;

  constructor(
    private readonly config: LocalProviderConfig,
    opts: LocalProviderOptions = {},
  ) {
    this.limits = { ...configuredLimits(config), ...opts.limits };
    this.log = opts.log ?? quietLogger;
    if (config.allowUnlimitedHosts) this.log.warn('LABWRIGHT_ALLOW_UNLIMITED_HOSTS is set: hosts whose limits cannot be applied start without them');
    this.readyTimeoutMs = opts.readyTimeoutMs ?? 90_000;
    this.imageRootfs = opts.imageRootfs;
    this.isolation = config.hostIsolation ?? 'userns';
  }

  /**
   * Why unprivileged hosts cannot run here (undefined: they can, or isolation is 'privileged'). Probes with
   * the image when given, else the cache directory's filesystem (where the image will be).
   */
  async isolationProblem(imageRootfs?: string): Promise<string | undefined> {
    if (this.isolation !== 'userns') return undefined;
    const target = imageRootfs ?? this.config.cacheDir;
    let probe = usernsProbes.get(target);
    if (!probe) {
      probe = (async () => {
        await fs.mkdir(target, { recursive: true });
        return probeUserns(this.config.cacheDir, target, PROBE_BASE);
      })();
      usernsProbes.set(target, probe);
    }
    return probe;
  }

  private async checkIsolation(imageRootfs: string): Promise<void> {
    const problem = await this.isolationProblem(imageRootfs);
    if (problem) {
      throw new ProvisionError(
        'isolation-unavailable',
        `lab hosts cannot run unprivileged on this machine: ${problem}. Set LABWRIGHT_HOST_ISOLATION=privileged to run them as privileged containers instead (root in a host is then root on this machine)`,
      );
    }
  }

  /** Throws a ProvisionError naming the first thing this machine lacks. */
  async checkDependencies(needImageBuild = false): Promise<void> {
    if (process.getuid?.() !== 0) throw new ProvisionError('not-root', 'the local provider must run as root (it creates bridges, mounts and cgroups)');
    for (const cmd of ['systemd-nspawn', 'ip', 'mount', 'iptables', ...(needImageBuild ? ['debootstrap', 'chroot'] : [])]) {
      if (!(await haveCommand(cmd))) {
        const pkg = cmd === 'systemd-nspawn' ? 'systemd-container' : cmd === 'ip' ? 'iproute2' : cmd;
        throw new ProvisionError('missing-dependency', `${cmd} not found: install the Debian package ${pkg} (scripts/setup.sh does)`);
      }
    }
  }

  async create(spec: EnvironmentSpec, opts: CreateOptions = {}): Promise<Environment> {
    return this.createEnv(spec, opts, true);
  }

  /**
   * Makes the per-image Docker seed now (normally made by the first create that asks for Docker).
   * `labwright env image` calls it so that set-up pays for it, not the first attendee.
   */
  async prepareDockerSeed(signal?: AbortSignal): Promise<void> {
    const rootfs = this.imageRootfs ?? (await ensureImage({ cacheDir: this.config.cacheDir, signal })).rootfs;
    await this.dockerSeed(rootfs, signal);
  }

  private dockerSeed(imageRootfs: string, signal?: AbortSignal): Promise<string> {
    return ensureDockerSeed(
      imageRootfs,
      async (dest) => {
        const env = await this.createEnv({ hosts: ['seed'], services: { etcd: 'none', docker: true }, owner: 'docker-seed' }, { signal }, false);
        try {
          const st = await readState(this.config.dataDir, env.id);
          const host = st?.hosts[0];
          if (!host) throw new Error('seed host vanished');
          const client = await connectWhenUp(host.address, env.privateKey, Date.now() + 30_000, signal);
          try {
            const r = await exec(client, 'systemctl stop docker.socket docker.service containerd.service', 60_000);
            if (r.code !== 0) throw new Error(`stopping docker on the seed host: ${r.stderr.trim()}`);
          } finally {
            client.end();
          }
          await run('cp', ['-a', hostPaths(host.dir).docker, dest]);
          // The seed is kept in ids 0… (what a privileged host uses); plantDockerSeed moves it into each host's range.
          if (host.idBase !== undefined) await shiftOwnership(dest, host.idBase, 0);
        } finally {
          await this.destroy(env);
        }
      },
      signal,
    );
  }

  private async createEnv(spec: EnvironmentSpec, opts: CreateOptions, useSeed: boolean): Promise<Environment> {
    const problem = specProblem(spec, this.config.subnetPrefix);
    if (problem) throw new ProvisionError('bad-spec', problem);
    if (spec.vm)
      throw new ProvisionError('isolation-unavailable', 'this lab asks for virtual machines (vm: true), and the local provider runs hosts as containers: serve it with LABWRIGHT_PROVIDER=lxd where an LXD member can run VMs (KVM)');
    const { signal } = opts;
    await this.machineChecks();
    await this.ensureInotifyRoom();
    const image = this.imageRootfs ? { rootfs: this.imageRootfs } : await ensureImage({
      cacheDir: this.config.cacheDir,
      signal,
      onProgress: (p: ProvisionProgress) => opts.onProgress?.(p),
    }).catch(async (e: unknown) => {
      // A missing debootstrap only matters when the image actually has to be built.
      await this.checkDependencies(true);
      throw e;
    });
    await this.checkIsolation(image.rootfs);
    signal?.throwIfAborted();
    const seed = useSeed && spec.services.docker ? await this.dockerSeed(image.rootfs, signal) : undefined;

    const { id, dir } = await this.reserveEnvDir();
    creatingHere.add(id);
    try {
      return await this.buildEnv(id, dir, spec, image.rootfs, seed, opts);
    } finally {
      creatingHere.delete(id);
    }
  }

  private async buildEnv(id: string, dir: string, spec: EnvironmentSpec, imageRootfs: string, seed: string | undefined, opts: CreateOptions): Promise<Environment> {
    const { signal } = opts;
    const progress = progressOf(opts);
    const keys = generateKeyPair(`labwright-${id}`);
    const state: EnvRecord = {
      version: 1,
      id,
      status: 'creating',
      creatorPid: process.pid,
      spec: { hosts: [...spec.hosts], services: { ...spec.services }, ...(spec.owner ? { owner: spec.owner } : {}) },
      subnet: '',
      bridge: bridgeName(id),
      bridgeAddress: '',
      imageRootfs,
      hosts: spec.hosts.map((name, i) => ({ name, machine: machineName(id, i), address: '', pid: 0, cgroups: [], dir: path.join(dir, 'hosts', name) })),
      createdAt: Date.now(),
    };
    const elog = this.log.child({ env: id });
    const t0 = Date.now();
    try {
      await fs.writeFile(keyPath(this.config.dataDir, id), keys.private, { mode: 0o600 });
      await fs.writeFile(`${keyPath(this.config.dataDir, id)}.pub`, `${keys.public}\n`, { mode: 0o600 });
      await writeState(this.config.dataDir, state);
      const helper = this.isolation === 'userns' ? await ensureIdmapHelper(this.config.cacheDir) : undefined;
      if (helper) {
        for (const h of state.hosts) h.idBase = await reserveIdRange(id);
        // Recorded before anything is mounted with them (the reservations also name the environment).
        await writeState(this.config.dataDir, state);
      }

      // The subnet, bridge and firewall are made while the hosts' disks are prepared: only the host files
      // need the addresses, and only the launch needs the bridge. Where the time before the launch goes is
      // logged per step with 'hosts launched'.
      const steps: { subnet?: number; network?: number; hosts: Record<string, number>[] } = { hosts: state.hosts.map(() => ({})) };
      const addressed = (async () => {
        progress('network', 0, 1, 'choosing a subnet');
        const subnet = await this.reserveSubnet(id);
        const addrs = addressesIn(subnet, spec.hosts.length);
        state.subnet = formatCidr(subnet);
        state.bridgeAddress = addrs.bridge;
        state.hosts.forEach((h, i) => (h.address = addrs.hosts[i]!));
        await writeState(this.config.dataDir, state);
        steps.subnet = Date.now() - t0;
        return subnet;
      })();
      const network = (async () => {
        const subnet = await addressed;
        await createBridge(state.bridge, state.bridgeAddress, subnet.prefix);
        await isolateBridge(state.bridge, id);
        steps.network = Date.now() - t0;
        progress('network', 1, 1, `bridge ${state.bridge} ${state.subnet}`);
      })();
      let booted = 0;
      await allDone([
        addressed,
        network,
        ...state.hosts.map(async (h, i) => {
          const p = hostPaths(h.dir);
          const userns = helper && h.idBase !== undefined ? { base: h.idBase, helper } : undefined;
          let t = Date.now();
          const step = async (name: string, job: () => Promise<unknown>): Promise<void> => {
            await job();
            steps.hosts[i]![name] = Date.now() - t;
            t = Date.now();
          };
          await step('disk', () => this.applyDiskLimit(h.dir));
          await step('overlay', () => mountOverlay(imageRootfs, p, userns));
          const { prefix } = await addressed;
          const peers = state.hosts.map((o) => ({ name: o.name, address: o.address }));
          await step('files', () =>
            writeHostFiles(p.merged, { envId: id, index: i, peers, prefix, authorizedKey: keys.public, services: spec.services, idBase: h.idBase, dockerSeeded: seed !== undefined }),
          );
          await step('cgroups', async () => (h.cgroups = await this.applyCgroupLimits(h.machine)));
          await step('waitNetwork', () => network);
          signal?.throwIfAborted();
          h.pid = launchHost(nspawnArgs({ machine: h.machine, hostname: h.name, paths: p, bridge: state.bridge, idBase: h.idBase }), h.cgroups, p.log);
          steps.hosts[i]!.launchedAt = Date.now() - t0;
          booted += 1;
          progress('boot', booted, state.hosts.length, `${h.name} booting`);
          // While the host boots: its docker.service waits for the seed to be complete (host-files.ts).
          t = Date.now();
          if (seed) await step('dockerSeedAfterLaunch', () => plantDockerSeed(seed, p.docker, userns));
        }),
      ]);
      await writeState(this.config.dataDir, state);
      const launchedMs = Date.now() - t0;
      elog.debug({ ms: launchedMs, ...steps }, 'hosts launched');

      const deadline = Date.now() + this.readyTimeoutMs;
      await allHostsReady(state.hosts, (h) => this.waitReady(h, keys.private, spec.services, deadline, signal), progress, (h) => h.note);
      state.status = 'ready';
      await writeState(this.config.dataDir, state);
      elog.info({ ms: Date.now() - t0, launchedMs, hosts: state.hosts.length }, 'environment ready');
      progress('ready', 1, 1, `environment ${id} ready`);
      return this.toEnvironment(state, keys.private);
    } catch (e) {
      return rollBackCreate(e, id, { signal, log: elog, teardown: () => this.teardown(id, state) });
    }
  }

  async destroy(env: Environment | string): Promise<void> {
    const id = typeof env === 'string' ? env : env.id;
    if (!ENV_ID_RE.test(id)) throw new ProvisionError('bad-spec', `"${id}" is not a local environment id (like lwk3x9a)`);
    // A snapshot or restore running (hosts frozen, files being copied onto the host's disk) or a spare copy
    // being written would keep the disk from unmounting: no new one starts, and the running ones end first.
    this.#destroying.add(id);
    try {
      while (this.#envOps.has(id) || this.#background.has(id)) {
        await this.#envOps.get(id)?.then(
          () => undefined,
          () => undefined,
        );
        await this.#background.get(id);
      }
      await this.teardown(id, await readState(this.config.dataDir, id));
    } finally {
      this.#destroying.delete(id);
    }
  }

  /** Environments being destroyed: snapshots and restores of them are refused. */
  readonly #destroying = new Set<string>();

  async list(): Promise<Environment[]> {
    const out: Environment[] = [];
    for (const id of await listEnvIds(this.config.dataDir)) {
      const st = await readState(this.config.dataDir, id);
      if (st?.status !== 'ready') continue;
      const key = await fs.readFile(keyPath(this.config.dataDir, id), 'utf8').catch(() => undefined);
      if (key !== undefined) out.push(this.toEnvironment(st, key));
    }
    return out;
  }

  /** Snapshots and restores of one environment run one at a time (in this process). */
  readonly #envOps = new Map<string, Promise<unknown>>();

  #exclusive<T>(id: string, job: () => Promise<T>): Promise<T> {
    const prev = this.#envOps.get(id) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(job);
    this.#envOps.set(id, next);
    const done = (): void => {
      if (this.#envOps.get(id) === next) this.#envOps.delete(id);
    };
    next.then(done, done);
    return next;
  }

  /** Work left after a snapshot or restore returned (spare copies, old layers to delete); destroy waits for it. */
  readonly #background = new Map<string, Promise<void>>();

  /** Runs job after the environment's current operation, without making the caller wait; never rejects. */
  #afterwards(id: string, what: string, job: () => Promise<unknown>): void {
    const bg = this.#exclusive(id, job).then(
      () => undefined,
      (e: unknown) => this.log.warn({ env: id, err: e instanceof Error ? e.message : String(e) }, `${what} failed`),
    );
    this.#background.set(id, bg);
    void bg.then(() => {
      if (this.#background.get(id) === bg) this.#background.delete(id);
    });
  }

  /** Resolves once the work a snapshot or restore left for afterwards (the spare copy) is done: tests, benches. */
  async idle(envId: string): Promise<void> {
    await this.#background.get(envId);
  }

  async #readyState(env: Environment, name: string): Promise<EnvRecord> {
    if (!SNAPSHOT_NAME_RE.test(name)) throw new ProvisionError('bad-spec', `"${name}" is not a snapshot name (lowercase letters, digits and dashes)`);
    if (!ENV_ID_RE.test(env.id)) throw new ProvisionError('bad-spec', `"${env.id}" is not a local environment id`);
    if (this.#destroying.has(env.id)) throw new ProvisionError('busy', `environment ${env.id} is being removed`);
    const st = await readState(this.config.dataDir, env.id);
    if (st?.status !== 'ready') throw new ProvisionError('busy', `environment ${env.id} is not ready`);
    return st;
  }

  /**
   * Saves every host's own changes (overlay upper layer and /var/lib/docker) while all hosts of the environment
   * are frozen together (cgroup v2 freezer), so an etcd cluster is saved at one instant; they run on afterwards.
   * Stored on each host's own disk (host-snapshots.ts): the host's disk limit bounds it.
   */
  snapshot(env: Environment, name: string): Promise<SnapshotInfo> {
    return this.#exclusive(env.id, async () => {
      const st = await this.#readyState(env, name);
      const t0 = Date.now();
      const freezers = await Promise.all(st.hosts.map((h) => freezerOf(h.cgroups)));
      if (freezers.some((f) => f === undefined)) throw new ProvisionError('limits-unavailable', 'snapshots need the cgroup v2 freezer (cgroup.freeze), which this machine lacks');
      const cgroups = freezers as string[];
      await Promise.all(st.hosts.map((h) => clearForHostSnapshot(h.dir, name)));
      const takenAt = Date.now();
      let frozenMs = 0;
      try {
        await Promise.all(cgroups.map((c) => setFrozen(c, true)));
        await Promise.all(st.hosts.map((h) => saveHostSnapshot(h.dir, name, takenAt)));
      } finally {
        await Promise.all(cgroups.map((c) => setFrozen(c, false).catch((e: unknown) => this.log.error({ env: env.id, cgroup: c, err: String(e) }, 'could not thaw a host'))));
        frozenMs = Date.now() - takenAt;
      }
      const bytes = await Promise.all(st.hosts.map((h) => finishHostSnapshot(h.dir, name)));
      // The spare copy a restore renames into place, made now that the hosts run again: twice the snapshot on disk.
      this.#afterwards(env.id, 'spare snapshot copy', () => Promise.all(st.hosts.map((h) => makeSpare(h.dir, name))));
      const info: SnapshotInfo = { name, takenAt, bytes: 2 * bytes.reduce((a, b) => a + b, 0) };
      this.log.info({ env: env.id, snapshot: name, ms: Date.now() - t0, frozenMs, bytes: info.bytes }, 'snapshot taken');
      return info;
    });
  }

  /** The snapshot as the hosts' disks hold it now: every host must have a complete copy of that name. */
  async snapshotInfo(env: Environment, name: string): Promise<SnapshotInfo | undefined> {
    if (!SNAPSHOT_NAME_RE.test(name) || !ENV_ID_RE.test(env.id)) return undefined;
    const st = await readState(this.config.dataDir, env.id);
    if (!st || st.hosts.length === 0) return undefined;
    const metas = await Promise.all(st.hosts.map((h) => readHostSnapshot(h.dir, name)));
    if (metas.some((m) => m === undefined)) return undefined;
    return { name, takenAt: Math.min(...metas.map((m) => m!.takenAt)) };
  }

  /**
   * Stops every host, puts its saved upper layer and Docker directory back, and boots it again in the same
   * cgroups, on the same bridge and address; resolves once the hosts are ready as after create().
   */
  restore(env: Environment, name: string): Promise<void> {
    return this.#exclusive(env.id, async () => {
      const st = await this.#readyState(env, name);
      const t0 = Date.now();
      const metas = await Promise.all(st.hosts.map((h) => readHostSnapshot(h.dir, name)));
      if (metas.some((m) => m === undefined)) throw new ProvisionError('no-snapshot', `environment ${env.id} has no snapshot "${name}"`);
      const key = await fs.readFile(keyPath(this.config.dataDir, env.id), 'utf8');
      const links = await listLinks();
      // Slowest host's time to each phase (the log says where a restore spends its time).
      const phase = { stoppedMs: 0, copiedMs: 0, sshUpMs: 0, systemUpMs: 0 };
      const mark = (k: keyof typeof phase): void => void (phase[k] = Math.max(phase[k], Date.now() - t0));
      const trash = await Promise.all(
        st.hosts.map(async (h) => {
          const p = hostPaths(h.dir);
          await killCgroups(h.cgroups);
          if (await isHostProcess(h.pid, h.machine)) process.kill(h.pid, 'SIGKILL');
          const lock = await directoryLockFile(p.merged);
          if (lock) await fs.rm(lock, { force: true });
          await unmountUnder(p.merged);
          await removeNspawnRuntime(h.machine);
          // The host end of its veth goes with the host's network namespace, asynchronously: nspawn needs the name.
          if (links.includes(vethName(h.machine))) await deleteBridge(vethName(h.machine));
          mark('stoppedMs');
          const moved = await putBackHostSnapshot(h.dir, name, h.idBase);
          mark('copiedMs');
          await mountMerged(h.idBase !== undefined ? p.lower : st.imageRootfs, p);
          h.note = undefined;
          h.pid = launchHost(nspawnArgs({ machine: h.machine, hostname: h.name, paths: p, bridge: st.bridge, idBase: h.idBase }), h.cgroups, p.log);
          return moved;
        }),
      );
      await writeState(this.config.dataDir, st);
      const launched = Date.now() - t0;
      const deadline = Date.now() + this.readyTimeoutMs;
      try {
        await Promise.all(st.hosts.map((h) => this.waitReady(h, key, st.spec.services, deadline, undefined, mark)));
      } finally {
        // Off the reset's path: the replaced layers go, and the next spare copy is made from the snapshot.
        this.#afterwards(env.id, 'cleanup after restore', async () => {
          await Promise.all(trash.map((t) => fs.rm(t, { recursive: true, force: true })));
          await Promise.all(st.hosts.map((h) => makeSpare(h.dir, name)));
        });
      }
      await writeState(this.config.dataDir, st);
      this.log.info({ env: env.id, snapshot: name, ms: Date.now() - t0, ...phase, launchedMs: launched }, 'snapshot restored');
    });
  }

  /**
   * Run once when a server starts: environments whose hosts still run are adopted (returned by list()),
   * anything else carrying our names — half-created environments of a dead process, orphan bridges,
   * cgroups, mounts, nspawn processes — is removed.
   */
  async recover(): Promise<RecoverReport> {
    const report: RecoverReport = { adopted: [], reaped: [] };
    const ids = new Set(await listEnvIds(this.config.dataDir));
    for (const id of ids) {
      const st = await readState(this.config.dataDir, id);
      if (creatingHere.has(id)) continue;
      // Still being made by another live process (a pid equal to ours belongs to a dead earlier process).
      if (st?.status === 'creating' && st.creatorPid !== process.pid && pidAlive(st.creatorPid)) continue;
      if (st?.status === 'ready') {
        const alive = await Promise.all(st.hosts.map((h) => isHostProcess(h.pid, h.machine)));
        if (alive.every(Boolean)) {
          report.adopted.push(id);
          continue;
        }
      }
      if (!st) {
        // A directory without a state file may be a creator between mkdir and its first write.
        const age = Date.now() - ((await fs.stat(envDir(this.config.dataDir, id)).catch(() => undefined))?.mtimeMs ?? 0);
        if (age < 10_000) continue;
      }
      await this.teardown(id, st);
      report.reaped.push(id);
    }
    // Resources named like ours whose environment directory is gone.
    const orphanIds = new Set<string>();
    for (const link of await listLinks('bridge')) {
      const m = BRIDGE_RE.exec(link);
      if (m?.[1] && !ids.has(m[1])) orphanIds.add(m[1]);
    }
    for (const parent of await cgroupParents()) {
      for (const e of await fs.readdir(parent).catch(() => [] as string[])) {
        const m = MACHINE_RE.exec(e);
        if (m?.[1] && !ids.has(m[1])) orphanIds.add(m[1]);
      }
    }
    for (const id of await isolatedEnvIds()) if (!ids.has(id)) orphanIds.add(id);
    for (const dir of await staleProbeDirs()) await unmountProbe(dir);
    for (const id of await envIdsWithLoops(envsDir(this.config.dataDir))) if (ENV_ID_RE.test(id) && !ids.has(id)) orphanIds.add(id);
    for (const id of orphanIds) {
      // Another server or test with its own data directory owns it: its recover() decides, not ours.
      if (await ownedElsewhere(id, this.config.dataDir)) continue;
      await this.teardown(id, undefined);
      report.reaped.push(id);
    }
    for (const f of await fs.readdir(subnetsDir).catch(() => [] as string[])) {
      const owner = (await fs.readFile(path.join(subnetsDir, f), 'utf8').catch(() => '')).trim();
      // Checked now, not against the listing above: another process may have created an environment since.
      if (!ENV_ID_RE.test(owner) || !(await envExists(owner))) await fs.rm(path.join(subnetsDir, f), { force: true });
    }
    await reapIdRanges();
    if (report.reaped.length) this.log.info(report, 'recovered leftovers');
    return report;
  }

  private inotifyChecked: Promise<void> | undefined;
  private machineChecked: Promise<void> | undefined;

  /**
   * Commands and cgroup controllers, checked by the first create and remembered (each check starts a
   * process; the machine does not lose them between two creates). A failed check is asked again next time.
   */
  private machineChecks(): Promise<void> {
    this.machineChecked ??= (async () => {
      await this.checkDependencies(false);
      await this.checkLimits();
    })().catch((e: unknown) => {
      this.machineChecked = undefined;
      throw e;
    });
    return this.machineChecked;
  }

  /** Once per provider: room for every host's inotify instances (inotify-room.ts), logged when raised. */
  private ensureInotifyRoom(): Promise<void> {
    this.inotifyChecked ??= ensureInotifyRoom().then(
      (raised) => {
        for (const r of raised) this.log.info(r, `raised ${r.name} from ${r.from} to ${r.to}: every local host's systemd takes inotify instances as root`);
      },
      (e: unknown) => {
        this.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'could not raise fs.inotify limits: more than about 21 hosts at once may fail to boot');
      },
    );
    return this.inotifyChecked;
  }

  /** Refuses before anything is made when this machine cannot limit hosts (unless the config allows it). */
  private async checkLimits(): Promise<void> {
    const problems = (await missingControllers(await hostCgroupSystem())).map((c) => `the ${c} cgroup controller is not available`);
    for (const cmd of ['mkfs.ext4', 'losetup']) if (!(await haveCommand(cmd))) problems.push(`${cmd} not found (Debian package ${cmd === 'losetup' ? 'mount' : 'e2fsprogs'})`);
    if (problems.length === 0) return;
    if (!this.config.allowUnlimitedHosts) throw limitsRefusal(problems.join('; '));
    this.log.warn({ problems }, 'starting hosts without some limits (LABWRIGHT_ALLOW_UNLIMITED_HOSTS)');
  }

  /** The host's disk bound: its directory becomes a mounted ext4 of diskBytes (host-disk.ts). */
  private async applyDiskLimit(hostDir: string): Promise<void> {
    try {
      await mountHostDisk(hostDir, this.limits.diskBytes);
    } catch (e) {
      if (!(e instanceof LimitsError)) throw e;
      if (!this.config.allowUnlimitedHosts) throw limitsRefusal(e.message);
      this.log.warn({ hostDir, err: e.message }, 'host starts without a disk bound (LABWRIGHT_ALLOW_UNLIMITED_HOSTS)');
    }
  }

  private async applyCgroupLimits(machine: string): Promise<string[]> {
    try {
      const cg = await createHostCgroups(machine, this.limits, { allowUnlimited: this.config.allowUnlimitedHosts });
      if (cg.skipped.length) this.log.warn({ machine, skipped: cg.skipped }, 'host starts without some limits (LABWRIGHT_ALLOW_UNLIMITED_HOSTS)');
      return cg.dirs;
    } catch (e) {
      throw e instanceof LimitsError ? limitsRefusal(e.message) : e;
    }
  }

  private toEnvironment(st: EnvRecord, privateKey: string): Environment {
    return {
      id: st.id,
      provider: this.name,
      spec: st.spec,
      hosts: st.hosts.map((h) => ({ name: h.name, address: h.address, port: 22, user: 'root' })),
      privateKey,
      privateKeyPath: keyPath(this.config.dataDir, st.id),
      createdAt: st.createdAt,
      creatorPid: st.creatorPid,
    };
  }

  private async reserveEnvDir(): Promise<{ id: string; dir: string }> {
    await fs.mkdir(envsDir(this.config.dataDir), { recursive: true, mode: 0o700 });
    for (let i = 0; i < 20; i++) {
      const id = newEnvId();
      const dir = envDir(this.config.dataDir, id);
      if (!(await claimEnvId(id, this.config.dataDir))) continue;
      try {
        await fs.mkdir(dir, { mode: 0o700 });
        return { id, dir };
      } catch (e) {
        await releaseEnvId(id);
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
    throw new ProvisionError('internal', 'could not find a free environment id');
  }

  /** One reservation file per subnet (created exclusively), so concurrent processes never share a subnet. */
  private async reserveSubnet(id: string): Promise<Cidr> {
    const dir = subnetsDir;
    await fs.mkdir(dir, { recursive: true });
    const range = parseCidr(this.config.subnetRange);
    const taken: Cidr[] = [...(await usedNetworks())];
    for (const f of await fs.readdir(dir)) taken.push(parseCidr(`${f.replace(/_/g, '/')}`));
    const count = 2 ** (this.config.subnetPrefix - range.prefix);
    // Start at a random block: a subnet freed a moment ago is not handed out again at once (ARP, known_hosts).
    const start = Math.floor(Math.random() * count);
    for (;;) {
      const s = chooseSubnet(range, this.config.subnetPrefix, taken, start);
      if (!s) throw new ProvisionError('internal', `no free /${this.config.subnetPrefix} left in ${this.config.subnetRange}`);
      try {
        await fs.writeFile(path.join(dir, formatCidr(s).replace('/', '_')), `${id}\n`, { flag: 'wx' });
        return s;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        taken.push(s);
      }
    }
  }

  private async waitReady(
    h: HostState,
    key: string,
    services: EnvironmentSpec['services'],
    deadline: number,
    signal?: AbortSignal,
    /** Told when SSH answers and when systemd says it is up (where a restore spends its time). */
    mark?: (phase: 'sshUpMs' | 'systemUpMs') => void,
  ): Promise<void> {
    const abortable = async (): Promise<void> => {
      const client = await connectWhenUp(h.address, key, deadline, signal);
      mark?.('sshUpMs');
      try {
        // One login, a few cheap commands: systemd waits for start-up itself (etcd and Docker are notify
        // units, ready once they serve); no Go CLI (etcdctl, docker) runs in the host to poll. Every process
        // started costs a few ms of CPU on a booting host: the failed units are listed only when some are,
        // and Docker's image store is read by the shell itself (root's shell is bash).
        const script = [
          's=$(systemctl is-system-running --wait 2>/dev/null); echo "system=$s"',
          '[ "$s" = running ] || echo "failed=$(systemctl list-units --failed --no-legend --plain 2>/dev/null | cut -d" " -f1 | tr "\\n" " ")"',
          services.docker
            ? 'systemctl is-active -q docker.service && [[ $(< /var/lib/docker/image/overlay2/repositories.json) == *\'"busybox"\'* ]] && echo docker=ok || echo docker=bad'
            : '',
        ]
          .filter(Boolean)
          .join('\n');
        const r = await exec(client, script, Math.max(1000, deadline - Date.now()));
        mark?.('systemUpMs');
        const field = (k: string): string => new RegExp(`^${k}=(.*)$`, 'm').exec(r.stdout)?.[1]?.trim() ?? '';
        const system = field('system');
        const failed = field('failed').split(' ').filter(Boolean);
        const badService = failed.find((u) => SERVICE_UNITS.includes(u));
        if (badService) throw new Error(`${h.name}: ${badService} failed to start`);
        if (system !== 'running' && system !== 'degraded') throw new Error(`${h.name}: systemd is "${system || 'unknown'}"`);
        if (system === 'degraded') {
          this.log.warn({ host: h.name, failed }, 'host is degraded (units failed that the lab did not ask for)');
          h.note = `degraded: ${failed.join(' ') || 'a unit failed'}`;
        }
        if (services.docker && field('docker') !== 'ok') throw new Error(`${h.name}: docker is not ready`);
      } finally {
        client.end();
      }
      // etcd's own health endpoint, asked from here (its client port is open to the server): a member that
      // restarted because its peers were slow is waited for without any process starting in the host.
      if (services.etcd === 'cluster' && !(await etcdHealthy(h.address, Math.min(deadline, Date.now() + 10_000), signal))) {
        throw new Error(`${h.name}: etcd is not healthy`);
      }
    };
    try {
      await abortable();
    } catch (e) {
      if (signal?.aborted) throw e;
      // A host whose nspawn died says why in its console log; that beats "ssh did not answer".
      const consoleLog = (await fs.readFile(hostPaths(h.dir).log, 'utf8').catch(() => '')).trim().split('\n');
      if (!(await isHostProcess(h.pid, h.machine))) {
        throw new Error(`${h.name} stopped while booting: ${consoleLog.slice(-3).join(' | ') || 'no output'}`);
      }
      // The host's console shows the units that failed; the log file goes with the rollback, so say it here.
      const failures = consoleLog.filter((l) => /FAILED|Failed|emergency|rescue/i.test(l)).slice(-3);
      throw new Error(`${e instanceof Error ? e.message : String(e)}${failures.length ? ` (console: ${failures.join(' | ')})` : ''}`);
    }
  }

  /** Removes everything of environment `id`, recorded in `st` or found by name. Safe to repeat. */
  private async teardown(id: string, st: EnvRecord | undefined): Promise<void> {
    const dir = envDir(this.config.dataDir, id);
    const parents = await cgroupParents();
    const machines = new Set<string>(st?.hosts.map((h) => h.machine) ?? []);
    for (const parent of parents) {
      for (const e of await fs.readdir(parent).catch(() => [] as string[])) if (e.startsWith(`${id}-`) && MACHINE_RE.test(e)) machines.add(e);
    }
    await Promise.all(
      [...machines].map(async (machine) => {
        const host = st?.hosts.find((h) => h.machine === machine);
        const cgroups = new Set<string>(host?.cgroups ?? []);
        for (const parent of parents) cgroups.add(path.join(parent, machine));
        const existing: string[] = [];
        for (const c of cgroups) if (await fs.access(c).then(() => true, () => false)) existing.push(c);
        if (host && (await isHostProcess(host.pid, machine))) process.kill(host.pid, 'SIGKILL');
        await killCgroups(existing);
        await removeCgroups(existing);
        await removeNspawnRuntime(machine);
      }),
    );
    for (const m of (await fs.readFile('/proc/mounts', 'utf8')).split('\n')) {
      const [, mountPoint = ''] = m.split(' ');
      if (!mountPoint.startsWith(`${dir}/hosts/`)) continue;
      const lock = await directoryLockFile(mountPoint);
      if (lock) await fs.rm(lock, { force: true });
    }
    await unmountUnder(dir);
    await detachLoopsUnder(dir);
    // Every process of the environment is dead (killCgroups waited): its id ranges may go to new hosts.
    await releaseIdRanges(id);
    // The host side of each veth goes away with the host's network namespace, but asynchronously.
    const bridge = st?.bridge ?? bridgeName(id);
    await deleteBridge(bridge);
    await unisolate(id);
    const links = await listLinks();
    for (const machine of machines) if (links.includes(vethName(machine))) await deleteBridge(vethName(machine));
    if (st?.subnet) {
      const f = path.join(subnetsDir, st.subnet.replace('/', '_'));
      const owner = (await fs.readFile(f, 'utf8').catch(() => '')).trim();
      if (owner === id) await fs.rm(f, { force: true });
    }
    // Only delete files once nothing is mounted below: rm through a live overlay would write whiteouts, not free space.
    for (let i = 0; i < 20; i++) {
      const mounts = await fs.readFile('/proc/mounts', 'utf8');
      if (!mounts.includes(` ${dir}/`)) break;
      await sleep(50);
      await unmountUnder(dir);
    }
    await fs.rm(dir, { recursive: true, force: true });
    if ((await dataDirOf(id)) === this.config.dataDir) await releaseEnvId(id);
  }
}

/**
 * Waits until every job has ended, then throws the first failure: a create that fails in one host must not
 * roll back while another host's disk or the bridge is still being made (that would be left behind).
 */
async function allDone(jobs: readonly Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(jobs)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

function limitsRefusal(why: string): ProvisionError {
  return new ProvisionError(
    'limits-unavailable',
    `refusing to start hosts without their limits: ${why}. Fix that, or set LABWRIGHT_ALLOW_UNLIMITED_HOSTS=1 to start hosts without the limits that cannot be applied`,
  );
}

export function createLocalProvider(config: LocalProviderConfig, opts: LocalProviderOptions = {}): LocalProvider {
  return new LocalProvider(config, opts);
}
