// Which inventory environments are held, kept as one small file per held environment under
// <dataDir>/inventory/, created exclusively: two processes (or two attendees at once) never get the same
// one, and a restarted server finds what it handed out. The hosts themselves are never written to.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { EnvironmentSpec } from '../provider.ts';

export interface Lease {
  version: 1;
  /** The Environment id handed out: the inventory environment's name and a suffix new for every hand-out. */
  id: string;
  /** The inventory environment's name. */
  environment: string;
  /** held: someone has it; dirty: given back, but its reset failed, so nobody gets it until a reset succeeds. */
  status: 'held' | 'dirty';
  spec: EnvironmentSpec;
  createdAt: number;
  creatorPid: number;
  /** For dirty: why the reset failed. */
  problem?: string;
}

export class LeaseStore {
  constructor(private readonly dir: string) {}

  private file(environment: string): string {
    return path.join(this.dir, `${environment}.json`);
  }

  /** Takes the environment for `lease`; false when it is already held (or dirty). */
  async take(lease: Lease): Promise<boolean> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    try {
      await fs.writeFile(this.file(lease.environment), `${JSON.stringify(lease)}\n`, { flag: 'wx', mode: 0o600 });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
  }

  async read(environment: string): Promise<Lease | undefined> {
    const text = await fs.readFile(this.file(environment), 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    try {
      const l = JSON.parse(text) as Lease;
      return l.version === 1 && l.environment === environment ? l : undefined;
    } catch {
      return undefined;
    }
  }

  /** Rewrites a lease this process holds (e.g. held → dirty). */
  async update(lease: Lease): Promise<void> {
    const tmp = `${this.file(lease.environment)}.${process.pid}.tmp`;
    await fs.writeFile(tmp, `${JSON.stringify(lease)}\n`, { mode: 0o600 });
    await fs.rename(tmp, this.file(lease.environment));
  }

  /** Frees the environment, only if the lease on file is still `id` (never a newer hand-out's). */
  async release(environment: string, id: string): Promise<void> {
    const l = await this.read(environment);
    if (l?.id === id) await fs.rm(this.file(environment), { force: true });
  }

  async all(): Promise<Lease[]> {
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    const out: Lease[] = [];
    for (const n of names) {
      if (!n.endsWith('.json')) continue;
      const l = await this.read(n.slice(0, -'.json'.length));
      if (l) out.push(l);
    }
    return out;
  }
}
