// `http` check: a URL answers with a status and a body matching a regex — requested from a lab
// host (curl over SSH) or from the server (fetch, restricted to loopback and the attendee's own hosts).
import type { CheckResult, httpCheck } from '../../../common/checks.ts';
import type { z } from 'zod';
import type { CheckTarget, EvalContext } from '../check-target.ts';
import { isLoopbackHost } from '../cidr.ts';
import { errorText, toResult } from '../outcome.ts';
import type { Described } from '../outcome.ts';
import { checkOnHosts, firstLine } from '../per-host.ts';
import { shq } from '../../ssh/shell-quote.ts';

type HttpSpec = z.output<typeof httpCheck>;

const MAX_BODY = 256 * 1024;
const STATUS_MARK = '\n__labwright_status__:';

function judge(spec: HttpSpec, status: number, body: string): { pass: boolean; actual: string } {
  const statusOk = status === spec.status;
  const bodyOk = spec.body === undefined || new RegExp(spec.body, 'm').test(body);
  if (!statusOk) return { pass: false, actual: `status ${status}` };
  if (!bodyOk) return { pass: false, actual: `status ${status} with body "${firstLine(body).slice(0, 60)}"` };
  return { pass: true, actual: `status ${status}${spec.body !== undefined ? ' with matching body' : ''}` };
}

/**
 * Where the server may send a request: loopback, or a host of the attendee's own environment
 * (by name, rewritten to its address, or by address). Anything else is refused — a lab must not
 * turn the server into a proxy to other machines.
 */
export function serverUrl(raw: string, target: CheckTarget): URL | string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `"${raw}" is not a valid URL`;
  }
  if (url.username || url.password) return 'URLs with credentials are not allowed';
  const host = url.hostname;
  if (isLoopbackHost(host)) return url;
  const byName = target.hosts.find((h) => h.name === host);
  if (byName) {
    url.hostname = byName.address;
    return url;
  }
  if (target.hosts.some((h) => h.address === host)) return url;
  return `the server only requests loopback or this environment's hosts, not "${host}"`;
}

async function fromServer(target: CheckTarget, spec: HttpSpec, d: Described, ctx: EvalContext): Promise<CheckResult[]> {
  const start = performance.now();
  const url = serverUrl(spec.url, target);
  if (typeof url === 'string') return [toResult(d, { status: 'error', actual: url, durationMs: 0 })];
  try {
    // Redirects are not followed: they could lead off the allowed hosts.
    const res = await fetch(url, { signal: ctx.signal, redirect: 'manual' });
    const text = (await res.text()).slice(0, MAX_BODY);
    const r = judge(spec, res.status, text);
    return [toResult(d, { status: r.pass ? 'pass' : 'fail', actual: r.actual, durationMs: performance.now() - start })];
  } catch (e) {
    const durationMs = performance.now() - start;
    if (ctx.signal.aborted) return [toResult(d, { status: 'error', actual: `no answer within ${ctx.timeoutMs} ms`, durationMs })];
    // Connection refused and the like: the attendee's service is not answering — a failure to fix, not an error.
    const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : errorText(e);
    // The attendee knows the host by its name, not by the address the server rewrote it to.
    const named = target.hosts.reduce((text, h) => text.replaceAll(h.address, h.name), cause);
    return [toResult(d, { status: 'fail', actual: `nothing (${named})`, durationMs })];
  }
}

export function evalHttp(target: CheckTarget, spec: HttpSpec, ctx: EvalContext): Promise<CheckResult[]> {
  const expected = `status ${spec.status}${spec.body !== undefined ? ` with body matching /${spec.body}/` : ''}`;
  const d: Described = { kind: 'http', subject: `${spec.url}${spec.from === 'server' ? '' : ` from ${spec.from}`}`, expected, verb: 'answered' };
  if (spec.from === 'server') return fromServer(target, spec, d, ctx);
  // curl's own timeout is a little shorter than the check's, so a slow server is reported by curl.
  const maxTime = Math.max(1, Math.floor(ctx.timeoutMs / 1000) - 1);
  const cmd = `curl -sS --max-time ${maxTime} --max-filesize ${MAX_BODY} -w ${shq(`${STATUS_MARK}%{http_code}`)} -- ${shq(spec.url)}`;
  return checkOnHosts(target, spec.from, d, async (host) => {
    const r = await target.exec(host, cmd, { timeoutMs: ctx.timeoutMs, signal: ctx.signal, maxOutputBytes: MAX_BODY * 2 });
    const at = r.stdout.lastIndexOf(STATUS_MARK);
    const status = at >= 0 ? Number(r.stdout.slice(at + STATUS_MARK.length).trim()) : 0;
    if (r.code === 127) throw new Error('curl is not installed on this host');
    if (r.code !== 0 || status === 0) return { pass: false, actual: `nothing (${firstLine(r.stderr) || `curl exit ${r.code}`})` };
    return judge(spec, status, r.stdout.slice(0, at));
  });
}
