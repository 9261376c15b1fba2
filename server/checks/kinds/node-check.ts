// `node` check: a host's swarm node as the manager sees it (`docker node ls`) — Ready or Down,
// Active/Pause/Drain, manager or worker — one result per host of the selector.
import type { CheckResult, nodeCheck } from '../../../common/checks.ts';
import type { z } from 'zod';
import type { CheckTarget, EvalContext } from '../check-target.ts';
import { checkOnHosts } from '../per-host.ts';
import type { SwarmAnswer, SwarmNode } from './swarm-read.ts';
import { managerOf, readNodes } from './swarm-read.ts';

type NodeSpec = z.output<typeof nodeCheck>;

/** A host that left and joined again is listed twice: the entry that is up speaks for it. */
export function nodeOf(nodes: SwarmNode[], host: string): SwarmNode | undefined {
  const mine = nodes.filter((n) => n.hostname === host);
  return mine.find((n) => n.status.toLowerCase() === 'ready') ?? mine[0];
}

export function judgeNode(spec: NodeSpec, node: SwarmNode | undefined): { pass: boolean; actual: string } {
  if (node === undefined) return { pass: false, actual: 'absent (not in the swarm)' };
  const status = node.status.toLowerCase();
  const availability = node.availability.toLowerCase();
  const role = node.managerStatus === '' ? 'worker' : 'manager';
  const pass = status === spec.status && (spec.availability === undefined || availability === spec.availability) && (spec.role === undefined || role === spec.role);
  const parts = [status];
  if (spec.availability !== undefined) parts.push(availability);
  if (spec.role !== undefined) parts.push(role);
  return { pass, actual: parts.join(', ') };
}

export function evalNode(target: CheckTarget, spec: NodeSpec, ctx: EvalContext): Promise<CheckResult[]> {
  const expected = [spec.status, spec.availability, spec.role].filter((x) => x !== undefined).join(', ');
  const d = { kind: 'node' as const, subject: 'swarm node', expected };
  const manager = managerOf(target, spec.from);
  // One `docker node ls` answers for every host of the selector.
  let nodes: Promise<SwarmAnswer<SwarmNode>> | undefined;
  return checkOnHosts(target, spec.on, d, async (host) => {
    nodes ??= readNodes(target, manager, ctx);
    const a = await nodes;
    if (!a.ok) return { pass: false, actual: `unknown: ${a.why}` };
    return judgeNode(spec, nodeOf(a.rows, host));
  });
}
