// Finds what is left on the machine of one environment: used by tests and the bench to prove teardown
// complete, and handy when debugging by hand. Looks by name, not by state file, so it sees crash leftovers.
import fs from 'node:fs/promises';
import { cgroupParents } from './cgroups.ts';
import { loopDevicesUnder } from './host-disk.ts';
import { firewallRulesOf, listLinks } from './network.ts';
import { envDir } from './state.ts';
import { idRangesDir } from './id-ranges.ts';

export async function leftoversOf(dataDir: string, id: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await fs.readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const cmd = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    // Zombies have an empty cmdline: they hold nothing and their parent (init here) reaps them.
    if (cmd.split('\0').some((a) => a.startsWith(`--machine=${id}-`))) found.push(`process ${pid}`);
  }
  const dir = envDir(dataDir, id);
  for (const line of (await fs.readFile('/proc/mounts', 'utf8')).split('\n')) {
    const mp = line.split(' ')[1] ?? '';
    if (mp.startsWith(`${dir}/`) || mp === dir) found.push(`mount ${mp}`);
  }
  for (const link of await listLinks()) if (link.startsWith(`${id}-`) || link.startsWith(`vb-${id}-`)) found.push(`link ${link}`);
  for (const parent of await cgroupParents()) {
    for (const e of await fs.readdir(parent).catch(() => [] as string[])) if (e.startsWith(`${id}-`)) found.push(`cgroup ${parent}/${e}`);
  }
  for (const sub of await fs.readdir('/run/systemd/nspawn').catch(() => [] as string[])) {
    for (const e of await fs.readdir(`/run/systemd/nspawn/${sub}`).catch(() => [] as string[])) if (e.startsWith(`${id}-`)) found.push(`runtime /run/systemd/nspawn/${sub}/${e}`);
  }
  for (const rule of await firewallRulesOf(id)) found.push(`firewall ${rule}`);
  for (const l of await loopDevicesUnder(dir)) found.push(`loop ${l.name} ${l.backFile}`);
  for (const f of await fs.readdir(idRangesDir).catch(() => [] as string[])) {
    if ((await fs.readFile(`${idRangesDir}/${f}`, 'utf8').catch(() => '')).trim() === id) found.push(`id range ${idRangesDir}/${f}`);
  }
  if (await fs.access(dir).then(() => true, () => false)) found.push(`dir ${dir}`);
  return found;
}
