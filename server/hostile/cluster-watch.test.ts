// Hostile: a page that floods the Cluster tab's `cluster-watch` on and off. Each toggle must not open
// new etcd clients, start a reading of the hosts faster than the refresh period, or add a close
// handler to the connection (a slow leak on a long-lived socket).
import { describe, expect, it } from 'vitest';
import type { LabMeta } from '../../common/lab.ts';
import type { ServerMessage } from '../../common/protocol.ts';
import type { Environment } from '../../provisioning/provider.ts';
import { createClusterModule } from '../cluster/cluster-module.ts';
import type { ClusterEtcd } from '../cluster/cluster-etcd.ts';
import { logger } from '../log.ts';
import { fakeTarget } from '../testing/fake-target.ts';
import type { ConnectionContext } from '../ws/connection-context.ts';

const meta = { title: 'T', hosts: ['host0', 'host1'], services: { etcd: 'cluster', docker: false }, gate: 'hard' } as unknown as LabMeta;
const env = { id: 'lwflood', spec: { owner: 'x', hosts: ['host0', 'host1'] } } as unknown as Environment;

function fakeCtx(): { ctx: ConnectionContext; sent: ServerMessage[]; closers: (() => void)[] } {
  const sent: ServerMessage[] = [];
  const closers: (() => void)[] = [];
  const ctx = {
    connectionId: 'c1',
    session: { id: 'sFlood' },
    labId: 'lab',
    log: logger('test'),
    send: (m: ServerMessage) => void sent.push(m),
    sendError: () => undefined,
    onClose: (f: () => void) => void closers.push(f),
    bufferedAmount: 0,
    closed: false,
    close: () => undefined,
  } as unknown as ConnectionContext;
  return { ctx, sent, closers };
}

describe('cluster-watch flood', () => {
  it('1000 on/off toggles → one set of etcd clients, readings no faster than the refresh period, one close handler', async () => {
    let clients = 0;
    let closed = 0;
    const etcd = (): ClusterEtcd => {
      clients++;
      return {
        status: (h) => Promise.resolve({ id: h.name, leader: 'host0', raftTerm: 2, revision: 1 } as never),
        members: () => Promise.resolve([]),
        range: () => Promise.resolve({ entries: [], more: false }),
        ttl: () => Promise.resolve(null),
        close: () => void closed++,
      };
    };
    const target = fakeTarget(['host0', 'host1'], () => ({ stdout: '' }));
    const module = createClusterModule({ meta: () => meta, environment: () => env, target: () => target, etcdFor: etcd, refreshMs: 60_000, graceMs: 60_000 });
    const { ctx, sent, closers } = fakeCtx();
    const watch = module.handlers['cluster-watch']!;
    for (let i = 0; i < 1000; i++) {
      await watch(ctx, { type: 'cluster-watch', watch: true } as never);
      await watch(ctx, { type: 'cluster-watch', watch: false } as never);
    }
    await new Promise((r) => setTimeout(r, 50));
    // One reading (the first watch), one etcd client set kept through the grace, one close handler.
    expect(clients).toBe(1);
    expect(closed).toBe(0);
    const readings = target.calls.length;
    expect(readings).toBeLessThanOrEqual(2);
    expect(closers).toHaveLength(1);
    // Every watch after the first reading came in got a picture at once: the last reading, not a new one.
    expect(sent.filter((m) => m.type === 'cluster-view').length).toBeGreaterThanOrEqual(990);
    module.close();
    expect(closed).toBe(1);
  });
});
