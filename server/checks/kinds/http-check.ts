// `http` check: a URL answers with a status and a body matching a regex — requested from a lab
// host (curl over SSH) or from the server (fetch, restricted to loopback and the attendee's own hosts).
// Either way at most MAX_BODY bytes of the body are read: an endless answer is cut, and said so.
import type { CheckResult, httpCheck } from '../../../common/checks.ts';
import { linearRegex } from '../../../common/linear-regex.ts';
import type { z } from 'zod';
import type { CheckTarget, EvalContext } from '../check-target.ts';
import { isLoopbackHost } from '../cidr.ts';
import { errorText, patternText, toResult } from '../outcome.ts';
import type { Described } from '../outcome.ts';
import { checkOnHosts, firstLine } from '../per-host.ts';
import { shq } from '../../ssh/shell-quote.ts';

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

/** Reads at most `max` bytes of a response body, then drops the connection; `cut` says there was more. */
export async function readBody(res: Response, max: number): Promise<{ text: string; cut: boolean }> {
  const reader = (res.body as ReadableStream<Uint8Array> | null)?.getReader();
  if (!reader) return { text: '', cut: false };
  const decoder = new TextDecoder();
  let text = '';
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { text: text + decoder.decode(), cut: false };
    if (size + value.length > max) {
      text += decoder.decode(value.subarray(0, max - size));
      await reader.cancel().catch(() => undefined);
      return { text, cut: true };
    }
    size += value.length;
    text += decoder.decode(value, { stream: true });
  }
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
    const { text, cut } = await readBody(res, MAX_BODY);
    const r = judge(spec, res.status, text, cut);
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
