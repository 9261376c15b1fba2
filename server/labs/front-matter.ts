// The lab's front matter: the YAML between the leading `---` lines, validated field by field into
// LabMeta so that every bad field gets its own error with its own line.
import { isMap, isScalar, isSeq } from 'yaml';
import type { Pair } from 'yaml';
import { MAX_HOSTS } from '../../common/lab.ts';
import type { LabMeta, LabServices } from '../../common/lab.ts';
import { readClusterView } from './cluster-front-matter.ts';
import type { ProblemList } from './problem-list.ts';
import { YamlSource } from './yaml-source.ts';

export const FRONT_MATTER_FIELDS = ['title', 'summary', 'hosts', 'services', 'duration', 'gate', 'skip', 'cluster', 'reset', 'vm'] as const;
const SERVICES = ['etcd', 'docker'] as const;
/** A host name is a DNS label; `all`, `any` and `server` have a meaning in checks and cannot be host names. */
const HOST_NAME = /^[a-z](?:[a-z0-9-]{0,30}[a-z0-9])?$/;
const RESERVED_HOST_NAMES = new Set(['all', 'any', 'server']);

export interface FrontMatter {
  meta: LabMeta;
  /** 0-based index of the first line after the front matter: where the markdown body starts. */
  bodyStart: number;
  /** False when `hosts` was invalid: host references are then not checked, to avoid an error per block. */
  hostsKnown: boolean;
  /** `reset:`: the script run on every host when hosts that are kept (an inventory's) are given back. Never sent to browsers. */
  reset?: string;
}

export function defaultMeta(): LabMeta {
  return {
    title: '',
    summary: '',
    hosts: ['host0'],
    services: { etcd: 'none', docker: false },
    durationMinutes: null,
    gate: 'hard',
    allowSkip: false,
  };
}

export function parseFrontMatter(lines: readonly string[], problems: ProblemList): FrontMatter {
  const meta = defaultMeta();
  if (lines[0]?.trim() !== '---') {
    problems.error(1, 'missing front matter: a lab file starts with a `---` line, YAML with at least `title:`, and another `---` line');
    return { meta, bodyStart: 0, hostsKnown: false };
  }
  const end = lines.findIndex((l, i) => i > 0 && (l.trim() === '---' || l.trim() === '...'));
  if (end < 0) {
    problems.error(1, 'front matter starting on line 1 is never closed: expected a `---` line after the YAML');
    return { meta, bodyStart: 1, hostsKnown: false };
  }
  const yaml = new YamlSource(lines.slice(1, end).join('\n'), 2);
  // Unreadable YAML is one error; complaining about a missing title as well would only be an echo of it.
  if (!yaml.reportErrors(problems, 'front matter')) return { meta, bodyStart: end + 1, hostsKnown: false };
  const server: { reset?: string } = {};
  const hostsKnown = readFields(yaml, meta, problems, server);
  if (meta.title === '' && !problems.items.some((p) => p.message.startsWith('`title`'))) {
    problems.error(1, 'missing title: the front matter needs `title: <what the lab is about>`');
  }
  return { meta, bodyStart: end + 1, hostsKnown, ...server };
}

/** Fills `meta` (and `server`, the fields browsers never see) from the YAML; returns whether the host list is trustworthy. */
function readFields(yaml: YamlSource, meta: LabMeta, problems: ProblemList, server: { reset?: string }): boolean {
  const root = yaml.doc.contents;
  if (root === null) return true; // Empty front matter: only the missing title is reported.
  if (!isMap(root)) {
    problems.error(yaml.lineOf(root), 'front matter must be a YAML mapping such as `title: Working with etcd`');
    return false;
  }
  let hostsKnown = true;
  for (const pair of root.items as Pair<unknown, unknown>[]) {
    const key = isScalar(pair.key) ? String(pair.key.value) : null;
    const line = yaml.lineOf(pair.key);
    const at = yaml.lineOf(pair.value, line);
    const value: unknown = isScalar(pair.value) ? pair.value.value : pair.value;
    switch (key) {
      case 'title':
      case 'summary':
        if (typeof value !== 'string' || value.trim() === '') {
          problems.error(at, `\`${key}\` must be non-empty text`);
        } else {
          meta[key] = value.trim();
        }
        break;
      case 'hosts': {
        const hosts = readHosts(yaml, pair.value, at, problems);
        if (hosts) meta.hosts = hosts;
        hostsKnown = hosts !== null;
        break;
      }
      case 'services':
        meta.services = readServices(yaml, pair.value, at, problems) ?? meta.services;
        break;
      case 'duration': {
        const minutes = parseDuration(value);
        if (minutes === null) {
          problems.error(at, '`duration` must look like 20m, 1h or 1h30m (or a number of minutes)');
        } else {
          meta.durationMinutes = minutes;
        }
        break;
      }
      case 'gate':
        if (value === 'hard' || value === 'soft') {
          meta.gate = value;
        } else {
          problems.error(at, '`gate` must be `hard` (a step unlocks when the previous one passes) or `soft` (checks are advisory)');
        }
        break;
      case 'skip':
        if (typeof value === 'boolean') {
          meta.allowSkip = value;
        } else {
          problems.error(at, '`skip` must be true or false');
        }
        break;
      case 'vm':
        if (typeof value !== 'boolean') problems.error(at, '`vm` must be true or false (true: the hosts are virtual machines, which only the lxd provider makes)');
        else if (value) meta.vm = true;
        break;
      case 'cluster': {
        const cluster = readClusterView(yaml, pair.value, at, problems);
        if (cluster) meta.cluster = cluster;
        break;
      }
      case 'reset':
        if (typeof value !== 'string' || value.trim() === '') problems.error(at, '`reset` must be a shell script (use `reset: |` and the commands on the lines below)');
        else server.reset = value;
        break;
      case null:
      default:
        problems.error(line, `unknown front matter field \`${key ?? '?'}\`; expected one of ${FRONT_MATTER_FIELDS.join(', ')}`);
    }
  }
  return hostsKnown;
}

function readHosts(yaml: YamlSource, node: unknown, line: number, problems: ProblemList): string[] | null {
  if (!isSeq(node)) {
    problems.error(line, '`hosts` must be a list of host names, e.g. [host0, host1, host2]');
    return null;
  }
  const hosts: string[] = [];
  let ok = true;
  for (const item of node.items) {
    const itemLine = yaml.lineOf(item, line);
    const name: unknown = isScalar(item) ? item.value : null;
    if (typeof name !== 'string' || !HOST_NAME.test(name)) {
      problems.error(itemLine, `invalid host name ${isScalar(item) ? JSON.stringify(item.value) : '(not a name)'}: expected lowercase letters, digits and dashes, starting with a letter (e.g. host0)`);
      ok = false;
    } else if (RESERVED_HOST_NAMES.has(name)) {
      problems.error(itemLine, `\`${name}\` cannot be a host name: it means something else in checks (all, any, server)`);
      ok = false;
    } else if (hosts.includes(name)) {
      problems.error(itemLine, `host "${name}" is listed twice in \`hosts\``);
      ok = false;
    } else {
      hosts.push(name);
    }
  }
  if (node.items.length === 0) {
    problems.error(line, '`hosts` is empty: a lab needs at least one host');
    return null;
  }
  if (node.items.length > MAX_HOSTS) {
    problems.error(line, `\`hosts\` lists ${node.items.length} hosts; a lab may have at most ${MAX_HOSTS}`);
    return null;
  }
  return ok ? hosts : null;
}

function readServices(yaml: YamlSource, node: unknown, line: number, problems: ProblemList): LabServices | null {
  if (!isMap(node)) {
    problems.error(line, '`services` must be a mapping such as { etcd: cluster, docker: true }');
    return null;
  }
  const services: LabServices = { etcd: 'none', docker: false };
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '?';
    const at = yaml.lineOf(pair.value, yaml.lineOf(pair.key, line));
    const value: unknown = isScalar(pair.value) ? pair.value.value : pair.value;
    if (key === 'etcd') {
      if (value === 'cluster' || value === 'none') services.etcd = value;
      else problems.error(at, '`services.etcd` must be `cluster` (a member on every host) or `none`');
    } else if (key === 'docker') {
      if (typeof value === 'boolean') services.docker = value;
      else problems.error(at, '`services.docker` must be true or false');
    } else {
      problems.error(yaml.lineOf(pair.key, line), `unknown service \`${key}\`; known services: ${SERVICES.join(', ')}`);
    }
  }
  return services;
}

/** `20m`, `1h`, `1h30m`, `90` → minutes; anything else → null. */
export function parseDuration(value: unknown): number | null {
  if (typeof value === 'number') {
    return Number.isInteger(value) && value > 0 ? value : null;
  }
  if (typeof value !== 'string') return null;
  const m = /^\s*(?:(\d{1,3})\s*h)?\s*(?:(\d{1,4})\s*m(?:in)?)?\s*$/.exec(value);
  if (!m || (m[1] === undefined && m[2] === undefined)) return null;
  const minutes = Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0);
  return minutes > 0 ? minutes : null;
}
