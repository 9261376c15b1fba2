// Hosts waiting in a warm pool (or booted ahead for a workshop's seats) wait with their SSH connections
// made: the checks' (SshPool) and the terminals' (ShellHub). An attendee claiming them then pays no SSH
// handshake for her first check or her terminals: in a class arriving at once those handshakes, two per
// host, were most of the server's work per join. A pooled environment destroyed unclaimed closes them.
import type { Logger } from 'pino';
import type { Environment, Provider } from '../../provisioning/provider.ts';
import { providerView } from '../../provisioning/provider.ts';
import type { SshPool } from '../ssh/ssh-pool.ts';
import type { ShellHub } from '../terminals/shell-hub.ts';

export interface PoolProviders {
  /** What the pools claim through and destroy unclaimed environments with. */
  claims: Provider;
  /** What the pools boot their environments with. */
  refills: Provider;
}

export interface Connections {
  ssh: SshPool;
  hub: ShellHub;
  log: Logger;
}

/** Connects to every host of a pooled environment; a failure is logged and left to the first use, which connects again. */
async function warm(env: Environment, c: Connections): Promise<void> {
  const tries = env.hosts.flatMap((h): Promise<unknown>[] => [c.ssh.get(env, h.name)?.connect() ?? Promise.resolve(), c.hub.warm(env, h.name)]);
  for (const r of await Promise.allSettled(tries)) {
    if (r.status === 'rejected') c.log.debug({ env: env.id, err: r.reason instanceof Error ? r.reason.message : String(r.reason) }, 'pooled environment not connected ahead');
  }
}

const close = (id: string, c: Connections): void => {
  c.ssh.closeEnvironment(id);
  c.hub.closeEnvironment(id);
};

/** The pools' providers with connections made when an environment is booted for a pool, and closed when one is destroyed unclaimed. */
export function withWarmConnections(p: PoolProviders, c: Connections): PoolProviders {
  return {
    claims: providerView(p.claims, {
      destroy: (env) => {
        close(typeof env === 'string' ? env : env.id, c);
        return p.claims.destroy(env);
      },
    }),
    refills: providerView(p.refills, {
      create: async (spec, o) => {
        const env = await p.refills.create(spec, o);
        await warm(env, c);
        return env;
      },
    }),
  };
}
