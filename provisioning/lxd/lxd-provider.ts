// The `lxd` provider: lab hosts as LXD system containers (unprivileged, an id range each) on a bridge of
// their own per environment, created copy-on-write from the same cached image the nspawn hosts boot.
//
// Usage (as root for a local daemon):
//   const provider = createLxdProvider(config, { log });   // config: LxdProviderConfig (the server's Config fits)
//   await provider.recover();                               // once at start: adopt live environments, reap leftovers
//   const env = await provider.create({ hosts: ['host0', 'host1'], services: { etcd: 'cluster', docker: true } });
//   await provider.destroy(env);
// The state of an environment lives in LXD (user.labwright.* keys on its instances); only the SSH key is
// kept here, under <dataDir>/lxd-envs/<id>/. A local daemon is started on first use (lxd-daemon.ts).
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateKeyPair } from '../local/ssh-keys.ts';
import { allHostsReady, progressOf, rollBackCreate } from '../create-steps.ts';
import { ensureImage } from '../image/build-image.ts';
import { pidAlive, withDirLock } from '../image/dir-lock.ts';
import { writeHostFiles } from '../local/host-files.ts';
import { specProblem } from '../local/local-provider.ts';
import { usedNetworks } from '../local/network.ts';
import { RUN_DIR } from '../local/registry.ts';
import { connectWhenUp, exec } from '../local/ssh-probe.ts';
import { addressesIn, chooseSubnet, formatCidr, parseCidr } from '../local/subnet.ts';
import type { Cidr } from '../local/subnet.ts';
import { quietLogger } from '../log.ts';
import type { ProvisionLogger } from '../log.ts';
import { ProvisionError } from '../provider.ts';
import type { CreateOptions, Environment, EnvironmentSpec, HostInfo, Provider, SnapshotInfo } from '../provider.ts';
import { LxdClient, LxdError } from './lxd-client.ts';
import type { LxdEndpoint } from './lxd-client.ts';
import { EXTRA_FILES, KEY, LXD_ENV_ID_RE, LXD_INSTANCE_RE, instanceBody, instanceName, networkConfig, networkName, newLxdEnvId } from './lxd-config.ts';
import type { LxdLimits } from './lxd-config.ts';
import { daemonAnswers, ensureDaemon, stopDaemon } from './lxd-daemon.ts';
import { isolateLxdBridge, lxdIsolatedEnvIds, unisolateLxd } from './lxd-firewall.ts';
import { pickBases, rootSlotBases } from './lxd-idmap.ts';
import { ensureLxdImage } from './lxd-image.ts';
import { createNetwork, placeEnvironment, targetQuery } from './lxd-placement.ts';
import type { Placement } from './lxd-placement.ts';

/** The settings the LXD provider reads; the server's Config has all of them. */
export interface LxdProviderConfig {
  dataDir: string;
  cacheDir: string;
  subnetRange: string;
  subnetPrefix: number;
  hostMemoryMb: number;
  hostCpus: number;
  hostPids: number;
  hostDiskGb: number;
  /** LXD_DIR of the daemon this machine runs (used when lxdUrl is unset). */
  lxdDir: string;
  /** Size of the local daemon's btrfs pool (GiB, a sparse loop file). */
  lxdPoolGb: number;
  /** A remote LXD (https://host:8443) and the PEM client certificate and key it trusts. */
  lxdUrl?: string;
  lxdCert?: string;
  lxdKey?: string;
  lxdServerCert?: string;
}

export interface LxdProviderOptions {
  readyTimeoutMs?: number;
  log?: ProvisionLogger;
}

/** An environment's instances as LXD lists them (GET /1.0/instances?recursion=1). */
interface LxdInstance {
  name: string;
  status: string;
  type: string;
  location?: string;
  config: Record<string, string>;
}

const SERVICE_UNITS = ['ssh.service', 'etcd.service', 'docker.service', 'containerd.service', 'systemd-networkd.service'];
const creatingHere = new Set<string>();

/**
 * Where this machine keeps the subnet reservations of an LXD's environments: one directory for the local
 * daemons (their bridges share this machine), one per remote LXD, so the crash cleanup of a provider
 * (which removes the reservations of environments its LXD does not have) never takes another LXD's.
 */
export function subnetsDirOf(lxdUrl: string | undefined): string {
  if (lxdUrl === undefined) return path.join(RUN_DIR, 'lxd-subnets');
  return path.join(RUN_DIR, `lxd-subnets-${createHash('sha256').update(lxdUrl).digest('hex').slice(0, 12)}`);
}

export class LxdProvider implements Provider {
  readonly name = 'lxd';
  private readonly log: ProvisionLogger;
  private readonly readyTimeoutMs: number;
  private clientP: Promise<LxdClient> | undefined;
  /** True when this provider started the local daemon (a test stops what it started). */
  startedDaemon = false;

  constructor(
    private readonly config: LxdProviderConfig,
    opts: LxdProviderOptions = {},
  ) {
    this.log = opts.log ?? quietLogger;
    this.readyTimeoutMs = opts.readyTimeoutMs ?? 90_000;
  }

  /** Whether the daemon is remote: hosts are then reached through a proxy device on the member, not the bridge. */
  get remote(): boolean {
    return this.config.lxdUrl !== undefined;
  }

  private get subnetsDir(): string {
    return subnetsDirOf(this.config.lxdUrl);
  }

  get limits(): LxdLimits {
    return { memoryMb: this.config.hostMemoryMb, cpus: this.config.hostCpus, pids: this.config.hostPids, diskGb: this.config.hostDiskGb };
  }

  /** The REST client, starting the local daemon on first use. */
  client(): Promise<LxdClient> {
    this.clientP ??= (async () => {
      const c = this.config;
      if (c.lxdUrl !== undefined) {
        if (!c.lxdCert || !c.lxdKey) throw new ProvisionError('missing-dependency', 'a remote LXD (LABWRIGHT_LXD_URL) needs LABWRIGHT_LXD_CERT and LABWRIGHT_LXD_KEY');
        const ep: LxdEndpoint = { url: c.lxdUrl, cert: c.lxdCert, key: c.lxdKey, serverCert: c.lxdServerCert };
        return new LxdClient(ep);
      }
      const { client, started } = await ensureDaemon({ dir: c.lxdDir, poolGb: c.lxdPoolGb });
      if (started) this.log.info({ lxdDir: c.lxdDir }, 'started the LXD daemon');
      this.startedDaemon ||= started;
      return client;
    })();
    this.clientP.catch(() => (this.clientP = undefined));
    return this.clientP;
  }

  /** Closes the client's connections (the daemon keeps running). */
  close(): void {
    void this.clientP?.then((c) => c.close(), () => undefined);
    this.clientP = undefined;
  }

  /** Why VMs cannot be made (undefined: some member can). */
  async vmProblem(): Promise<string | undefined> {
    const client = await this.client();
    const info = await client.get<{ environment: { driver: string; server_clustered?: boolean } }>('/1.0');
    const members: string[] = info.environment.server_clustered ? (await client.get<string[]>('/1.0/cluster/members')).map((u) => u.replace(/^.*\//, '')) : [''];
    const why: string[] = [];
    for (const m of members) {
      const env = m ? (await client.get<{ environment: { driver: string } }>(`/1.0?target=${encodeURIComponent(m)}`)).environment : info.environment;
      if (env.driver.split(/\s*\|\s*/).includes('qemu')) return undefined;
      why.push(`${m || 'this machine'} runs ${env.driver} only`);
    }
    return `no LXD member can run virtual machines (${why.join('; ')}: QEMU/KVM is missing there, e.g. no /dev/kvm or no vhost_vsock)`;
  }

  async create(spec: EnvironmentSpec, opts: CreateOptions = {}): Promise<Environment> {
    const problem = specProblem(spec, this.config.subnetPrefix);
    if (problem) throw new ProvisionError('bad-spec', problem);
    const { signal } = opts;
    const client = await this.client();
    if (spec.vm) {
      const why = await this.vmProblem();
      if (why) throw new ProvisionError('isolation-unavailable', why);
      // The imported image is a container rootfs; a VM needs a disk image with a kernel, not built yet.
      throw new ProvisionError('isolation-unavailable', 'an LXD member here can run virtual machines, but Labwright does not build a virtual-machine image of the lab hosts yet (only the container image); remove `vm: true` to run this lab in containers');
    }
    const image = await ensureImage({ cacheDir: this.config.cacheDir, signal, onProgress: opts.onProgress });
    opts.onProgress?.({ phase: 'image', done: 0, total: 1, message: 'the image in LXD' });
    const fingerprint = await ensureLxdImage(client, image, this.config.lxdDir);
    signal?.throwIfAborted();
    const id = await this.newId(client);
    creatingHere.add(id);
    try {
      return await this.build(client, id, spec, fingerprint, image.rootfs, opts);
    } finally {
      creatingHere.delete(id);
    }
  }

  private async build(client: LxdClient, id: string, spec: EnvironmentSpec, fingerprint: string, imageRootfs: string, opts: CreateOptions): Promise<Environment> {
    const { signal } = opts;
    const progress = progressOf(opts);
    const elog = this.log.child({ env: id });
    const t0 = Date.now();
    const keys = generateKeyPair(`labwright-${id}`);
    const dir = this.envDir(id);
    let placement: Placement | undefined;
    try {
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      await fs.writeFile(path.join(dir, 'id_ed25519'), keys.private, { mode: 0o600 });
      await fs.writeFile(path.join(dir, 'id_ed25519.pub'), `${keys.public}\n`, { mode: 0o600 });
      progress('network', 0, 1, 'choosing a subnet');
      const subnet = await this.reserveSubnet(client, id);
      const addrs = addressesIn(subnet, spec.hosts.length);
      const net = networkConfig(id, addrs.bridge, subnet.prefix);
      // On a cluster: every host on one member (the fewest instances), the network defined on each member.
      placement = await placeEnvironment(client, spec.hosts.length);
      await createNetwork(client, placement, { ...net, config: { ...net.config, 'user.labwright.creator-pid': String(process.pid) } });
      if (!this.remote) await isolateLxdBridge(networkName(id), id);
      progress('network', 1, 1, `network ${networkName(id)} ${formatCidr(subnet)}`);
      signal?.throwIfAborted();

      const peers = spec.hosts.map((name, i) => ({ name, address: addrs.hosts[i]! }));
      const meta = { spec: JSON.stringify(spec), owner: spec.owner, createdAt: Date.now(), creatorPid: process.pid };
      const ports = this.remote ? await this.freePorts(client, spec.hosts.length) : [];
      // Id ranges are chosen and taken (the instances created) under one lock: two creates never share a range.
      await withDirLock(path.join(this.config.lxdDir, 'idmap.lock'), async () => {
        const bases = spec.vm ? [] : await this.freeIdBases(client, peers.length);
        await Promise.all(
          peers.map(async (p, i) => {
            const body = instanceBody({ envId: id, index: i, host: p.name, address: p.address, imageFingerprint: fingerprint, limits: this.limits, vm: spec.vm === true, sshPort: ports[i], idBase: bases[i], meta });
            await client.call('POST', `/1.0/instances${targetQuery(placement!)}`, { body, timeoutMs: 300_000 });
          }),
        );
      }, { signal, pollMs: 20 });
      placement.release();
      progress('boot', 0, peers.length, 'instances created');
      let booted = 0;
      await Promise.all(
        peers.map(async (p, i) => {
          const name = instanceName(id, i);
          await this.pushHostFiles(client, name, imageRootfs, { envId: id, index: i, peers, prefix: subnet.prefix, authorizedKey: keys.public, services: spec.services });
          signal?.throwIfAborted();
          await client.call('PUT', `/1.0/instances/${name}/state`, { body: { action: 'start', timeout: 60 } });
          booted += 1;
          progress('boot', booted, peers.length, `${p.name} booting`);
        }),
      );
      elog.debug({ ms: Date.now() - t0 }, 'hosts started');
      const env = await this.toEnvironment(client, id, await this.instancesOf(client, id));
      const deadline = Date.now() + this.readyTimeoutMs;
      await allHostsReady(env.hosts, (h) => this.waitReady(h, keys.private, spec.services, deadline, signal), progress);
      await Promise.all(peers.map((_, i) => client.call('PATCH', `/1.0/instances/${instanceName(id, i)}`, { body: { config: { [KEY.status]: 'ready' } } })));
      elog.info({ ms: Date.now() - t0, hosts: peers.length }, 'environment ready');
      progress('ready', 1, 1, `environment ${id} ready`);
      return env;
    } catch (e) {
      placement?.release();
      return rollBackCreate(e, id, { signal, log: elog, teardown: () => this.teardown(client, id) });
    }
  }

  async destroy(env: Environment | string): Promise<void> {
    const id = typeof env === 'string' ? env : env.id;
    if (!LXD_ENV_ID_RE.test(id)) throw new ProvisionError('bad-spec', `"${id}" is not an LXD environment id (like lxk3x9a)`);
    await this.teardown(await this.client(), id);
  }

  async list(): Promise<Environment[]> {
    const client = await this.client();
    const out: Environment[] = [];
    for (const [id, insts] of await this.environments(client)) {
      if (!insts.every((i) => i.config[KEY.status] === 'ready')) continue;
      const env = await this.toEnvironment(client, id, insts).catch(() => undefined);
      if (env) out.push(env);
    }
    return out;
  }

  /** Once at start: environments whose hosts all run are adopted; half-made ones of dead processes and orphans go. */
  async recover(): Promise<{ adopted: string[]; reaped: string[] }> {
    const client = await this.client();
    const report = { adopted: [] as string[], reaped: [] as string[] };
    const envs = await this.environments(client);
    for (const [id, insts] of envs) {
      if (creatingHere.has(id)) continue;
      const ready = insts.every((i) => i.config[KEY.status] === 'ready');
      const creator = Number(insts[0]?.config[KEY.creatorPid] ?? 0);
      if (!ready && creator !== process.pid && creator > 0 && pidAlive(creator)) continue;
      const haveKey = await fs.access(path.join(this.envDir(id), 'id_ed25519')).then(() => true, () => false);
      if (ready && haveKey && insts.every((i) => i.status === 'Running')) {
        report.adopted.push(id);
        continue;
      }
      await this.teardown(client, id);
      report.reaped.push(id);
    }
    // Networks, firewall rules, subnets and key directories named like ours whose instances are gone.
    const nets = await client.get<{ name: string; config: Record<string, string> }[]>('/1.0/networks?recursion=1');
    const orphans = new Set<string>();
    for (const n of nets) {
      if (!LXD_ENV_ID_RE.test(n.name) || envs.has(n.name) || creatingHere.has(n.name)) continue;
      const creator = Number(n.config['user.labwright.creator-pid'] ?? 0);
      if (creator !== process.pid && creator > 0 && pidAlive(creator)) continue;
      orphans.add(n.name);
    }
    if (!this.remote) for (const id of await lxdIsolatedEnvIds()) if (!envs.has(id) && !creatingHere.has(id) && !nets.some((n) => n.name === id)) orphans.add(id);
    for (const id of orphans) {
      await this.teardown(client, id);
      report.reaped.push(id);
    }
    for (const f of await fs.readdir(this.subnetsDir).catch(() => [] as string[])) {
      const owner = (await fs.readFile(path.join(this.subnetsDir, f), 'utf8').catch(() => '')).trim();
      if (!LXD_ENV_ID_RE.test(owner) || (!envs.has(owner) && !creatingHere.has(owner) && !nets.some((n) => n.name === owner))) await fs.rm(path.join(this.subnetsDir, f), { force: true });
    }
    if (report.reaped.length) this.log.info(report, 'recovered leftovers');
    return report;
  }

  async snapshot(env: Environment, name: string): Promise<SnapshotInfo> {
    const client = await this.client();
    const insts = await this.instancesOf(client, env.id);
    await Promise.all(
      insts.map(async (i) => {
        if (await client.exists(`/1.0/instances/${i.name}/snapshots/${encodeURIComponent(name)}`)) {
          await client.call('DELETE', `/1.0/instances/${i.name}/snapshots/${encodeURIComponent(name)}`);
        }
        await client.call('POST', `/1.0/instances/${i.name}/snapshots`, { body: { name, stateful: false } });
      }),
    );
    // The time LXD recorded, so that snapshotInfo() later names the same snapshot by the same takenAt.
    return (await this.snapshotInfo(env, name)) ?? { name, takenAt: Date.now() };
  }

  /** The snapshot as LXD holds it now: every host must have one of that name; takenAt is the earliest. */
  async snapshotInfo(env: Environment, name: string): Promise<SnapshotInfo | undefined> {
    const client = await this.client();
    const insts = await this.instancesOf(client, env.id);
    if (insts.length === 0 || insts.length !== env.hosts.length) return undefined;
    const snaps = await Promise.all(
      insts.map((i) =>
        client.get<{ created_at?: string }>(`/1.0/instances/${i.name}/snapshots/${encodeURIComponent(name)}`).catch((e: unknown) => {
          if (e instanceof LxdError && e.status === 404) return undefined;
          throw e;
        }),
      ),
    );
    const times = snaps.map((s) => (s?.created_at ? Date.parse(s.created_at) : NaN));
    if (times.some((t) => Number.isNaN(t))) return undefined;
    return { name, takenAt: Math.min(...times) };
  }

  async restore(env: Environment, name: string): Promise<void> {
    const client = await this.client();
    const insts = await this.instancesOf(client, env.id);
    // A running container is stopped, rolled back and started again by LXD.
    await Promise.all(insts.map((i) => client.call('PUT', `/1.0/instances/${i.name}`, { body: { restore: name } })));
    await Promise.all(insts.map((i) => client.call('PUT', `/1.0/instances/${i.name}/state`, { body: { action: 'start', timeout: 60 } }).catch(() => undefined)));
    const key = await fs.readFile(path.join(this.envDir(env.id), 'id_ed25519'), 'utf8');
    const deadline = Date.now() + this.readyTimeoutMs;
    await Promise.all(env.hosts.map((h) => this.waitReady(h, key, env.spec.services, deadline)));
  }

  private envDir(id: string): string {
    return path.join(this.config.dataDir, 'lxd-envs', id);
  }

  private async newId(client: LxdClient): Promise<string> {
    for (let i = 0; i < 20; i++) {
      const id = newLxdEnvId();
      if (creatingHere.has(id)) continue;
      if (await client.exists(`/1.0/networks/${networkName(id)}`)) continue;
      return id;
    }
    throw new ProvisionError('internal', 'could not find a free environment id');
  }

  /** Our instances grouped by environment id. */
  private async environments(client: LxdClient): Promise<Map<string, LxdInstance[]>> {
    const all = await client.get<LxdInstance[]>('/1.0/instances?recursion=1');
    const byEnv = new Map<string, LxdInstance[]>();
    for (const inst of all) {
      const m = LXD_INSTANCE_RE.exec(inst.name);
      if (!m?.[1] || inst.config[KEY.env] !== m[1]) continue;
      const list = byEnv.get(m[1]) ?? [];
      list.push(inst);
      byEnv.set(m[1], list);
    }
    for (const list of byEnv.values()) list.sort((a, b) => Number(a.config[KEY.index]) - Number(b.config[KEY.index]));
    return byEnv;
  }

  private async instancesOf(client: LxdClient, id: string): Promise<LxdInstance[]> {
    return (await this.environments(client)).get(id) ?? [];
  }

  private async toEnvironment(client: LxdClient, id: string, insts: LxdInstance[]): Promise<Environment> {
    const keyFile = path.join(this.envDir(id), 'id_ed25519');
    const privateKey = await fs.readFile(keyFile, 'utf8');
    const first = insts[0]?.config ?? {};
    const spec = JSON.parse(first[KEY.spec] ?? '{}') as EnvironmentSpec;
    const hosts: HostInfo[] = [];
    for (const inst of insts) {
      const port = inst.config[KEY.sshPort];
      if (port !== undefined) hosts.push({ name: inst.config[KEY.host]!, address: await this.memberAddress(client, inst), port: Number(port), user: 'root' });
      else hosts.push({ name: inst.config[KEY.host]!, address: inst.config[KEY.address]!, port: 22, user: 'root' });
    }
    return { id, provider: this.name, spec, hosts, privateKey, privateKeyPath: keyFile, createdAt: Number(first[KEY.createdAt] ?? 0), creatorPid: Number(first[KEY.creatorPid] ?? 0) || undefined };
  }

  /** The address of the machine an instance runs on, as the server reaches it (a proxy device listens there). */
  private async memberAddress(client: LxdClient, inst: LxdInstance): Promise<string> {
    if (inst.location && inst.location !== 'none') {
      const member = await client.get<{ url: string }>(`/1.0/cluster/members/${encodeURIComponent(inst.location)}`).catch(() => undefined);
      if (member?.url) return new URL(member.url).hostname;
    }
    return new URL(this.config.lxdUrl ?? 'https://127.0.0.1').hostname;
  }

  /** Id ranges no other instance of this daemon uses. */
  private async freeIdBases(client: LxdClient, n: number): Promise<number[]> {
    const used = new Set<number>();
    for (const i of await client.get<LxdInstance[]>('/1.0/instances?recursion=1')) {
      for (const k of ['security.idmap.base', 'volatile.idmap.base']) if (i.config[k]) used.add(Number(i.config[k]));
    }
    const picked = pickBases(await rootSlotBases(), used, n);
    if (typeof picked === 'string') throw new ProvisionError('isolation-unavailable', picked);
    return picked;
  }

  /** Ports for the proxy devices of a remote environment: not used by any other of our instances. */
  private async freePorts(client: LxdClient, n: number): Promise<number[]> {
    const used = new Set<number>();
    for (const insts of (await this.environments(client)).values()) for (const i of insts) if (i.config[KEY.sshPort]) used.add(Number(i.config[KEY.sshPort]));
    const out: number[] = [];
    while (out.length < n) {
      const p = 20_000 + Math.floor(Math.random() * 20_000);
      if (!used.has(p)) {
        used.add(p);
        out.push(p);
      }
    }
    return out;
  }

  /** The local provider's host files (written to a scratch tree, then pushed through LXD's file API). */
  private async pushHostFiles(client: LxdClient, instance: string, imageRootfs: string, input: Parameters<typeof writeHostFiles>[1]): Promise<void> {
    const scratch = await fs.mkdtemp(path.join(this.config.lxdDir, `.files-${instance}-`));
    try {
      await writeHostFiles(scratch, input);
      for (const f of EXTRA_FILES) {
        await fs.mkdir(path.dirname(path.join(scratch, f.path)), { recursive: true });
        await fs.writeFile(path.join(scratch, f.path), f.content, { mode: 0o644 });
      }
      const entries = await walk(scratch, '');
      for (const e of entries) {
        const url = `/1.0/instances/${instance}/files?path=${encodeURIComponent(`/${e.rel}`)}`;
        const headers: Record<string, string> = { 'X-LXD-uid': '0', 'X-LXD-gid': '0', 'X-LXD-write': 'overwrite' };
        if (e.kind === 'dir') {
          // Directories the image has already are left as they are.
          if (await fs.access(path.join(imageRootfs, e.rel)).then(() => true, () => false)) continue;
          await client.call('POST', url, { headers: { ...headers, 'X-LXD-type': 'directory', 'X-LXD-mode': e.mode }, body: '' });
        } else if (e.kind === 'link') {
          await client.call('POST', url, { headers: { ...headers, 'X-LXD-type': 'symlink' }, body: await fs.readlink(path.join(scratch, e.rel)) });
        } else {
          await client.call('POST', url, { headers: { ...headers, 'X-LXD-type': 'file', 'X-LXD-mode': e.mode }, body: await fs.readFile(path.join(scratch, e.rel)) });
        }
      }
    } finally {
      await fs.rm(scratch, { recursive: true, force: true });
    }
  }

  /** Reserves a subnet no other environment (ours, the local provider's, LXD's networks) uses. */
  private async reserveSubnet(client: LxdClient, id: string): Promise<Cidr> {
    await fs.mkdir(this.subnetsDir, { recursive: true });
    const range = parseCidr(this.config.subnetRange);
    const taken: Cidr[] = [...(await usedNetworks())];
    for (const n of await client.get<{ config: Record<string, string> }[]>('/1.0/networks?recursion=1')) {
      const a = n.config['ipv4.address'];
      if (a && a !== 'none' && a !== 'auto') taken.push(parseCidr(a));
    }
    for (const f of await fs.readdir(this.subnetsDir)) taken.push(parseCidr(f.replace(/_/g, '/')));
    for (const f of await fs.readdir(path.join(RUN_DIR, 'subnets')).catch(() => [] as string[])) taken.push(parseCidr(f.replace(/_/g, '/')));
    const count = 2 ** (this.config.subnetPrefix - range.prefix);
    const start = Math.floor(Math.random() * count);
    for (;;) {
      const s = chooseSubnet(range, this.config.subnetPrefix, taken, start);
      if (!s) throw new ProvisionError('internal', `no free /${this.config.subnetPrefix} left in ${this.config.subnetRange}`);
      try {
        await fs.writeFile(path.join(this.subnetsDir, formatCidr(s).replace('/', '_')), `${id}\n`, { flag: 'wx' });
        return s;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        taken.push(s);
      }
    }
  }

  /** The local provider's readiness: SSH answers, systemd running, the lab's services healthy. */
  private async waitReady(h: HostInfo, key: string, services: EnvironmentSpec['services'], deadline: number, signal?: AbortSignal): Promise<void> {
    const client = await connectWhenUp(h.address, key, deadline, signal, h.port);
    try {
      const script = [
        'echo "system=$(systemctl is-system-running --wait 2>/dev/null)"',
        'echo "failed=$(systemctl list-units --failed --no-legend --plain 2>/dev/null | cut -d" " -f1 | tr "\\n" " ")"',
        services.etcd === 'cluster'
          ? 'for i in $(seq 1 100); do etcdctl endpoint health >/dev/null 2>&1 && break; sleep 0.1; done; etcdctl endpoint health >/dev/null 2>&1 && echo etcd=ok || echo etcd=bad'
          : '',
        services.docker ? 'docker image inspect busybox >/dev/null 2>&1 && echo docker=ok || echo docker=bad' : '',
      ]
        .filter(Boolean)
        .join('\n');
      const r = await exec(client, script, Math.max(1000, deadline - Date.now()));
      const field = (k: string): string => new RegExp(`^${k}=(.*)$`, 'm').exec(r.stdout)?.[1]?.trim() ?? '';
      const system = field('system');
      const failed = field('failed').split(' ').filter(Boolean);
      const bad = failed.find((u) => SERVICE_UNITS.includes(u));
      if (bad) throw new Error(`${h.name}: ${bad} failed to start`);
      if (system !== 'running' && system !== 'degraded') throw new Error(`${h.name}: systemd is "${system || 'unknown'}"`);
      if (system === 'degraded') this.log.warn({ host: h.name, failed }, 'host is degraded (units failed that the lab did not ask for)');
      if (services.etcd === 'cluster' && field('etcd') !== 'ok') throw new Error(`${h.name}: etcd is not healthy`);
      if (services.docker && field('docker') !== 'ok') throw new Error(`${h.name}: docker is not ready`);
    } finally {
      client.end();
    }
  }

  /** Removes every instance, the network, firewall rules, subnet reservation and key of `id`. Safe to repeat. */
  private async teardown(client: LxdClient, id: string): Promise<void> {
    const insts = await this.instancesOf(client, id);
    await Promise.all(
      insts.map(async (i) => {
        if (i.status !== 'Stopped') await whenIdle(() => client.call('PUT', `/1.0/instances/${i.name}/state`, { body: { action: 'stop', force: true, timeout: 30 } })).catch(ignoreGone);
        await whenIdle(() => client.call('DELETE', `/1.0/instances/${i.name}`)).catch(ignoreGone);
      }),
    );
    await client.call('DELETE', `/1.0/networks/${networkName(id)}`).catch(ignoreGone);
    if (!this.remote) await unisolateLxd(id);
    for (const f of await fs.readdir(this.subnetsDir).catch(() => [] as string[])) {
      const owner = (await fs.readFile(path.join(this.subnetsDir, f), 'utf8').catch(() => '')).trim();
      if (owner === id) await fs.rm(path.join(this.subnetsDir, f), { force: true });
    }
    await fs.rm(this.envDir(id), { recursive: true, force: true });
  }
}

/** Retries while LXD says the instance is busy with another operation (a start being rolled back). */
async function whenIdle<T>(f: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await f();
    } catch (e) {
      if (i >= 100 || !(e instanceof LxdError && /busy|already stopped/i.test(e.message))) throw e;
      if (/already stopped/i.test(e.message)) return undefined as T;
      await sleep(200);
    }
  }
}

function ignoreGone(e: unknown): void {
  if (e instanceof LxdError && (e.status === 404 || /not found/i.test(e.message))) return;
  throw e;
}

interface Entry {
  rel: string;
  kind: 'dir' | 'file' | 'link';
  /** Octal, as LXD's X-LXD-mode header wants it. */
  mode: string;
}

/** Every entry under root, parents before children. */
async function walk(root: string, rel: string): Promise<Entry[]> {
  const out: Entry[] = [];
  for (const d of await fs.readdir(path.join(root, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${d.name}` : d.name;
    const st = await fs.lstat(path.join(root, r));
    const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
    if (d.isSymbolicLink()) out.push({ rel: r, kind: 'link', mode });
    else if (d.isDirectory()) {
      out.push({ rel: r, kind: 'dir', mode });
      out.push(...(await walk(root, r)));
    } else out.push({ rel: r, kind: 'file', mode });
  }
  return out;
}

export function createLxdProvider(config: LxdProviderConfig, opts: LxdProviderOptions = {}): LxdProvider {
  return new LxdProvider(config, opts);
}

/**
 * `labwright env lxd-stop`: the provider starts its own daemon on first use and leaves it running after
 * `serve` exits (its containers are the environments a restarted server adopts); this destroys those
 * environments and stops that daemon (which unmounts its storage pool). Not for a remote LXD.
 */
export async function stopLocalLxd(config: LxdProviderConfig, opts: LxdProviderOptions = {}): Promise<{ wasRunning: boolean; destroyed: string[] }> {
  if (config.lxdUrl) throw new ProvisionError('bad-spec', 'a remote LXD (LABWRIGHT_LXD_URL) is not ours to stop');
  if (!(await daemonAnswers(config.lxdDir))) return { wasRunning: false, destroyed: [] };
  const provider = createLxdProvider(config, opts);
  const destroyed: string[] = [];
  try {
    for (const e of await provider.list()) {
      await provider.destroy(e);
      destroyed.push(e.id);
    }
  } finally {
    provider.close();
  }
  await stopDaemon(config.lxdDir);
  return { wasRunning: true, destroyed };
}
