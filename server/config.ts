// Configuration, parsed once at start into a frozen typed object; nothing else reads process.env.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { defaultBootConcurrency } from '../provisioning/boot-queue.ts';
import type { HostIsolation } from '../provisioning/local/local-provider.ts';

export type { HostIsolation };

/** Everything the server reads at start; it includes every setting the local provider asks for (LocalProviderConfig). */
export interface Config {
  /** Address to bind; loopback by default. */
  bind: string;
  port: number;
  /** Every HTTP and WebSocket URL is built under this path ("/" or "/labwright/"). */
  basePath: string;
  /**
   * Further origins allowed to open WebSockets (LABWRIGHT_ORIGINS), matched exactly, besides the
   * origins of the names the server serves (see publicUrls); they add no name to serve.
   */
  allowedOrigins: string[];
  labsDir: string;
  /** State (database, keys) lives here. */
  dataDir: string;
  /** The host image and other rebuildable caches live here. */
  cacheDir: string;
  /** Private range from which each environment gets its own subnet. */
  subnetRange: string;
  /** Prefix length of one environment's subnet. */
  subnetPrefix: number;
  /**
   * K of the workshops' warm pools: each open workshop keeps min(seats − joined, max(K, joins in the last
   * minute)) environments of its lab ready (server/workshops/workshop-pools.ts). 0 turns pools off.
   */
  poolSize: number;
  /** Environments booted at once, handed out in order of arrival (provisioning/boot-queue.ts). */
  bootConcurrency: number;
  /**
   * After a crash, how long a restarted server keeps the hosts of a session that is not a running
   * workshop's attendee (a solo page) for that session to come back before destroying them.
   */
  reconnectGraceMs: number;
  logLevel: string;
  /**
   * The instructor credential (LABWRIGHT_INSTRUCTOR_TOKEN). Unset: `labwright serve` generates
   * one at start and prints it once.
   */
  instructorToken: string | undefined;
  /**
   * Where attendees reach the server when that is not this machine's own address: a reverse
   * proxy or a DNS name (LABWRIGHT_PUBLIC_URL, comma-separated), e.g. https://labs.example.org/.
   * Normalised to origin + base path. Requests for any other name are refused (DNS rebinding).
   */
  publicUrls: string[];
  /**
   * Addresses or CIDRs of reverse proxies (LABWRIGHT_TRUSTED_PROXY, comma-separated) whose
   * X-Forwarded-For and X-Forwarded-Proto are believed; from anyone else they are ignored.
   */
  trustedProxies: string[];
  /**
   * Solo mode, where anyone who opens the page gets hosts without logging in (LABWRIGHT_SOLO).
   * auto: on only when bound to loopback with no public URL and no trusted proxy.
   */
  solo: SoloSetting;
  /** Session lifetimes and per-client caps (LABWRIGHT_SESSION_*, …); see SessionLimits. */
  sessions: Readonly<SessionLimits>;
  /** Memory limit of each local lab host (its page cache included), in MiB. */
  hostMemoryMb: number;
  /**
   * CPU quota of each local lab host in CPUs (1.5 = one and a half). 0 (the default): no quota, only the
   * weight — hosts share the CPU fairly and together weigh as one peer of the server, but an idle machine
   * lets one host build at full speed (a 1-CPU quota would hold a lab's Docker builds to half of a 2-core machine).
   */
  hostCpus: number;
  /** Most processes and threads one local lab host may have at once. */
  hostPids: number;
  /** Size of each local lab host's disk (its overlay upper dir and /var/lib/docker), in GiB. */
  hostDiskGb: number;
  /**
   * Start hosts even where a limit cannot be applied (missing cgroup controller, no loop device);
   * off by default: the provider refuses instead. Logged as a warning at start when on.
   */
  allowUnlimitedHosts: boolean;
  /**
   * Snapshot an environment's hosts as each step opens, for "Reset this step" (LABWRIGHT_STEP_SNAPSHOTS,
   * 1 by default; 0 turns it off: the button then says a full reset is needed). Each snapshot freezes the hosts while it copies.
   */
  stepSnapshots: boolean;
  /**
   * How local lab hosts run (LABWRIGHT_HOST_ISOLATION). userns (default): each host in its own user
   * namespace and id range, so root in a host is an unprivileged uid on this machine; the provider
   * refuses to start hosts where the kernel cannot do it. privileged: root in a host is root here.
   */
  hostIsolation: HostIsolation;
  /**
   * Service previews get one origin each, `<token>.<previewDomain>` (LABWRIGHT_PREVIEW_DOMAIN, a
   * wildcard DNS name pointing at this server, e.g. preview.labs.example.org). Unset: a loopback
   * server uses `<token>.preview.localhost`; any other server has no previews.
   */
  previewDomain: string | undefined;
  /**
   * Where lab hosts come from (LABWRIGHT_PROVIDER). local (default): systemd-nspawn machines on this
   * machine, made per attendee. inventory: hosts that already exist, listed in `inventoryFile`.
   */
  provider: ProviderName;
  /** The inventory file (LABWRIGHT_INVENTORY), absolute; set exactly when provider is inventory. */
  inventoryFile: string | undefined;
  /** The ssh-agent socket (SSH_AUTH_SOCK) that inventory hosts with `agent: true` log in with. */
  sshAuthSock: string | undefined;
  /** LXD_DIR of the LXD daemon the lxd provider starts on this machine (LABWRIGHT_LXD_DIR, default <cacheDir>/lxd). */
  lxdDir: string;
  /** Size in GiB of that daemon's btrfs storage pool, a sparse loop file (LABWRIGHT_LXD_POOL_GB, default 50). */
  lxdPoolGb: number;
  /** A remote LXD or cluster (LABWRIGHT_LXD_URL, https://host:8443) instead of a daemon here. */
  lxdUrl?: string;
  /** PEM client certificate and key that remote LXD trusts (LABWRIGHT_LXD_CERT / LABWRIGHT_LXD_KEY: files), and its server certificate (LABWRIGHT_LXD_SERVER_CERT). */
  lxdCert?: string;
  lxdKey?: string;
  lxdServerCert?: string;
}

export type ProviderName = 'local' | 'inventory' | 'lxd';

export type SoloSetting = 'auto' | 'on' | 'off';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const ROOT = path.resolve(import.meta.dirname, '..');

function int(name: string, raw: string | undefined, def: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return n;
}

function decimal(name: string, raw: string | undefined, def: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || n < min || n > max) throw new ConfigError(`${name} must be a number between ${min} and ${max}, got "${raw}"`);
  return n;
}

/** A folder setting: unset means the default; set but empty is a mistake (path.resolve('') is the current folder). */
function folder(name: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (raw.trim() === '') throw new ConfigError(`${name} is set but empty: give a folder, or unset it for the default`);
  return raw;
}

function flag(name: string, raw: string | undefined): boolean {
  if (raw === undefined || raw === '' || raw === '0' || raw === 'false') return false;
  if (raw === '1' || raw === 'true') return true;
  throw new ConfigError(`${name} must be 1 or 0, got "${raw}"`);
}

function normaliseBase(raw: string): string {
  if (!/^\/[A-Za-z0-9._~\-/]*$/.test(raw)) throw new ConfigError(`LABWRIGHT_BASE_PATH must be a path like /labs/, got "${raw}"`);
  return raw.endsWith('/') ? raw : `${raw}/`;
}

function cidr(name: string, raw: string): string {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(raw);
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 30) {
    throw new ConfigError(`${name} must be an IPv4 CIDR such as 10.213.0.0/16, got "${raw}"`);
  }
  const [a, b] = [Number(m[1]), Number(m[2])];
  const isPrivate = a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
  if (!isPrivate) throw new ConfigError(`${name} must be inside a private range (10/8, 172.16/12, 192.168/16), got "${raw}"`);
  return raw;
}

function instructorToken(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  // Guessable credentials would open every attendee's progress and the workshop controls.
  if (raw.length < 16 || /\s/.test(raw)) throw new ConfigError('LABWRIGHT_INSTRUCTOR_TOKEN must be at least 16 characters without spaces');
  return raw;
}

function hostIsolation(raw: string | undefined): HostIsolation {
  if (raw === undefined || raw === '' || raw === 'userns') return 'userns';
  if (raw === 'privileged') return 'privileged';
  throw new ConfigError(`LABWRIGHT_HOST_ISOLATION must be userns or privileged, got "${raw}"`);
}

/** A remote LXD: its URL and the PEM files of the client certificate it trusts, read once here. */
function lxdRemote(env: NodeJS.ProcessEnv): Pick<Config, 'lxdUrl' | 'lxdCert' | 'lxdKey' | 'lxdServerCert'> {
  const url = env.LABWRIGHT_LXD_URL || undefined;
  if (url === undefined) {
    if (env.LABWRIGHT_LXD_CERT || env.LABWRIGHT_LXD_KEY) throw new ConfigError('LABWRIGHT_LXD_CERT/KEY are set but LABWRIGHT_LXD_URL is not: set the remote LXD URL, or unset them');
    return {};
  }
  if (!/^https:\/\/[^/]+\/?$/.test(url)) throw new ConfigError(`LABWRIGHT_LXD_URL must be https://host[:port], got "${url}"`);
  const pem = (name: string, file: string | undefined, required: boolean): string | undefined => {
    if (!file) {
      if (required) throw new ConfigError(`LABWRIGHT_LXD_URL needs ${name}: a PEM file (the client certificate and key the LXD server trusts: lxc config trust add)`);
      return undefined;
    }
    try {
      return readFileSync(file, 'utf8');
    } catch (e) {
      throw new ConfigError(`${name}=${file} cannot be read: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  return {
    lxdUrl: url,
    lxdCert: pem('LABWRIGHT_LXD_CERT', env.LABWRIGHT_LXD_CERT, true),
    lxdKey: pem('LABWRIGHT_LXD_KEY', env.LABWRIGHT_LXD_KEY, true),
    lxdServerCert: pem('LABWRIGHT_LXD_SERVER_CERT', env.LABWRIGHT_LXD_SERVER_CERT, false),
  };
}

function providerName(raw: string | undefined): ProviderName {
  if (raw === undefined || raw === '' || raw === 'local') return 'local';
  if (raw === 'inventory') return 'inventory';
  if (raw === 'lxd') return 'lxd';
  throw new ConfigError(`LABWRIGHT_PROVIDER must be local, lxd or inventory, got "${raw}"`);
}

/** A DNS name under which preview names are made: lowercase labels, at least two, no port or scheme. */
export function parsePreviewDomain(raw: string | undefined): string | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const name = raw.trim().toLowerCase().replace(/\.$/, '');
  const label = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
  const labels = name.split('.');
  if (labels.length < 2 || name.length > 200 || !labels.every((l) => label.test(l)) || isIP(name) !== 0) {
    throw new ConfigError(`LABWRIGHT_PREVIEW_DOMAIN must be a DNS name such as preview.labs.example.org (its *. names pointing at this server), got "${raw}"`);
  }
  return name;
}

const list = (raw: string | undefined): string[] => (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);

/** A public URL, normalised to origin + path; its path must be "/" or the base path (the proxy passes paths unchanged). */
export function parsePublicUrl(raw: string, basePath: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(`LABWRIGHT_PUBLIC_URL (--public-url) must be a URL such as https://labs.example.org/, got "${raw}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError(`LABWRIGHT_PUBLIC_URL (--public-url) must start with https:// or http://, got "${raw}"`);
  if (u.username || u.password || u.search || u.hash) throw new ConfigError(`LABWRIGHT_PUBLIC_URL (--public-url) must not carry a user, query or fragment, got "${raw}"`);
  const pathname = u.pathname.endsWith('/') ? u.pathname : `${u.pathname}/`;
  if (pathname !== '/' && pathname !== basePath) {
    throw new ConfigError(`The path of LABWRIGHT_PUBLIC_URL (--public-url) must be / or the base path ${basePath} (the proxy must pass paths unchanged), got "${raw}"`);
  }
  return `${u.origin}${basePath}`;
}

/** A trusted proxy: an IPv4 or IPv6 address, or a CIDR of either. */
export function parseTrustedProxy(raw: string): string {
  const [addr = '', prefix, extra] = raw.split('/');
  const family = isIP(addr);
  const max = family === 6 ? 128 : 32;
  if (family === 0 || extra !== undefined || (prefix !== undefined && (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max))) {
    throw new ConfigError(`LABWRIGHT_TRUSTED_PROXY (--trusted-proxy) must list addresses or CIDRs such as 127.0.0.1 or 10.0.0.0/8, got "${raw}"`);
  }
  return raw.toLowerCase();
}

export function parseSoloSetting(raw: string | undefined): SoloSetting {
  if (raw === undefined || raw === '' || raw === 'auto') return 'auto';
  if (raw === 'on' || raw === 'off') return raw;
  throw new ConfigError(`LABWRIGHT_SOLO (--solo) must be on, off or auto, got "${raw}"`);
}

/** K of the workshops' warm pools when LABWRIGHT_POOL_SIZE is not set. */
export const DEFAULT_POOL_SIZE = 3;

/** Builds the config from environment variables and explicit overrides (CLI flags win). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Readonly<Config> {
  const cfg: Config = {
    bind: env.LABWRIGHT_BIND ?? '127.0.0.1',
    port: int('LABWRIGHT_PORT', env.LABWRIGHT_PORT, 8080, 0, 65535),
    basePath: normaliseBase(env.LABWRIGHT_BASE_PATH ?? '/'),
    allowedOrigins: (env.LABWRIGHT_ORIGINS ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    labsDir: path.resolve(folder('LABWRIGHT_LABS_DIR', env.LABWRIGHT_LABS_DIR) ?? path.join(ROOT, 'labs')),
    dataDir: path.resolve(folder('LABWRIGHT_DATA_DIR', env.LABWRIGHT_DATA_DIR) ?? '/var/lib/labwright'),
    cacheDir: path.resolve(folder('LABWRIGHT_CACHE_DIR', env.LABWRIGHT_CACHE_DIR) ?? '/var/cache/labwright'),
    subnetRange: cidr('LABWRIGHT_SUBNET_RANGE', env.LABWRIGHT_SUBNET_RANGE ?? '10.213.0.0/16'),
    subnetPrefix: int('LABWRIGHT_SUBNET_PREFIX', env.LABWRIGHT_SUBNET_PREFIX, 27, 20, 29),
    // On by default where hosts are booted; an inventory's hosts exist already (0).
    poolSize: int('LABWRIGHT_POOL_SIZE', env.LABWRIGHT_POOL_SIZE, env.LABWRIGHT_PROVIDER === 'inventory' ? 0 : DEFAULT_POOL_SIZE, 0, 50),
    bootConcurrency: int('LABWRIGHT_BOOT_CONCURRENCY', env.LABWRIGHT_BOOT_CONCURRENCY, defaultBootConcurrency(os.availableParallelism()), 1, 256),
    reconnectGraceMs: 1000 * int('LABWRIGHT_RECONNECT_GRACE_SECONDS', env.LABWRIGHT_RECONNECT_GRACE_SECONDS, 300, 0, 86_400),
    logLevel: env.LABWRIGHT_LOG_LEVEL ?? 'info',
    instructorToken: instructorToken(env.LABWRIGHT_INSTRUCTOR_TOKEN),
    sessions: sessionLimits(env),
    hostMemoryMb: int('LABWRIGHT_HOST_MEMORY_MB', env.LABWRIGHT_HOST_MEMORY_MB, 1024, 256, 1_048_576),
    hostCpus: decimal('LABWRIGHT_HOST_CPUS', env.LABWRIGHT_HOST_CPUS, 0, 0, 1024),
    hostPids: int('LABWRIGHT_HOST_PIDS', env.LABWRIGHT_HOST_PIDS, 4096, 256, 4_194_304),
    hostDiskGb: int('LABWRIGHT_HOST_DISK_GB', env.LABWRIGHT_HOST_DISK_GB, 4, 2, 16_384),
    allowUnlimitedHosts: flag('LABWRIGHT_ALLOW_UNLIMITED_HOSTS', env.LABWRIGHT_ALLOW_UNLIMITED_HOSTS),
    stepSnapshots: flag('LABWRIGHT_STEP_SNAPSHOTS', env.LABWRIGHT_STEP_SNAPSHOTS ?? '1'),
    hostIsolation: hostIsolation(env.LABWRIGHT_HOST_ISOLATION),
    publicUrls: list(env.LABWRIGHT_PUBLIC_URL),
    trustedProxies: list(env.LABWRIGHT_TRUSTED_PROXY),
    solo: parseSoloSetting(env.LABWRIGHT_SOLO),
    previewDomain: parsePreviewDomain(env.LABWRIGHT_PREVIEW_DOMAIN),
    provider: providerName(env.LABWRIGHT_PROVIDER),
    inventoryFile: env.LABWRIGHT_INVENTORY ? path.resolve(env.LABWRIGHT_INVENTORY) : undefined,
    sshAuthSock: env.SSH_AUTH_SOCK || undefined,
    lxdDir: '',
    lxdPoolGb: int('LABWRIGHT_LXD_POOL_GB', env.LABWRIGHT_LXD_POOL_GB, 50, 5, 1_000_000),
    ...lxdRemote(env),
    ...overrides,
  };
  cfg.lxdDir ||= path.resolve(folder('LABWRIGHT_LXD_DIR', env.LABWRIGHT_LXD_DIR) ?? path.join(cfg.cacheDir, 'lxd'));
  if (cfg.provider === 'inventory' && cfg.inventoryFile === undefined) {
    throw new ConfigError('LABWRIGHT_PROVIDER=inventory needs LABWRIGHT_INVENTORY: the file listing your environments (see provisioning/inventory/example-inventory.yaml)');
  }
  if (cfg.provider !== 'inventory' && cfg.inventoryFile !== undefined) throw new ConfigError('LABWRIGHT_INVENTORY is set but LABWRIGHT_PROVIDER is not inventory: set LABWRIGHT_PROVIDER=inventory, or unset LABWRIGHT_INVENTORY');
  // Hosts of an inventory exist already: there is nothing to make ahead, and a pooled environment would be held by nobody.
  if (cfg.provider === 'inventory' && cfg.poolSize > 0) throw new ConfigError('LABWRIGHT_POOL_SIZE must be 0 with LABWRIGHT_PROVIDER=inventory: its hosts exist already, so there is nothing to keep warm');
  if (overrides.basePath !== undefined) cfg.basePath = normaliseBase(overrides.basePath);
  // After the overrides: flags pass raw strings, and a public URL is checked against the final base path.
  cfg.publicUrls = cfg.publicUrls.map((u) => parsePublicUrl(u, cfg.basePath));
  cfg.trustedProxies = cfg.trustedProxies.map(parseTrustedProxy);
  cfg.solo = parseSoloSetting(cfg.solo);
  cfg.previewDomain = parsePreviewDomain(cfg.previewDomain);
  return Object.freeze(cfg);
}

/**
 * How long sessions live and what one client may hold at once. The defaults are far above what a
 * real room does (a lab page is one socket, a handful of terminals, a Check press every few
 * seconds) and only stop floods.
 */
export interface SessionLimits {
  /** A solo session unused for this long (no request, no open page) ends. */
  idleMs: number;
  /** Any solo session ends this long after it was made, however active. Also how long an ended workshop's attendee records are kept. */
  maxAgeMs: number;
  instructorIdleMs: number;
  instructorMaxAgeMs: number;
  /** Cookies handed out but not yet needed durably (no lab opened), kept in memory at most. */
  provisionalMax: number;
  /** New sessions one client address may start per minute (page loads without a cookie). */
  newPerAddressPerMinute: number;
  /** Join attempts (POST join link) per client address per minute. */
  joinsPerAddressPerMinute: number;
  /** WebSocket connections (open pages) per session at once. */
  socketsPerSession: number;
  /** Terminals open per session at once, over all its pages. */
  terminalsPerSession: number;
  /** Check and Skip presses per session per minute (automatic re-checks are the server's own and do not count). */
  checkRunsPerMinute: number;
  /** Automatic re-check runs in flight at once over every session (the rest wait their turn, in order). */
  autoCheckConcurrency: number;
  /** Lab environments one session holds at once (a solo page opening lab after lab). */
  environmentsPerSession: number;
}

function sessionLimits(env: NodeJS.ProcessEnv): Readonly<SessionLimits> {
  const HOUR = 3_600_000;
  return Object.freeze({
    idleMs: HOUR * int('LABWRIGHT_SESSION_IDLE_HOURS', env.LABWRIGHT_SESSION_IDLE_HOURS, 168, 1, 24 * 365),
    maxAgeMs: 24 * HOUR * int('LABWRIGHT_SESSION_MAX_DAYS', env.LABWRIGHT_SESSION_MAX_DAYS, 30, 1, 3650),
    instructorIdleMs: HOUR * int('LABWRIGHT_INSTRUCTOR_SESSION_IDLE_HOURS', env.LABWRIGHT_INSTRUCTOR_SESSION_IDLE_HOURS, 12, 1, 24 * 365),
    instructorMaxAgeMs: HOUR * int('LABWRIGHT_INSTRUCTOR_SESSION_MAX_HOURS', env.LABWRIGHT_INSTRUCTOR_SESSION_MAX_HOURS, 72, 1, 24 * 3650),
    provisionalMax: int('LABWRIGHT_PROVISIONAL_SESSIONS', env.LABWRIGHT_PROVISIONAL_SESSIONS, 10_000, 10, 1_000_000),
    newPerAddressPerMinute: int('LABWRIGHT_NEW_SESSIONS_PER_MINUTE', env.LABWRIGHT_NEW_SESSIONS_PER_MINUTE, 300, 1, 1_000_000),
    joinsPerAddressPerMinute: int('LABWRIGHT_JOINS_PER_MINUTE', env.LABWRIGHT_JOINS_PER_MINUTE, 300, 1, 1_000_000),
    socketsPerSession: int('LABWRIGHT_SOCKETS_PER_SESSION', env.LABWRIGHT_SOCKETS_PER_SESSION, 16, 1, 10_000),
    terminalsPerSession: int('LABWRIGHT_TERMINALS_PER_SESSION', env.LABWRIGHT_TERMINALS_PER_SESSION, 64, 1, 10_000),
    checkRunsPerMinute: int('LABWRIGHT_CHECK_RUNS_PER_MINUTE', env.LABWRIGHT_CHECK_RUNS_PER_MINUTE, 60, 1, 1_000_000),
    autoCheckConcurrency: int('LABWRIGHT_AUTO_CHECK_CONCURRENCY', env.LABWRIGHT_AUTO_CHECK_CONCURRENCY, 16, 1, 10_000),
    environmentsPerSession: int('LABWRIGHT_ENVIRONMENTS_PER_SESSION', env.LABWRIGHT_ENVIRONMENTS_PER_SESSION, 3, 1, 100),
  });
}

/** The defaults, for tests and for stores built without a config. */
export const DEFAULT_SESSION_LIMITS: Readonly<SessionLimits> = sessionLimits({});
