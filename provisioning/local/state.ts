// The small JSON file kept per environment under <dataDir>/envs/<id>/: enough to find, adopt or tear
// down every resource of the environment after the process that created it is gone.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { EnvironmentSpec } from '../provider.ts';
import { ENV_ID_RE } from './names.ts';

export interface HostState {
  name: string;
  machine: string;
  address: string;
  /** Pid of the systemd-nspawn process (0 until booted). */
  pid: number;
  /** Cgroup directories (one per hierarchy) the host runs in. */
  cgroups: string[];
  dir: string;
  /** Unprivileged hosts: root in the host is this uid (and gid) on the server, for 65536 ids (id-ranges.ts). */
  idBase?: number;
  /** Set when the host came up "degraded": which units failed (none the lab asked for). */
  note?: string;
}

/** What state.json holds (not the protocol's EnvState, which is what a page is told of its hosts). */
export interface EnvRecord {
  version: 1;
  id: string;
  status: 'creating' | 'ready';
  /** The process creating the environment; a 'creating' state whose creator is dead is a crash leftover. */
  creatorPid: number;
  spec: EnvironmentSpec;
  subnet: string;
  bridge: string;
  bridgeAddress: string;
  imageRootfs: string;
  hosts: HostState[];
  createdAt: number;
}

export const envsDir = (dataDir: string): string => path.join(dataDir, 'envs');
export const envDir = (dataDir: string, id: string): string => path.join(envsDir(dataDir), id);
export const keyPath = (dataDir: string, id: string): string => path.join(envDir(dataDir, id), 'id_ed25519');

export async function writeState(dataDir: string, state: EnvRecord): Promise<void> {
  const file = path.join(envDir(dataDir, state.id), 'state.json');
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await fs.rename(tmp, file);
}

function isEnvRecord(v: unknown): v is EnvRecord {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Partial<EnvRecord>;
  return (
    s.version === 1 &&
    typeof s.id === 'string' &&
    ENV_ID_RE.test(s.id) &&
    (s.status === 'creating' || s.status === 'ready') &&
    typeof s.bridge === 'string' &&
    Array.isArray(s.hosts) &&
    typeof s.spec === 'object'
  );
}

export async function readState(dataDir: string, id: string): Promise<EnvRecord | undefined> {
  try {
    const parsed: unknown = JSON.parse(await fs.readFile(path.join(envDir(dataDir, id), 'state.json'), 'utf8'));
    return isEnvRecord(parsed) && parsed.id === id ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Ids of every environment directory under dataDir (with or without a readable state file). */
export async function listEnvIds(dataDir: string): Promise<string[]> {
  const entries = await fs.readdir(envsDir(dataDir)).catch(() => [] as string[]);
  return entries.filter((e) => ENV_ID_RE.test(e)).sort();
}
