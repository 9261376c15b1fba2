// Keeps one SshConnection per lab host of each environment, so checks and terminals reuse them.
import type { Environment } from '../../provisioning/provider.ts';
import { SshConnection, sshTargetOf } from './ssh-connection.ts';

export class SshPool {
  private readonly byEnv = new Map<string, Map<string, SshConnection>>();

  /** The connection to `host` of `env`, or undefined when the environment has no such host. */
  get(env: Environment, host: string): SshConnection | undefined {
    let hosts = this.byEnv.get(env.id);
    if (!hosts) {
      hosts = new Map();
      this.byEnv.set(env.id, hosts);
    }
    let conn = hosts.get(host);
    if (!conn) {
      const info = env.hosts.find((h) => h.name === host);
      if (!info) return undefined;
      conn = new SshConnection(sshTargetOf(env, info));
      hosts.set(host, conn);
    }
    return conn;
  }

  /** Number of connections held (made or not yet), for tests. */
  get connectionCount(): number {
    let n = 0;
    for (const hosts of this.byEnv.values()) n += hosts.size;
    return n;
  }

  /** Closes every connection of an environment (when it is destroyed or released). */
  closeEnvironment(envId: string): void {
    const hosts = this.byEnv.get(envId);
    if (!hosts) return;
    for (const c of hosts.values()) c.close();
    this.byEnv.delete(envId);
  }

  closeAll(): void {
    for (const id of [...this.byEnv.keys()]) this.closeEnvironment(id);
  }
}
