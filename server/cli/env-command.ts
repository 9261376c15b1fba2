// `labwright env`: lab hosts on this machine from the command line — up (for a lab or N hosts), ls,
// down, ssh — and `env image` to build the cached host image ahead of time (scripts/setup.sh does).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { LAB_ID, MAX_HOSTS } from '../../common/lab.ts';
import { ensureImage } from '../../provisioning/image/build-image.ts';
import { createLocalProvider } from '../../provisioning/local/local-provider.ts';
import { LXD_ENV_ID_RE } from '../../provisioning/lxd/lxd-config.ts';
import { createLxdProvider, stopLocalLxd } from '../../provisioning/lxd/lxd-provider.ts';
import type { Provider } from '../../provisioning/provider.ts';
import { ENV_ID_RE } from '../../provisioning/local/names.ts';
import { ProvisionError } from '../../provisioning/provider.ts';
import type { Environment, EnvironmentSpec, ProvisionProgress } from '../../provisioning/provider.ts';
import { loadConfig } from '../config.ts';
import type { Config } from '../config.ts';
import { LAB_FILE } from '../labs/lab-catalog.ts';
import { loadLabFile } from '../labs/lint-lab.ts';
import { logger, setLogLevel } from '../log.ts';
import type { Command } from './command.ts';
import { UsageError } from './command.ts';

const USAGE = `labwright env <subcommand>

  up <lab-id> [--json]                       hosts and services as the lab's front matter asks
  up --hosts N [--etcd] [--docker] [--json]  N hosts (host0…), optionally an etcd cluster and Docker
                                             (--services etcd,docker is the same as --etcd --docker)
  ls [--json]                                environments on this machine
  down <env-id…> | --all                     destroy environments (--all also reaps crash leftovers)
  ssh <env-id> <host> [command…]             ssh into a host as root with the environment's key
  reap                                       remove leftovers of crashed runs; keep live environments
  image [--force]                            build the cached host image now (with progress)
  lxd-stop                                   destroy the LXD provider's environments and stop the LXD
                                             daemon Labwright started here (LABWRIGHT_LXD_DIR)

Runs as root. Hosts stay up after the command exits, until \`env down\`.`;

const KNOWN_SERVICES = ['etcd', 'docker'] as const;

function sshArgs(env: Environment, address: string): string[] {
  return ['-i', env.privateKeyPath, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', `root@${address}`];
}

/** Progress on stderr: a redrawn bar on a terminal, a line per tenth otherwise (CI logs). */
function progressPrinter(): (p: ProvisionProgress) => void {
  let lastTenth = -1;
  return (p) => {
    const frac = p.total > 0 ? p.done / p.total : 0;
    if (p.phase === 'image') {
      if (process.stderr.isTTY) {
        const width = 30;
        const filled = Math.round(frac * width);
        process.stderr.write(`\r\x1b[2Kimage [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.round(frac * 100)}% ${p.message.slice(0, 40)}`);
        if (p.done >= p.total) process.stderr.write('\n');
      } else {
        const tenth = Math.floor(frac * 10);
        if (tenth !== lastTenth) {
          lastTenth = tenth;
          process.stderr.write(`image ${tenth * 10}% ${p.message}\n`);
        }
      }
      return;
    }
    if (p.phase === 'ready' || p.phase === 'services' || p.phase === 'network') process.stderr.write(`${p.phase}: ${p.message}\n`);
  };
}

async function specFromLab(config: Config, id: string): Promise<EnvironmentSpec> {
  if (!LAB_ID.test(id)) throw new UsageError(`"${id}" is not a lab id (lowercase letters, digits and dashes)`);
  const file = path.join(config.labsDir, id, LAB_FILE);
  const load = await loadLabFile(file, id);
  if (!load.ok) {
    const first = load.problems.find((p) => p.severity === 'error') ?? load.problems[0];
    throw new UsageError(first ? `lab ${id}: ${first.file}:${first.line}: ${first.message}` : `lab ${id} cannot be loaded`);
  }
  return { hosts: load.lab.meta.hosts, services: { ...load.lab.meta.services }, owner: `cli:${id}`, ...(load.lab.meta.vm ? { vm: true } : {}) };
}

export function parseUpArgs(args: string[]): { lab?: string; hosts?: number; etcd: boolean; docker: boolean; json: boolean } {
  const out: { lab?: string; hosts?: number; etcd: boolean; docker: boolean; json: boolean } = { etcd: false, docker: false, json: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = (): string => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '--json') out.json = true;
    else if (a === '--etcd') out.etcd = true;
    else if (a === '--docker') out.docker = true;
    else if (a === '--hosts' || a.startsWith('--hosts=')) {
      const raw = value();
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 1 || n > MAX_HOSTS) throw new UsageError(`--hosts must be a whole number from 1 to ${MAX_HOSTS}, got "${raw}"`);
      out.hosts = n;
    } else if (a === '--services' || a.startsWith('--services=')) {
      for (const s of value().split(',').map((x) => x.trim()).filter(Boolean)) {
        if (s === 'etcd') out.etcd = true;
        else if (s === 'docker') out.docker = true;
        else throw new UsageError(`unknown service "${s}"; known services: ${KNOWN_SERVICES.join(', ')}`);
      }
    } else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
    else if (out.lab === undefined) out.lab = a;
    else throw new UsageError(`unexpected argument "${a}"`);
  }
  if (out.lab !== undefined && out.hosts !== undefined) throw new UsageError('give a lab id or --hosts N, not both');
  if (out.lab === undefined && out.hosts === undefined) throw new UsageError('give a lab id or --hosts N (see labwright env --help)');
  if (out.lab !== undefined && (out.etcd || out.docker)) throw new UsageError("a lab's services come from its front matter; --etcd/--docker go with --hosts");
  return out;
}

/** The provider `env` commands work with (LABWRIGHT_PROVIDER: local or lxd). */
type EnvProvider = Provider & { recover(): Promise<{ adopted: string[]; reaped: string[] }> };

function envProvider(config: Config): EnvProvider {
  if (config.provider === 'lxd') return createLxdProvider(config, { log: logger('lxd-provider') });
  return createLocalProvider(config, { log: logger('local-provider') });
}

function printEnv(env: Environment): void {
  console.log(`environment ${env.id} (${env.hosts.length} host${env.hosts.length === 1 ? '' : 's'}; etcd: ${env.spec.services.etcd}, docker: ${env.spec.services.docker ? 'yes' : 'no'})`);
  for (const h of env.hosts) console.log(`  ${h.name.padEnd(8)} ${h.address.padEnd(15)} ssh ${sshArgs(env, h.address).join(' ')}`);
}

function envJson(env: Environment): unknown {
  return {
    id: env.id,
    provider: env.provider,
    services: env.spec.services,
    owner: env.spec.owner ?? null,
    createdAt: new Date(env.createdAt).toISOString(),
    privateKeyPath: env.privateKeyPath,
    hosts: env.hosts.map((h) => ({ name: h.name, address: h.address, port: h.port, user: h.user, ssh: `ssh ${sshArgs(env, h.address).join(' ')}` })),
  };
}

async function up(provider: EnvProvider, config: Config, args: string[]): Promise<number> {
  const o = parseUpArgs(args);
  const spec: EnvironmentSpec =
    o.lab !== undefined
      ? await specFromLab(config, o.lab)
      : { hosts: Array.from({ length: o.hosts ?? 0 }, (_, i) => `host${i}`), services: { etcd: o.etcd ? 'cluster' : 'none', docker: o.docker }, owner: 'cli' };
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const t0 = Date.now();
    const env = await provider.create(spec, { signal: abort.signal, onProgress: progressPrinter() });
    if (o.json) console.log(JSON.stringify({ ...(envJson(env) as object), readyMs: Date.now() - t0 }, null, 2));
    else {
      printEnv(env);
      console.log(`ready in ${((Date.now() - t0) / 1000).toFixed(1)} s; remove with: labwright env down ${env.id}`);
    }
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function ls(provider: EnvProvider, args: string[]): Promise<number> {
  const unknown = args.find((a) => a !== '--json');
  if (unknown) throw new UsageError(`unknown argument ${unknown}; usage: labwright env ls [--json]`);
  const envs = await provider.list();
  if (args.includes('--json')) console.log(JSON.stringify(envs.map(envJson), null, 2));
  else if (envs.length === 0) console.log('no environments');
  else for (const e of envs) printEnv(e);
  return 0;
}

async function down(provider: EnvProvider, args: string[]): Promise<number> {
  if (args.length === 0) throw new UsageError('give environment ids or --all');
  if (args.includes('--all')) {
    if (args.length > 1) throw new UsageError('--all takes no ids');
    const envs = await provider.list();
    for (const e of envs) await provider.destroy(e);
    const r = await provider.recover();
    console.log(`destroyed ${envs.length} environment(s)${r.reaped.length ? `, reaped ${r.reaped.length} leftover(s)` : ''}`);
    return 0;
  }
  const bad = args.find((a) => !ENV_ID_RE.test(a) && !LXD_ENV_ID_RE.test(a));
  if (bad !== undefined) throw new UsageError(`"${bad}" is not an environment id (like lwk3x9a, or lxk3x9a for LXD); see labwright env ls`);
  for (const id of args) {
    await provider.destroy(id);
    console.log(`destroyed ${id}`);
  }
  return 0;
}

async function ssh(provider: EnvProvider, args: string[]): Promise<number> {
  const [id, host, ...command] = args;
  if (id === undefined || host === undefined) throw new UsageError('usage: labwright env ssh <env-id> <host> [command…]');
  const env = (await provider.list()).find((e) => e.id === id);
  if (!env) throw new UsageError(`no environment ${id}; see labwright env ls`);
  const h = env.hosts.find((x) => x.name === host);
  if (!h) throw new UsageError(`environment ${id} has no host "${host}"; hosts: ${env.hosts.map((x) => x.name).join(', ')}`);
  const tty = command.length === 0 && process.stdin.isTTY ? ['-t'] : [];
  const child = spawn('ssh', [...tty, ...sshArgs(env, h.address), ...command], { stdio: 'inherit' });
  return new Promise((resolve) => {
    child.on('error', (e) => {
      console.error(`labwright env ssh: ${e.message}`);
      resolve(1);
    });
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

async function image(config: Config, args: string[]): Promise<number> {
  const unknown = args.find((a) => a !== '--force');
  if (unknown) throw new UsageError(`unknown argument ${unknown}; usage: labwright env image [--force]`);
  const provider = createLocalProvider(config, { log: logger('local-provider') });
  await provider.checkDependencies(true);
  const t0 = Date.now();
  const info = await ensureImage({ cacheDir: config.cacheDir, force: args.includes('--force'), onProgress: progressPrinter() });
  // The Docker store with the image's container images imported, made by booting one host once.
  await provider.prepareDockerSeed();
  const size = info.sizeBytes ? `, ${Math.round(info.sizeBytes / 1e6)} MB` : '';
  console.log(`host image ${info.hash} at ${info.rootfs}${size} (${Date.now() - t0 < 2000 ? 'cached' : `built in ${Math.round((Date.now() - t0) / 1000)} s`})`);
  return 0;
}

async function lxdStop(config: Config, args: string[]): Promise<number> {
  if (args.length) throw new UsageError('usage: labwright env lxd-stop');
  if (config.lxdUrl) throw new UsageError(`LABWRIGHT_LXD_URL names a remote LXD (${config.lxdUrl}); lxd-stop only stops the daemon Labwright started on this machine`);
  const r = await stopLocalLxd(config, { log: logger('lxd-provider') });
  if (!r.wasRunning) console.log(`no LXD daemon of Labwright runs here (LXD_DIR=${config.lxdDir})`);
  else console.log(`destroyed ${r.destroyed.length} LXD environment(s); stopped the LXD daemon (LXD_DIR=${config.lxdDir})`);
  return 0;
}

export const envCommand: Command = {
  summary: 'lab hosts on this machine: up, ls, down, ssh, reap, image, lxd-stop',
  usage: USAGE,
  async run(args: string[]): Promise<number> {
    const [sub, ...rest] = args;
    const config = loadConfig();
    // The CLI speaks in lines of its own; the structured log only carries warnings here.
    setLogLevel(config.logLevel === 'info' ? 'warn' : config.logLevel);
    if (sub === 'lxd-stop') return await lxdStop(config, rest);
    const provider = envProvider(config);
    try {
      switch (sub) {
        case 'up':
          return await up(provider, config, rest);
        case 'ls':
          return await ls(provider, rest);
        case 'down':
          return await down(provider, rest);
        case 'ssh':
          return await ssh(provider, rest);
        case 'image':
          return await image(config, rest);
        case 'reap': {
          if (rest.length) throw new UsageError('usage: labwright env reap');
          const r = await provider.recover();
          console.log(`reaped ${r.reaped.length} leftover environment(s)${r.reaped.length ? `: ${r.reaped.join(' ')}` : ''}; ${r.adopted.length} live`);
          return 0;
        }
        case undefined:
          throw new UsageError('missing subcommand: up, ls, down, ssh, reap, image or lxd-stop');
        default:
          throw new UsageError(`unknown subcommand "${sub}": up, ls, down, ssh, reap, image or lxd-stop`);
      }
    } catch (e) {
      if (e instanceof ProvisionError) {
        if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
        console.error(`labwright env: ${e.message}`);
        return e.code === 'bad-spec' || e.code === 'not-root' || e.code === 'missing-dependency' ? 2 : 1;
      }
      throw e;
    }
  },
};
