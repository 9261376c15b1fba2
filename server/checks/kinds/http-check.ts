// `http` check: a URL answers with a status and a body matching a regex — requested from a lab
// host (curl over SSH) or from the server (loopback directly; the attendee's own hosts through their SSH connection).
// Either way at most MAX_BODY bytes of the body are read: an endless answer is cut, and said so.
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import type { CheckResult, httpCheck } from '../../../common/checks.ts';
import { linearRegex } from '../../../common/linear-regex.ts';
import type { z } from 'zod';
import type { CheckTarget, EvalContext } from '../check-target.ts';
import { isLoopbackHost } from '../cidr.ts';
import { errorText, patternText, toResult } from '../outcome.ts';
import type { Described } from '../outcome.ts';
import { checkOnHosts, firstLine } from '../per-host.ts';
import { shq } from '../../ssh/shell-quote.ts';
import { ForwardRefused, SshError } from '../../ssh/ssh-connection.ts';
import { bareHost, getOver, urlPort } from './http-over-stream.ts';

type HttpSpec = z.output<typeof httpCheck>;

/**
 * The most of a body a check reads. Lab pages are small; this bounds the memory an endless or huge
 * answer can take and the time the body regex runs (linear, but over at most this much).
 */
export const MAX_BODY = 256 * 1024;
const STATUS_MARK = '\n__labwright_status__:';
const CUT_NOTE = `; the body is larger than ${MAX_BODY / 1024} KiB, only its first ${MAX_BODY / 1024} KiB were read`;

function judge(spec: HttpSpec, status: number, body: string, cut: boolean): { pass: boolean; actual: string } {
  const statusOk = status === spec.status;
  const bodyOk = spec.body === undefined || linearRegex(spec.body, { multiline: true }).test(body);
  const note = cut ? CUT_NOTE : '';
  if (!statusOk) return { pass: false, actual: `status ${status}${note}` };
  if (!bodyOk) return { pass: false, actual: `status ${status} with body "${firstLine(body).slice(0, 60)}"${note}` };
  return { pass: true, actual: `status ${status}${spec.body !== undefined ? ' with matching body' : ''}${note}` };
}

/**
 * How the server reaches a URL: loopback directly (the server itself), a lab host through that
 * host's SSH connection — the host opens the TCP connection to `address:port`, so only its sshd has
 * to be reachable from the server.
 */
export interface ServerRoute {
  /** The lab's URL as written: its host is the Host header (and the TLS name for https). */
  url: URL;
  /** Where the TCP connection goes: the loopback address, or the lab host's address. */
  address: string;
  port: number;
  /** The lab host whose SSH connection carries the request; absent for loopback. */
  host?: string;
}

/**
 * Where the server may send a request: loopback, or a host of the attendee's own environment
 * (by name or by address). Anything else is refused — a lab must not turn the server into a proxy
 * to other machines.
 */
export function serverRoute(raw: string, target: CheckTarget): ServerRoute | string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `"${raw}" is not a valid URL`;
  }
  if (url.username || url.password) return 'URLs with credentials are not allowed';
  const host = bareHost(url.hostname);
  const port = urlPort(url);
  if (isLoopbackHost(host)) return { url, address: host, port };
  const h = target.hosts.find((x) => x.name === host) ?? target.hosts.find((x) => x.address === host);
  if (h) return { url, address: h.address, port, host: h.name };
  return `the server only requests loopback or this environment's hosts, not "${host}"`;
}

/** The stream once `open` settles; rejects when `signal` aborts first (a late stream is then closed). */
function untilAborted(open: Promise<Duplex>, signal: AbortSignal): Promise<Duplex> {
  return new Promise<Duplex>((resolve, reject) => {
    const onAbort = (): void => {
      reject(new Error('aborted'));
      open.then((s) => s.destroy(), () => undefined);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    open.then(
      (s) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) s.destroy();
        else resolve(s);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

async function fromServer(target: CheckTarget, spec: HttpSpec, d: Described, ctx: EvalContext): Promise<CheckResult[]> {
  const start = performance.now();
  const route = serverRoute(spec.url, target);
  if (typeof route === 'string') return [toResult(d, { status: 'error', actual: route, durationMs: 0 })];
  const result = (status: 'pass' | 'fail' | 'error', actual: string): CheckResult[] => [toResult(d, { status, actual, durationMs: performance.now() - start })];
  try {
    const stream =
      route.host === undefined
        ? connect({ host: route.address, port: route.port })
        : await untilAborted(target.openTcp(route.host, route.address, route.port), ctx.signal);
    const a = await getOver(stream, route.url, { maxBody: MAX_BODY, signal: ctx.signal });
    const r = judge(spec, a.status, a.text, a.cut);
    return result(r.pass ? 'pass' : 'fail', r.actual);
  } catch (e) {
    if (ctx.signal.aborted) return result('error', `no answer within ${ctx.timeoutMs} ms`);
    // The host answered that nothing listens there: the attendee's service is not up — a failure to fix.
    if (e instanceof ForwardRefused && e.reason === 'connect-failed') return result('fail', `nothing (${route.host ?? route.address}:${route.port}: ${e.detail})`);
    // The host itself cannot be reached (or will not forward): an error, not the attendee's failure.
    if (e instanceof SshError) return result('error', e.message);
    // Connection refused on loopback, a TLS or protocol error: what the service answered.
    // The attendee knows the host by its name, not by its address.
    const named = target.hosts.reduce((text, h) => text.replaceAll(h.address, h.name), errorText(e));
    return result('fail', `nothing (${named})`);
  }
}

export function evalHttp(target: CheckTarget, spec: HttpSpec, ctx: EvalContext): Promise<CheckResult[]> {
  const expected = `status ${spec.status}${spec.body !== undefined ? ` with body matching ${patternText(spec.body)}` : ''}`;
  const d: Described = { kind: 'http', subject: `${spec.url}${spec.from === 'server' ? '' : ` from ${spec.from}`}`, expected, verb: 'answered' };
  if (spec.from === 'server') return fromServer(target, spec, d, ctx);
  // curl's own timeout is a little shorter than the check's, so a slow server is reported by curl.
  const maxTime = Math.max(1, Math.floor(ctx.timeoutMs / 1000) - 1);
  // The body is cut on the host (`head`, one byte past the cap so that a cut shows): --max-filesize
  // alone would let a chunked answer without a length run on. The status goes to stderr, so it
  // survives the cut; curl then fails to write (23), which is expected.
  const cmd =
    `curl -sS --max-time ${maxTime} -w ${shq(`%{stderr}${STATUS_MARK}%{http_code}`)} -- ${shq(spec.url)} | head -c ${MAX_BODY + 1}; ` +
    'exit "${PIPESTATUS[0]}"';
  return checkOnHosts(target, spec.from, d, async (host) => {
    const r = await target.exec(host, cmd, { timeoutMs: ctx.timeoutMs, signal: ctx.signal, maxOutputBytes: MAX_BODY + 1 });
    const at = r.stderr.lastIndexOf(STATUS_MARK);
    const status = at >= 0 ? Number(r.stderr.slice(at + STATUS_MARK.length).trim()) : 0;
    const errors = at >= 0 ? r.stderr.slice(0, at) : r.stderr;
    if (r.code === 127) throw new Error('curl is not installed on this host');
    const cut = Buffer.byteLength(r.stdout) > MAX_BODY || r.truncated;
    if ((r.code !== 0 && !cut) || status === 0) return { pass: false, actual: `nothing (${firstLine(errors) || `curl exit ${r.code}`})` };
    return judge(spec, status, cut ? Buffer.from(r.stdout).subarray(0, MAX_BODY).toString('utf8') : r.stdout, cut);
  });
}
