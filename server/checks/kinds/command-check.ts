// `command` check, the escape hatch: a lab-authored command on host(s), its exit status and an
// optional stdout regex. The command is lab content (trusted like the lab), never attendee input.
import type { CheckResult, commandCheck } from '../../../common/checks.ts';
import type { z } from 'zod';
import { linearRegex } from '../../../common/linear-regex.ts';
import type { CheckTarget, EvalContext } from '../check-target.ts';
import { patternText } from '../outcome.ts';
import { checkOnHosts, firstLine } from '../per-host.ts';

type CommandSpec = z.output<typeof commandCheck>;

const short = (s: string, n = 60): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export function evalCommand(target: CheckTarget, spec: CommandSpec, ctx: EvalContext): Promise<CheckResult[]> {
  const re = spec.stdout === undefined ? undefined : linearRegex(spec.stdout, { multiline: true });
  const expected = `exit ${spec.exit}${spec.stdout !== undefined ? ` and output matching ${patternText(spec.stdout)}` : ''}`;
  const d = { kind: 'command' as const, subject: `command \`${short(spec.run)}\``, expected, verb: 'gave' };
  return checkOnHosts(target, spec.on, d, async (host) => {
    const r = await target.exec(host, spec.run, { timeoutMs: ctx.timeoutMs, signal: ctx.signal, maxOutputBytes: 256 * 1024 });
    const code = r.code === null ? `signal ${r.signal ?? '?'}` : `exit ${r.code}`;
    const exitOk = r.code === spec.exit;
    const outOk = re ? re.test(r.stdout) : true;
    const pass = exitOk && outOk;
    if (pass) return { pass, actual: re ? `${code} and matching output` : code };
    // On failure, the first line of output usually says why (e.g. "No such file or directory").
    const out = r.stdout.trim() ? r.stdout : r.stderr;
    const lines = out.trim() ? out.trim().split('\n').length : 0;
    if (lines === 0) return { pass, actual: re ? `${code} and no output` : code };
    const more = lines > 1 ? ` (and ${lines - 1} more line${lines > 2 ? 's' : ''})` : '';
    return { pass, actual: `${code} with output "${short(firstLine(out))}"${more}` };
  });
}
