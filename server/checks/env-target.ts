// Turns a provisioned Environment into a CheckTarget: SSH exec through the shared pool and one
// cached etcd v3 client per environment (warm connections keep a key check to a few ms).
import { Etcd3 } from 'etcd3';
import type { Environment } from '../../provisioning/provider.ts';
import { SshError } from '../ssh/ssh-connection.ts';
import type { SshPool } from '../ssh/ssh-pool.ts';
import type { CheckTarget, EtcdReader } from './check-target.ts';

export const ETCD_CLIENT_PORT = 2379;

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

  reader(env: Environment): EtcdReader {
    let entry = this.clients.get(env.id);
    if (!entry) {
      const client = new Etcd3({
        hosts: env.hosts.map((h) => `http://${h.address}:${ETCD_CLIENT_PORT}`),
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

export function environmentTarget(env: Environment, pool: SshPool, etcd: EtcdClients): CheckTarget {
  return {
    hosts: env.hosts.map((h) => ({ name: h.name, address: h.address })),
    exec(host, command, opts) {
      const conn = pool.get(env, host);
      if (!conn) return Promise.reject(new SshError('unreachable', `no host named ${host}`));
      return conn.exec(command, opts);
    },
    etcd: () => etcd.reader(env),
  };
}
