// Configuration, parsed once at start into a frozen typed object; nothing else reads process.env.
import path from 'node:path';

export interface Config {
  /** Address to bind; loopback by default. */
  bind: string;
  port: number;
  /** Every HTTP and WebSocket URL is built under this path ("/" or "/labwright/"). */
  basePath: string;
  /** Public origin(s) allowed to open WebSockets, e.g. http://localhost:8080. Empty: same host as the request. */
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
  /** Environments kept ready per lab shape. */
  poolSize: number;
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
   * How local lab hosts run (LABWRIGHT_HOST_ISOLATION). userns (default): each host in its own user
   * namespace and id range, so root in a host is an unprivileged uid on this machine; the provider
   * refuses to start hosts where the kernel cannot do it. privileged: root in a host is root here.
   */
  hostIsolation: HostIsolation;
}

export type HostIsolation = 'userns' | 'privileged';

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

/** Builds the config from environment variables and explicit overrides (CLI flags win). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Readonly<Config> {
  const cfg: Config = {
    bind: env.LABWRIGHT_BIND ?? '127.0.0.1',
    port: int('LABWRIGHT_PORT', env.LABWRIGHT_PORT, 8080, 0, 65535),
    basePath: normaliseBase(env.LABWRIGHT_BASE_PATH ?? '/'),
    allowedOrigins: (env.LABWRIGHT_ORIGINS ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    labsDir: path.resolve(env.LABWRIGHT_LABS_DIR ?? path.join(ROOT, 'labs')),
    dataDir: path.resolve(env.LABWRIGHT_DATA_DIR ?? '/var/lib/labwright'),
    cacheDir: path.resolve(env.LABWRIGHT_CACHE_DIR ?? '/var/cache/labwright'),
    subnetRange: cidr('LABWRIGHT_SUBNET_RANGE', env.LABWRIGHT_SUBNET_RANGE ?? '10.213.0.0/16'),
    subnetPrefix: int('LABWRIGHT_SUBNET_PREFIX', env.LABWRIGHT_SUBNET_PREFIX, 27, 20, 29),
    poolSize: int('LABWRIGHT_POOL_SIZE', env.LABWRIGHT_POOL_SIZE, 0, 0, 50),
    reconnectGraceMs: 1000 * int('LABWRIGHT_RECONNECT_GRACE_SECONDS', env.LABWRIGHT_RECONNECT_GRACE_SECONDS, 300, 0, 86_400),
    logLevel: env.LABWRIGHT_LOG_LEVEL ?? 'info',
    instructorToken: instructorToken(env.LABWRIGHT_INSTRUCTOR_TOKEN),
    hostIsolation: hostIsolation(env.LABWRIGHT_HOST_ISOLATION),
    ...overrides,
  };
  if (overrides.basePath !== undefined) cfg.basePath = normaliseBase(overrides.basePath);
  return Object.freeze(cfg);
}
