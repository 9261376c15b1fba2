// What a swarm manager says about its cluster, for the `service` and `node` checks: the tasks of a
// service (`docker service ps`) and the nodes (`docker node ls`), read over the server's own SSH.
import type { CheckTarget, EvalContext } from '../check-target.ts';
import { firstLine } from '../per-host.ts';
import { shq } from '../../ssh/shell-quote.ts';

export interface SwarmTask {
  name: string;
  node: string;
  desired: string;
  /** "Running 5 seconds ago", "Pending 3 seconds ago", … */
  current: string;
  error: string;
}

export interface SwarmNode {
  hostname: string;
  status: string;
  availability: string;
  managerStatus: string;
}

/** The manager a swarm check asks: `from`, or the environment's first host. */
export function managerOf(target: CheckTarget, from: string | undefined): string {
  return from ?? target.hosts[0]?.name ?? 'host0';
}

const str = (x: unknown): string => (typeof x === 'string' ? x : '');

/** Parses JSON-per-line output; lines that are not JSON objects (warnings) are skipped. */
function jsonLines(out: string): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const line of out.split('\n')) {
    if (!line.trim().startsWith('{')) continue;
    try {
      const v: unknown = JSON.parse(line);
      if (v !== null && typeof v === 'object') rows.push(v as Record<string, unknown>);
    } catch {
      // Not JSON: ignore.
    }
  }
  return rows;
}

export function parseTasks(out: string): SwarmTask[] {
  return jsonLines(out).map((v) => ({ name: str(v.Name), node: str(v.Node), desired: str(v.DesiredState), current: str(v.CurrentState), error: str(v.Error) }));
}

export function parseNodes(out: string): SwarmNode[] {
  return jsonLines(out).map((v) => ({ hostname: str(v.Hostname), status: str(v.Status), availability: str(v.Availability), managerStatus: str(v.ManagerStatus) }));
}

/** What the manager answered: the rows, or why it could not (not a manager, no such service) — a fail, not an error. */
export type SwarmAnswer<T> = { ok: true; rows: T[] } | { ok: false; why: string };

async function ask<T>(target: CheckTarget, manager: string, cmd: string, parse: (out: string) => T[], ctx: EvalContext): Promise<SwarmAnswer<T>> {
  const r = await target.exec(manager, cmd, { timeoutMs: ctx.timeoutMs, signal: ctx.signal, maxOutputBytes: 512 * 1024 });
  if (r.code !== 0) return { ok: false, why: `${manager} says "${firstLine(r.stderr) || firstLine(r.stdout) || `exit ${r.code}`}"` };
  return { ok: true, rows: parse(r.stdout) };
}

/** The tasks the manager wants running (running, starting or pending), with their nodes. */
export async function readTasks(target: CheckTarget, manager: string, service: string, ctx: EvalContext): Promise<SwarmAnswer<SwarmTask>> {
  // The format is a constant; the name passed the schema's name pattern and is quoted anyway.
  return ask(target, manager, `docker service ps --no-trunc --filter desired-state=running --format '{{json .}}' -- ${shq(service)}`, parseTasks, ctx);
}

export async function readNodes(target: CheckTarget, manager: string, ctx: EvalContext): Promise<SwarmAnswer<SwarmNode>> {
  return ask(target, manager, `docker node ls --format '{{json .}}'`, parseNodes, ctx);
}

/** A task that runs now ("Running …"); one still starting or waiting does not count. */
export const isRunning = (t: SwarmTask): boolean => t.desired === 'Running' && t.current.startsWith('Running');
/** A task the scheduler could not place yet ("Pending …", often with "no suitable node"). */
export const isPending = (t: SwarmTask): boolean => t.desired === 'Running' && t.current.startsWith('Pending');
