// Machine-wide bookkeeping under /run/labwright (tmpfs: gone after a reboot, like the hosts themselves).
// Bridges, cgroups and subnets are machine-wide too, so two servers or tests with different data
// directories must agree on who owns which environment id and subnet — not only processes sharing a dataDir.
import fs from 'node:fs/promises';
import path from 'node:path';
import { envDir } from './state.ts';

export const RUN_DIR = '/run/labwright';
const idsDir = path.join(RUN_DIR, 'envs');
export const subnetsDir = path.join(RUN_DIR, 'subnets');

/** Claims an environment id for dataDir; false when some process already holds it. */
export async function claimEnvId(id: string, dataDir: string): Promise<boolean> {
  await fs.mkdir(idsDir, { recursive: true, mode: 0o700 });
  try {
    await fs.writeFile(path.join(idsDir, id), `${dataDir}\n`, { flag: 'wx' });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

export async function releaseEnvId(id: string): Promise<void> {
  await fs.rm(path.join(idsDir, id), { force: true });
}

/** The data directory that holds environment `id`, if a process registered it. */
export async function dataDirOf(id: string): Promise<string | undefined> {
  const raw = await fs.readFile(path.join(idsDir, id), 'utf8').catch(() => undefined);
  return raw?.trim() || undefined;
}

/** True when `id` belongs to a data directory other than ours and still exists there (not ours to reap). */
export async function ownedElsewhere(id: string, ourDataDir: string): Promise<boolean> {
  const other = await dataDirOf(id);
  if (other === undefined || other === ourDataDir) return false;
  return fs.access(envDir(other, id)).then(
    () => true,
    () => false,
  );
}

/** True while environment `id` still exists in the data directory that registered it. */
export async function envExists(id: string): Promise<boolean> {
  const dataDir = await dataDirOf(id);
  if (dataDir === undefined) return false;
  return fs.access(envDir(dataDir, id)).then(
    () => true,
    () => false,
  );
}
