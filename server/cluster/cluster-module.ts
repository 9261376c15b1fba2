// The Cluster tab on the WebSocket: while a page of (session, lab) watches (`cluster-watch`), the
// server reads its environment's cluster every couple of seconds and pushes each reading as
// `cluster-view` (its time is what the tab's "read N s ago" shows). One reading loop per
// (session, lab), shared by all its watching pages.
import type { ClusterSnapshot } from '../../common/cluster-view.ts';
import { resolveClusterView } from '../../common/cluster-view.ts';
import type { LabMeta } from '../../common/lab.ts';
import type { Environment } from '../../provisioning/provider.ts';
import type { CheckTarget } from '../checks/check-target.ts';
import type { Logger } from '../log.ts';
import type { ConnectionContext } from '../ws/connection-context.ts';
import type { GatewayModule, MessageOf } from '../ws/gateway-module.ts';
import type { ClusterEtcd } from './cluster-etcd.ts';
import { etcdForHosts } from './cluster-etcd.ts';
import { readCluster } from './cluster-reader.ts';

export interface ClusterModuleDeps {
  meta(labId: string): LabMeta | undefined;
  /** The ready environment of (session, lab), or undefined while there is none. */
  environment(sessionId: string, labId: string): Environment | undefined;
  /** The check connection of an environment (warm shells): the cluster is read the way checks read it. */
  target(env: Environment): CheckTarget;
  /** How often a watched cluster is read; default 2000 ms. */
  refreshMs?: number;
  /** For tests: etcd access per environment. */
  etcdFor?: (env: Environment) => ClusterEtcd;
  /** How long a room (its etcd clients, its last reading) outlives its last watcher; default 30 s. */
  graceMs?: number;
}

export interface ClusterModule extends GatewayModule {
  close(): void;
}

export const DEFAULT_CLUSTER_REFRESH_MS = 2000;

interface Room {
  sessionId: string;
  labId: string;
  watchers: Set<ConnectionContext>;
  timer: NodeJS.Timeout | null;
  busy: boolean;
  /** The environment the etcd clients below belong to (a reset brings a new one). */
  envId: string | null;
  etcd: ClusterEtcd | null;
  last: ClusterSnapshot | null;
  /** When the last reading started (performance.now()); a new watcher within refreshMs gets `last`. */
  readAt: number;
  /** Set while nobody watches: the room goes when it fires. */
  linger: NodeJS.Timeout | null;
  log: Logger;
}

export function createClusterModule(deps: ClusterModuleDeps): ClusterModule {
  const rooms = new Map<string, Room>();
  const refreshMs = deps.refreshMs ?? DEFAULT_CLUSTER_REFRESH_MS;
  const etcdFor =
    deps.etcdFor ??
    ((env: Environment) => {
      const target = deps.target(env);
      return etcdForHosts((host) => target.etcdSocket(host));
    });
  const graceMs = deps.graceMs ?? 30_000;
  /** Connections whose close already unwatches (registered once, however often they toggle). */
  const closing = new WeakSet<ConnectionContext>();
  const key = (sessionId: string, labId: string): string => `${sessionId}\u0000${labId}`;

  function dropEtcd(room: Room): void {
    room.etcd?.close();
    room.etcd = null;
    room.envId = null;
  }

  async function refresh(room: Room): Promise<void> {
    const meta = deps.meta(room.labId);
    const env = deps.environment(room.sessionId, room.labId);
    if (!meta || !env) return;
    if (room.envId !== env.id) {
      dropEtcd(room);
      room.envId = env.id;
      room.etcd = etcdFor(env);
    }
    const target = deps.target(env);
    const etcd = room.etcd;
    if (!etcd) return;
    const snapshot = await readCluster({ hosts: target.hosts, exec: (h, c, o) => target.exec(h, c, o), etcd }, resolveClusterView(meta));
    room.last = snapshot;
    for (const c of room.watchers) c.send({ type: 'cluster-view', snapshot });
  }

  function tick(room: Room): void {
    if (room.busy) return;
    room.busy = true;
    room.readAt = performance.now();
    refresh(room)
      .catch((e: unknown) => room.log.warn({ err: e }, 'cluster view: reading failed'))
      .finally(() => {
        room.busy = false;
      });
  }

  function unwatch(ctx: ConnectionContext): void {
    const k = key(ctx.session.id, ctx.labId);
    const room = rooms.get(k);
    if (!room) return;
    room.watchers.delete(ctx);
    if (room.watchers.size > 0) return;
    // Nobody watches: stop reading now, but keep the etcd clients and the last picture a while, so a
    // page that toggles the tab (or a flood of toggles) does not open and close clients each time.
    if (room.timer) clearInterval(room.timer);
    room.timer = null;
    if (room.linger) clearTimeout(room.linger);
    const r = room;
    r.linger = setTimeout(() => {
      if (r.watchers.size > 0 || rooms.get(k) !== r) return;
      dropEtcd(r);
      rooms.delete(k);
    }, graceMs);
    r.linger.unref();
  }

  function watch(ctx: ConnectionContext, msg: MessageOf<'cluster-watch'>): void {
    if (!msg.watch) {
      unwatch(ctx);
      return;
    }
    const k = key(ctx.session.id, ctx.labId);
    let room = rooms.get(k);
    if (!room) {
      room = { sessionId: ctx.session.id, labId: ctx.labId, watchers: new Set(), timer: null, busy: false, envId: null, etcd: null, last: null, readAt: -Infinity, linger: null, log: ctx.log.child({ component: 'cluster' }) };
      rooms.set(k, room);
    }
    if (room.linger) clearTimeout(room.linger);
    room.linger = null;
    if (!room.timer) {
      const r = room;
      r.timer = setInterval(() => tick(r), refreshMs);
      r.timer.unref();
    }
    if (room.watchers.has(ctx)) return;
    room.watchers.add(ctx);
    if (!closing.has(ctx)) {
      closing.add(ctx);
      ctx.onClose(() => unwatch(ctx));
    }
    // A page that starts watching gets a picture at once: the last one, and a fresh reading unless
    // the last one is newer than the refresh period (toggling the tab never reads faster than that).
    if (room.last) ctx.send({ type: 'cluster-view', snapshot: room.last });
    if (performance.now() - room.readAt >= refreshMs) tick(room);
  }

  return {
    name: 'cluster',
    handlers: { 'cluster-watch': watch },
    close() {
      for (const room of rooms.values()) {
        if (room.timer) clearInterval(room.timer);
        if (room.linger) clearTimeout(room.linger);
        dropEtcd(room);
      }
      rooms.clear();
    },
  };
}
