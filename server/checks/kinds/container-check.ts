// `container` check: a Docker container with a name or image is running (or not) on host(s),
// optionally publishing a port; read with `docker ps -a --format '{{json .}}'` over SSH.
import type { CheckResult, containerCheck } from '../../../common/checks.ts';
import type { z } from 'zod';
import type { CheckTarget, EvalContext } from '../check-target.ts';
import { checkOnHosts, firstLine } from '../per-host.ts';

type ContainerSpec = z.output<typeof containerCheck>;

export interface PsEntry {
  Names: string;
  Image: string;
  State: string;
  Ports: string;
}

/** Parses the JSON-per-line output of `docker ps --format '{{json .}}'`; junk lines are skipped. */
export function parsePs(out: string): PsEntry[] {
  const entries: PsEntry[] = [];
  for (const line of out.split('\n')) {
    if (!line.trim().startsWith('{')) continue;
    try {
      const v = JSON.parse(line) as Partial<Record<keyof PsEntry, unknown>>;
      const str = (x: unknown): string => (typeof x === 'string' ? x : '');
      entries.push({ Names: str(v.Names), Image: str(v.Image), State: str(v.State), Ports: str(v.Ports) });
    } catch {
      // Not a JSON line (e.g. a warning): ignore.
    }
  }
  return entries;
}

/** `busybox` matches an image listed as `busybox` or `busybox:latest`, and vice versa. */
const sameImage = (a: string, b: string): boolean => {
  const norm = (s: string): string => (/:[^/]+$/.test(s) ? s : `${s}:latest`);
  return norm(a) === norm(b);
};

/** Whether the Ports column publishes `port` on the host side ("0.0.0.0:8080->80/tcp"). */
export const publishes = (ports: string, port: number): boolean => ports.split(',').some((p) => new RegExp(`:${port}->`).test(p.trim()));

export function evalContainer(target: CheckTarget, spec: ContainerSpec, ctx: EvalContext): Promise<CheckResult[]> {
  const what = spec.name !== undefined ? `container ${spec.name}` : `a container of image ${spec.image ?? ''}`;
  const state = spec.running ? 'running' : 'not running';
  const expected = spec.port !== undefined && spec.running ? `${state}, publishing port ${spec.port}` : state;
  const d = { kind: 'container' as const, subject: what, expected };
  // The format string is a constant; spec values are compared on the server, never put in the command.
  const cmd = `docker ps -a --no-trunc --format '{{json .}}'`;
  return checkOnHosts(target, spec.on, d, async (host) => {
    const r = await target.exec(host, cmd, { timeoutMs: ctx.timeoutMs, signal: ctx.signal, maxOutputBytes: 512 * 1024 });
    if (r.code !== 0) return { pass: false, actual: `unknown: docker says "${firstLine(r.stderr) || `exit ${r.code}`}"` };
    const matches = parsePs(r.stdout).filter((c) =>
      spec.name !== undefined ? c.Names.split(',').includes(spec.name) && (spec.image === undefined || sameImage(c.Image, spec.image)) : sameImage(c.Image, spec.image ?? ''),
    );
    const running = matches.filter((c) => c.State === 'running');
    if (!spec.running) return { pass: running.length === 0, actual: running.length > 0 ? 'running' : (matches[0]?.State ?? 'absent') };
    if (running.length === 0) return { pass: false, actual: matches[0]?.State ?? 'absent' };
    if (spec.port === undefined) return { pass: true, actual: 'running' };
    const port = spec.port;
    const ok = running.some((c) => publishes(c.Ports, port));
    return { pass: ok, actual: ok ? `running, publishing port ${port}` : `running, ports: ${running[0]?.Ports || 'none'}` };
  });
}
