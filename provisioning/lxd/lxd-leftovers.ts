// What is left of one LXD environment, looked up by name (instances, its network and bridge, firewall rules
// ours and LXD's, key directory): tests and the bench use it to prove a teardown complete.
import fs from 'node:fs/promises';
import path from 'node:path';
import { listLinks } from '../local/network.ts';
import type { LxdClient } from './lxd-client.ts';
import { networkName } from './lxd-config.ts';
import { lxdFirewallRulesOf, lxdOwnRulesOf } from './lxd-firewall.ts';

export async function lxdLeftoversOf(client: LxdClient, dataDir: string, id: string): Promise<string[]> {
  const found: string[] = [];
  for (const url of await client.get<string[]>('/1.0/instances')) {
    const name = decodeURIComponent(url.replace(/^.*\//, ''));
    if (name.startsWith(`${id}-`)) found.push(`instance ${name}`);
  }
  if (await client.exists(`/1.0/networks/${networkName(id)}`)) found.push(`network ${networkName(id)}`);
  for (const link of await listLinks()) if (link === networkName(id)) found.push(`link ${link}`);
  for (const r of await lxdFirewallRulesOf(id)) found.push(`firewall ${r}`);
  for (const r of await lxdOwnRulesOf(networkName(id))) found.push(`lxd firewall ${r}`);
  const dir = path.join(dataDir, 'lxd-envs', id);
  if (await fs.access(dir).then(() => true, () => false)) found.push(`dir ${dir}`);
  return found;
}
