// The front matter's `cluster:` field: what a lab asks the Cluster tab to draw, and a file:line
// error for each bad entry.
import { describe, expect, it } from 'vitest';
import { resolveClusterView } from '../../common/cluster-view.ts';
import { parseLab } from './parse-lab.ts';

const lab = (cluster: string): string => `---\ntitle: T\nhosts: [host0]\nservices: { etcd: cluster, docker: true }\n${cluster}\n---\n## Step\n\ntext\n`;
const parse = (cluster: string) => parseLab(lab(cluster), { id: 'x', file: 'x/lab.md' });

describe('cluster front matter', () => {
  it('reads prefixes, an overlay prefix, unit patterns and switches; defaults follow the services', () => {
    const r = parse('cluster:\n  keys: [/services/web/, /dns/]\n  overlay: /coreos.com/network/\n  units: [etcd.service, "web@*.service"]\n  containers: false');
    expect(r.problems).toEqual([]);
    expect(r.lab?.meta.cluster).toEqual({ keys: ['/services/web/', '/dns/'], overlay: '/coreos.com/network', units: ['etcd.service', 'web@*.service'], containers: false });
    expect(resolveClusterView(r.lab.meta)).toEqual({ etcd: true, keys: ['/services/web/', '/dns/'], overlay: '/coreos.com/network', units: ['etcd.service', 'web@*.service'], containers: false });
  });

  it('without `cluster`: etcd and containers shown as the services say, nothing else', () => {
    const r = parse('');
    expect(r.lab?.meta.cluster).toBeUndefined();
    expect(resolveClusterView(r.lab.meta)).toEqual({ etcd: true, keys: [], overlay: null, units: [], containers: true });
  });

  it('a bad entry is an error on its own line of the lab file', () => {
    const r = parse('cluster:\n  keys: [services]\n  units: ["web; rm -rf /"]\n  color: red');
    expect(r.problems.map((p) => [p.line, p.message])).toEqual([
      [6, 'each entry of `cluster.keys` must be an etcd prefix starting with /'],
      [7, 'each entry of `cluster.units` must be a unit name or pattern such as web@*.service'],
      [8, 'unknown `cluster` field `color`; expected one of etcd, keys, overlay, units, containers'],
    ]);
  });
});
