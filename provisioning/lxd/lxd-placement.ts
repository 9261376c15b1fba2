// Where an environment goes on an LXD cluster: every host of it on one member (its bridge does not
// span machines), the online member with the fewest instances, counting the ones being made right now
// so that environments created at the same time spread out. Outside a cluster there is nothing to choose.

/** What placement asks of LXD's REST client (lxd-client.ts's LxdClient has it). */
export interface LxdApi {
  get<T>(path: string): Promise<T>;
  call(method: string, path: string, opts?: { body?: unknown }): Promise<unknown>;
}

interface Member {
  server_name: string;
  status: string;
}

/** Hosts being created per member by this process (LXD does not list them yet). */
const pending = new Map<string, number>();

export interface Placement {
  /** The member to create on (`?target=`), or undefined when LXD is not a cluster. */
  member: string | undefined;
  /** Every member of the cluster (a network must be defined on each before it is created). */
  members: string[];
  /** Call once the instances exist (or creating them failed). */
  release(): void;
}

export async function isClustered(client: LxdApi): Promise<boolean> {
  const info = await client.get<{ environment?: { server_clustered?: boolean } }>('/1.0');
  return info.environment?.server_clustered === true;
}

/** Picks the member for `hosts` new instances; the choice counts as taken until release(). */
export async function placeEnvironment(client: LxdApi, hosts: number): Promise<Placement> {
  if (!(await isClustered(client))) return { member: undefined, members: [], release: () => undefined };
  const members = await client.get<Member[]>('/1.0/cluster/members?recursion=1');
  const online = members.filter((m) => m.status === 'Online').map((m) => m.server_name);
  if (online.length === 0) throw new Error('no member of the LXD cluster is online');
  const instances = await client.get<{ location: string }[]>('/1.0/instances?recursion=1');
  const load = new Map<string, number>(online.map((m) => [m, pending.get(m) ?? 0]));
  for (const i of instances) if (load.has(i.location)) load.set(i.location, (load.get(i.location) ?? 0) + 1);
  const member = [...load.entries()].sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))[0]![0];
  pending.set(member, (pending.get(member) ?? 0) + hosts);
  let released = false;
  return {
    member,
    members: members.map((m) => m.server_name),
    release() {
      if (released) return;
      released = true;
      const left = (pending.get(member) ?? 0) - hosts;
      if (left > 0) pending.set(member, left);
      else pending.delete(member);
    },
  };
}

/** `?target=member` for a request that must run on the chosen member (nothing outside a cluster). */
export const targetQuery = (p: Placement, sep: '?' | '&' = '?'): string => (p.member === undefined ? '' : `${sep}target=${encodeURIComponent(p.member)}`);

/**
 * Creates a network; on a cluster it is first defined on every member (LXD's rule for managed
 * networks there), then created with its cluster-wide config.
 */
export async function createNetwork(client: LxdApi, p: Placement, body: { name: string; type: string; description?: string; config: Record<string, string> }): Promise<void> {
  if (p.member !== undefined) {
    for (const m of p.members) await client.call('POST', `/1.0/networks?target=${encodeURIComponent(m)}`, { body: { name: body.name, type: body.type, config: {} } });
  }
  await client.call('POST', '/1.0/networks', { body });
}
