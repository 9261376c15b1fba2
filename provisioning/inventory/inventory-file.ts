// The inventory file (LABWRIGHT_INVENTORY): environments of hosts that already exist, in YAML (JSON is
// YAML too), validated with zod; every problem is reported as `file:line: what is wrong`.
import fs from 'node:fs';
import path from 'node:path';
import { LineCounter, isNode, parseDocument } from 'yaml';
import { z } from 'zod';

/** A host name as labs use it (front matter `hosts:`): a DNS label. */
const HOST_NAME = /^[a-z](?:[a-z0-9-]{0,30}[a-z0-9])?$/;
/** An environment name: becomes part of environment ids and lease file names. */
const ENV_NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;
const ADDRESS = /^[A-Za-z0-9.:-]{1,253}$/;
const USER = /^[a-z_][a-z0-9_.-]{0,31}$/;

const strictObject = z.strictObject;

/** How to log in: a private key file on this server, or the ssh-agent (SSH_AUTH_SOCK, or a socket path). */
const authFields = {
  user: z.string().regex(USER, 'must be a login name such as root or debian').optional(),
  key: z.string().min(1).optional().describe('path of a private key file on the server'),
  agent: z.union([z.literal(true), z.string().min(1)]).optional().describe('true: SSH_AUTH_SOCK; or the agent socket path'),
};

const endpoint = {
  address: z.string().regex(ADDRESS, 'must be an IP address or a DNS name'),
  port: z.number().int().min(1).max(65535).optional(),
};

const jumpSchema = strictObject({ ...endpoint, ...authFields });

const hostSchema = strictObject({
  name: z.string().regex(HOST_NAME, 'must be a host name as labs use it (host0, host1, …): lowercase letters, digits and dashes'),
  ...endpoint,
  ...authFields,
  jump: jumpSchema.optional(),
});

const environmentSchema = strictObject({
  name: z.string().regex(ENV_NAME, 'must be lowercase letters, digits and dashes (at most 40)'),
  hosts: z.array(hostSchema).min(1, 'an environment needs at least one host'),
});

const inventorySchema = strictObject({
  /** Defaults for every host (user, key, agent, port), so a file need not repeat them. */
  defaults: strictObject({ user: authFields.user, key: authFields.key, agent: authFields.agent, port: endpoint.port }).optional(),
  environments: z.array(environmentSchema).min(1, 'list at least one environment'),
});

/** How the server logs in to a host (or its jump host). Key paths are absolute once parsed. */
export interface SshLogin {
  address: string;
  port: number;
  user: string;
  /** Absolute path of a private key file on this server. */
  keyPath?: string;
  /** Path of an ssh-agent socket. */
  agent?: string;
}

export interface InventoryHost extends SshLogin {
  name: string;
  jump?: SshLogin;
}

export interface InventoryEnvironment {
  name: string;
  hosts: InventoryHost[];
  /** 1-based line of the environment in the file (for messages). */
  line: number;
}

export interface Inventory {
  file: string;
  environments: InventoryEnvironment[];
}

export class InventoryError extends Error {
  override name = 'InventoryError';
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

type Path = readonly PropertyKey[];

/**
 * Parses and validates an inventory. `file` names it in messages and anchors relative key paths;
 * `sshAuthSock` is what `agent: true` means (the server's SSH_AUTH_SOCK, read once by the config).
 */
export function parseInventory(text: string, file: string, sshAuthSock?: string): Inventory {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): number => lines.linePos(offset).line;
  if (doc.errors.length > 0) throw new InventoryError(doc.errors.map((e) => `${file}:${at(e.pos[0])}: ${e.message.split('\n')[0]}`));
  /** The line of the deepest node of `p` that exists (a missing field is reported where its parent is). */
  const lineOf = (p: Path): number => {
    for (let n = p.length; n >= 0; n--) {
      const node = doc.getIn(p.slice(0, n) as unknown[], true);
      if (isNode(node) && node.range) return at(node.range[0]);
    }
    return 1;
  };
  const raw: unknown = doc.toJS();
  const parsed = inventorySchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      const where = i.path.length ? ` ${i.path.map(String).join('.')}` : '';
      return `${file}:${lineOf(i.path)}:${where}: ${i.message}`;
    });
    throw new InventoryError(problems);
  }
  const problems: string[] = [];
  const base = path.dirname(path.resolve(file));
  const d = parsed.data.defaults ?? {};
  type Given = { address: string; port?: number | undefined; user?: string | undefined; key?: string | undefined; agent?: true | string | undefined };
  /** A host's login: its own fields, else the defaults; a host that names a key or an agent takes no default credential. */
  const login = (h: Given, p: Path): SshLogin => {
    const own = h.key !== undefined || h.agent !== undefined;
    const key = own ? h.key : d.key;
    const agent = own ? h.agent : d.agent;
    const out: SshLogin = { address: h.address, port: h.port ?? d.port ?? 22, user: h.user ?? d.user ?? 'root' };
    if (key !== undefined) out.keyPath = path.resolve(base, key);
    if (agent === true) {
      if (!sshAuthSock) problems.push(`${file}:${lineOf(p)}: agent: true, but SSH_AUTH_SOCK is not set for the server`);
      else out.agent = sshAuthSock;
    } else if (agent !== undefined) out.agent = agent;
    if (out.keyPath === undefined && out.agent === undefined) problems.push(`${file}:${lineOf(p)}: no way to log in: give \`key:\` (a private key file) or \`agent:\` (here or in defaults)`);
    if (out.keyPath !== undefined && !fs.existsSync(out.keyPath)) problems.push(`${file}:${lineOf(own ? [...p, 'key'] : ['defaults', 'key'])}: key file ${out.keyPath} does not exist`);
    return out;
  };
  const environments: InventoryEnvironment[] = parsed.data.environments.map((e, ei) => {
    const ep: Path = ['environments', ei];
    const names = new Set<string>();
    const hosts = e.hosts.map((h, hi) => {
      const hp: Path = [...ep, 'hosts', hi];
      if (names.has(h.name)) problems.push(`${file}:${lineOf([...hp, 'name'])}: host name ${h.name} appears twice in environment ${e.name}`);
      names.add(h.name);
      const host: InventoryHost = { name: h.name, ...login(h, hp) };
      if (h.jump) host.jump = login(h.jump, [...hp, 'jump']);
      return host;
    });
    return { name: e.name, hosts, line: lineOf(ep) };
  });
  const seen = new Map<string, number>();
  for (const e of environments) {
    const first = seen.get(e.name);
    if (first !== undefined) problems.push(`${file}:${e.line}: environment name ${e.name} is already used on line ${first}`);
    else seen.set(e.name, e.line);
  }
  if (problems.length > 0) throw new InventoryError([...new Set(problems)]);
  return { file, environments };
}

export function loadInventory(file: string, sshAuthSock?: string): Inventory {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new InventoryError([`${file}: cannot read the inventory: ${(e as NodeJS.ErrnoException).code ?? String(e)}`]);
  }
  return parseInventory(text, file, sshAuthSock);
}
