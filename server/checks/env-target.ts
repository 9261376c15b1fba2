// Turns a provisioned Environment into a CheckTarget: SSH exec through the shared pool and one
// cached etcd v3 client per environment (warm connections keep a key check to a few ms). etcd is
// reached through each host's SSH connection (a forwarded local socket), never on its own port.
import { Etcd3 } from 'etcd3';
import type { Environment } from '../../provisioning/provider.ts';
import type { SshConnection } from '../ssh/ssh-connection.ts';
import { SshError } from '../ssh/ssh-connection.ts';
import type { SshPool } from '../ssh/ssh-pool.ts';
import type { CheckTarget, EtcdReader } from './check-target.ts';
import { WarmShellPool } from './warm-shell.ts';

export const ETCD_CLIENT_PORT = 2379;

/** gRPC's name for a unix socket (grpc-js dials `unix:///abs/path`). */
export const grpcTarget = (socketPath: string): string => `unix://${socketPath}`;

function readerFor(client: Etcd3): EtcdReader {
  return {
    get: (key) => client.get(key).string(),
    getPrefix: async (prefix) => new Map(Object.entries(await client.getAll().prefix(prefix).strings())),
    countPrefix: (prefix) => client.getAll().prefix(prefix).count(),
  };
}

/** One etcd client per environment, created on first use, closed with the environment. */
export class EtcdClients {
  private readonly clients = new Map<string, { client: Etcd3; reader: EtcdReader }>();

  /** `socketOf(host)`: a local socket reaching that host's etcd client port (CheckTarget.etcdSocket). */
  reader(env: Environment, socketOf: (host: string) => string): EtcdReader {
    let entry = this.clients.get(env.id);
    if (!entry) {
      const client = new Etcd3({
        hosts: env.hosts.map((h) => grpcTarget(socketOf(h.name))),
        // A member that does not answer is skipped quickly; the check's own timeout bounds the rest.
        dialTimeout: 2000,
      });
      entry = { client, reader: readerFor(client) };
      this.clients.set(env.id, entry);
    }
    return entry.reader;
  }

  close(envId: string): void {
    this.clients.get(envId)?.client.close();
    this.clients.delete(envId);
  }

  closeAll(): void {
    for (const id of [...this.clients.keys()]) this.close(id);
  }
}

/** Warm check shells per environment and host, closed with the environment. */
export class WarmShells {
  private readonly byEnv = new Map<string, Map<string, WarmShellPool>>();

  pool(env: Environment, host: string, conn: SshConnection): WarmShellPool {
    let hosts = this.byEnv.get(env.id);
    if (!hosts) this.byEnv.set(env.id, (hosts = new Map<string, WarmShellPool>()));
    let p = hosts.get(host);
    if (!p) {
      p = new WarmShellPool(host, async (command) => {
        const ch = await conn.channel(command);
        return {
          write: (d) => ch.write(d),
          onData: (l) => ch.on('data', l),
          onClose: (l) => ch.on('close', l),
          close: () => ch.close(),
        };
      });
      hosts.set(host, p);
    }
    return p;
  }

  close(envId: string): void {
    for (const p of this.byEnv.get(envId)?.values() ?? []) p.close();
    this.byEnv.delete(envId);
  }

  closeAll(): void {
    for (const id of [...this.byEnv.keys()]) this.close(id);
  }
}

/** A CheckTarget over an environment; with `warm`, checks run in warm shells instead of new sessions. */
export function environmentTarget(env: Environment, pool: SshPool, etcd: EtcdClients, warm?: WarmShells): CheckTarget {
  const connection = (host: string): SshConnection => {
    const conn = pool.get(env, host);
    if (!conn) throw new SshError('unreachable', `no host named ${host}`);
    return conn;
  };
  return {
    hosts: env.hosts.map((h) => ({ name: h.name, address: h.address })),
    async exec(host, command, opts) {
      const conn = connection(host);
      return warm ? warm.pool(env, host, conn).exec(command, opts) : conn.exec(command, opts);
    },
    async execSession(host, command, opts) {
      return connection(host).exec(command, opts);
    },
    etcd: () => etcd.reader(env, (host) => connection(host).localSocket(ETCD_CLIENT_PORT)),
    etcdSocket: (host) => connection(host).localSocket(ETCD_CLIENT_PORT),
    async openTcp(host, address, port) {
      return connection(host).forward(address, port);
    },
  };
}
