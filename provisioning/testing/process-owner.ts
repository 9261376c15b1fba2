// Who made something that outlives a test process (a cluster's run folder, an LXD daemon): the process's pid
// and start time, written in a file, so that a later run can tell a live owner from a dead one — and a pid
// the kernel gave to another process since (its start time differs) from the owner.
import fs from 'node:fs/promises';

export interface ProcessOwner {
  pid: number;
  /** /proc/<pid>/stat's starttime (field 22). */
  started: string;
}

/** A process's start time, or undefined when it is gone. */
export async function startTimeOf(pid: number): Promise<string | undefined> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Fields after the command (which may hold spaces and parentheses): state is field 3, starttime field 22.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

/** This process as an owner. */
async function thisProcess(): Promise<ProcessOwner> {
  return { pid: process.pid, started: (await startTimeOf(process.pid)) ?? '' };
}

export async function ownerAlive(owner: ProcessOwner): Promise<boolean> {
  return (await startTimeOf(owner.pid)) === owner.started;
}

/** Writes this process as the owner in `file`, with `extra` fields (JSON). */
export async function claim(file: string, extra: Record<string, unknown> = {}): Promise<void> {
  await fs.writeFile(file, JSON.stringify({ ...extra, ...(await thisProcess()) }));
}

/** The owner written in `file` (and its other fields), or undefined when there is none. */
export async function ownerIn<T extends object = object>(file: string): Promise<(ProcessOwner & T) | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as ProcessOwner & T;
  } catch {
    return undefined;
  }
}
