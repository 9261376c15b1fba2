// The names (Host header) and origins the server answers to. A page on another name that
// resolves to this machine (DNS rebinding) sends its own name as Host and its own origin, so
// both are compared exactly with what the server serves, never with each other.
import { isIP } from 'node:net';
import os from 'node:os';
import { isAllowedOrigin } from '../ws/origin-policy.ts';
import { isLoopbackBind } from './solo-mode.ts';

export interface HostPolicy {
  /** Every accepted Host value, lowercase, e.g. "127.0.0.1:8080", "labs.example.org". */
  readonly hosts: ReadonlySet<string>;
  /** Every accepted Origin, e.g. "http://127.0.0.1:8080", "https://labs.example.org". */
  readonly origins: ReadonlySet<string>;
  allowsHost(host: string | undefined): boolean;
  allowsOrigin(origin: string | undefined): boolean;
  /** Whether this Host is the name of an https public URL (so the page reached the browser over TLS). */
  isHttpsName(host: string | undefined): boolean;
}

export interface HostPolicyOptions {
  /** The address the server is bound to. */
  bind: string;
  /** The port it listens on (the real one, after binding port 0). */
  port: number;
  /** Normalised public URLs (config.publicUrls). */
  publicUrls: readonly string[];
  /** Further origins allowed to open WebSockets (LABWRIGHT_ORIGINS). */
  extraOrigins?: readonly string[];
  /** This machine's addresses and name, for a server bound to every interface; defaults to the OS's. */
  machine?: { addresses: readonly string[]; hostname: string };
}

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/** The names a server bound like this is reached at directly (without a public URL). */
export function directNames(bind: string, machine: () => { addresses: readonly string[]; hostname: string }): string[] {
  const literal = (a: string): string => (isIP(a) === 6 ? `[${a.toLowerCase()}]` : a.toLowerCase());
  if (isLoopbackBind(bind)) return LOOPBACK_NAMES;
  if (!WILDCARDS.has(bind)) return [literal(bind)];
  // Every interface: loopback, each address of this machine, and its host name, as they were at start.
  const m = machine();
  return [...new Set([...LOOPBACK_NAMES, ...m.addresses.map(literal), m.hostname.toLowerCase()])];
}

function osMachine(): { addresses: string[]; hostname: string } {
  const addresses: string[] = [];
  for (const list of Object.values(os.networkInterfaces())) {
    // Link-local IPv6 needs a zone id, which no Host header carries usefully.
    for (const a of list ?? []) if (!(a.family === 'IPv6' && a.scopeid !== 0)) addresses.push(a.address);
  }
  return { addresses, hostname: os.hostname() };
}

const originOf = (raw: string): string | undefined => {
  try {
    const o = new URL(raw).origin;
    return o === 'null' ? undefined : o;
  } catch {
    return undefined;
  }
};

export function hostPolicy(opts: HostPolicyOptions): HostPolicy {
  const hosts = new Set<string>();
  const origins = new Set<string>();
  const httpsNames = new Set<string>();
  // A browser leaves out the scheme's default port in Host and Origin; a proxy may pass it anyway.
  const add = (scheme: 'http' | 'https', name: string, port: number, into: Set<string>[] = []): void => {
    const forms = [`${name}:${port}`];
    if (port === (scheme === 'https' ? 443 : 80)) forms.push(name);
    for (const f of forms) {
      hosts.add(f);
      for (const s of into) s.add(f);
    }
    const o = originOf(`${scheme}://${name}:${port}`);
    if (o) origins.add(o);
  };
  for (const name of directNames(opts.bind, () => opts.machine ?? osMachine())) add('http', name, opts.port);
  for (const raw of opts.publicUrls) {
    const u = new URL(raw);
    const scheme = u.protocol === 'https:' ? 'https' : 'http';
    const port = u.port === '' ? (scheme === 'https' ? 443 : 80) : Number(u.port);
    add(scheme, u.hostname, port, scheme === 'https' ? [httpsNames] : []);
  }
  for (const raw of opts.extraOrigins ?? []) {
    const o = originOf(raw);
    if (o) origins.add(o);
  }
  const norm = (h: string | undefined): string | undefined => (h === undefined || h === '' ? undefined : h.trim().toLowerCase());
  return {
    hosts,
    origins,
    allowsHost: (h) => {
      const n = norm(h);
      return n !== undefined && hosts.has(n);
    },
    // Exact: what browsers send is already the serialised origin (lowercase, no default port, no path).
    allowsOrigin: (o) => isAllowedOrigin(o, origins),
    isHttpsName: (h) => {
      const n = norm(h);
      return n !== undefined && httpsNames.has(n);
    },
  };
}
