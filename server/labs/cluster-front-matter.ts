// The front matter's `cluster:` field: what the lab page's Cluster tab draws (etcd members, key
// prefixes, overlay leases, units, containers), validated field by field with the lab file's lines.
import { isMap, isScalar, isSeq } from 'yaml';
import { CLUSTER_VIEW_LIMITS } from '../../common/cluster-view.ts';
import type { ClusterViewSpec } from '../../common/cluster-view.ts';
import type { ProblemList } from './problem-list.ts';
import type { YamlSource } from './yaml-source.ts';

const FIELDS = ['etcd', 'keys', 'overlay', 'units', 'containers'] as const;
/** An etcd prefix as labs write them: absolute, printable, no spaces. */
const ETCD_PREFIX = /^\/[\x21-\x7e]{0,200}$/;
/** A unit name or a systemctl pattern: letters, digits and `@ . _ - : * ? [ ] \`. */
const UNIT_PATTERN = /^[A-Za-z0-9@._:*?[\]\\-]{1,120}$/;

export function readClusterView(yaml: YamlSource, node: unknown, line: number, problems: ProblemList): ClusterViewSpec | null {
  if (!isMap(node)) {
    problems.error(line, '`cluster` must be a mapping such as { keys: [/services/], units: [etcd.service], containers: true }');
    return null;
  }
  const spec: ClusterViewSpec = {};
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '?';
    const at = yaml.lineOf(pair.value, yaml.lineOf(pair.key, line));
    const value: unknown = isScalar(pair.value) ? pair.value.value : pair.value;
    switch (key) {
      case 'etcd':
      case 'containers':
        if (typeof value === 'boolean') spec[key] = value;
        else problems.error(at, `\`cluster.${key}\` must be true or false`);
        break;
      case 'overlay':
        if (typeof value === 'string' && ETCD_PREFIX.test(value)) spec.overlay = value.replace(/\/+$/, '') || '/';
        else problems.error(at, '`cluster.overlay` must be the overlay\'s etcd prefix, e.g. /coreos.com/network');
        break;
      case 'keys': {
        const list = stringList(yaml, pair.value, at, problems, `cluster.keys`, ETCD_PREFIX, 'an etcd prefix starting with /', CLUSTER_VIEW_LIMITS.prefixes);
        if (list) spec.keys = list;
        break;
      }
      case 'units': {
        const list = stringList(yaml, pair.value, at, problems, 'cluster.units', UNIT_PATTERN, 'a unit name or pattern such as web@*.service', CLUSTER_VIEW_LIMITS.units);
        if (list) spec.units = list;
        break;
      }
      default:
        problems.error(yaml.lineOf(pair.key, line), `unknown \`cluster\` field \`${key}\`; expected one of ${FIELDS.join(', ')}`);
    }
  }
  return spec;
}

/** A list of strings (a single string counts as a list of one), each matching `shape`. */
function stringList(yaml: YamlSource, node: unknown, line: number, problems: ProblemList, field: string, shape: RegExp, what: string, max: number): string[] | null {
  const items: unknown[] = isSeq(node) ? node.items : [node];
  const out: string[] = [];
  let ok = true;
  for (const item of items) {
    const v: unknown = isScalar(item) ? item.value : null;
    if (typeof v !== 'string' || !shape.test(v)) {
      problems.error(yaml.lineOf(item, line), `each entry of \`${field}\` must be ${what}`);
      ok = false;
    } else if (!out.includes(v)) {
      out.push(v);
    }
  }
  if (out.length > max) {
    problems.error(line, `\`${field}\` lists ${out.length} entries; the Cluster tab shows at most ${max}`);
    return null;
  }
  return ok ? out : null;
}
