// Per-host outcomes and how they become CheckResults with a sentence for the attendee
// ("host1: unit web@2.service is failed, expected active").
import type { CheckKind, CheckResult, CheckStatus } from '../../common/checks.ts';
import { SshError } from '../ssh/ssh-connection.ts';

/** What probing one host found. `actual` is what the attendee sees next to `expected`. */
export interface HostOutcome {
  host: string;
  status: CheckStatus;
  actual: string;
  durationMs: number;
}

/** How a kind talks about what it checks. */
export interface Described {
  kind: CheckKind;
  /** e.g. "unit web@2.service". */
  subject: string;
  /** e.g. "active". */
  expected: string;
  /** Joins subject and actual: "is" for states, "gave" for commands. */
  verb?: string;
}

export function sentence(d: Described, status: CheckStatus, actual: string, host?: string): string {
  const who = host === undefined ? '' : `${host}: `;
  const verb = d.verb ?? 'is';
  if (status === 'error') return `${who}could not check ${d.subject}: ${actual}`;
  if (status === 'pass') return `${who}${d.subject} ${verb} ${actual}`;
  return `${who}${d.subject} ${verb} ${actual}, expected ${d.expected}`;
}

export function toResult(d: Described, o: { status: CheckStatus; actual: string; durationMs: number; host?: string }): CheckResult {
  const r: CheckResult = {
    status: o.status,
    kind: d.kind,
    subject: d.subject,
    expected: d.expected,
    actual: o.actual,
    message: sentence(d, o.status, o.actual, o.host),
    durationMs: Math.round(o.durationMs),
  };
  if (o.host !== undefined) r.host = o.host;
  return r;
}

/** How a lab regex appears in an expectation ("matching /^ok$/"); describedResult finds it there by this form. */
export const patternText = (source: string): string => `/${source}/`;

/** What a described check says instead of its regex. */
const PATTERN_WORDS = 'the expected pattern';

/**
 * A result of a check that has a `description:`: the description is its subject, and the lab's
 * raw text (the command, a regex) is taken out of what was expected and found, so that attendees
 * see the author's words and the per-host facts only.
 */
export function describedResult(r: CheckResult, description: string, raw: { patterns: readonly string[] }): CheckResult {
  const clean = (s: string): string => raw.patterns.reduce((t, p) => t.split(patternText(p)).join(PATTERN_WORDS), s);
  const expected = clean(r.expected);
  const actual = clean(r.actual);
  const who = r.host === undefined ? '' : `${r.host}: `;
  const message = r.status === 'pass' ? `${who}${actual}` : r.status === 'error' ? `${who}could not check: ${actual}` : `${who}${actual}, expected ${expected}`;
  return { ...r, subject: description, description, expected, actual, message };
}

/** Why something could not be evaluated, as the `actual` of an error outcome. */
export function errorText(e: unknown): string {
  if (e instanceof SshError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

/**
 * Runs a probe for one host, timing it and turning a rejection (unreachable, timeout) into an
 * `error` outcome: checks return results, they never throw.
 */
export async function probeHost(host: string, probe: () => Promise<{ pass: boolean; actual: string }>): Promise<HostOutcome> {
  const start = performance.now();
  try {
    const r = await probe();
    return { host, status: r.pass ? 'pass' : 'fail', actual: r.actual, durationMs: performance.now() - start };
  } catch (e) {
    return { host, status: 'error', actual: errorText(e), durationMs: performance.now() - start };
  }
}
