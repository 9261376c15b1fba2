// `file` check: a path on host(s) exists (or is absent) and optionally contains some text. The
// path is shell-quoted; the content is compared on the server, so `contains` may hold any text.
import type { CheckResult, fileCheck } from '../../../common/checks.ts';
import type { z } from 'zod';
import type { CheckTarget, EvalContext } from '../check-target.ts';
import { checkOnHosts, firstLine } from '../per-host.ts';
import { shq } from '../../ssh/shell-quote.ts';

type FileSpec = z.output<typeof fileCheck>;

const MAX_FILE_BYTES = 1024 * 1024;
/** Exit status the probe script uses for "no such path", distinct from cat's own failures. */
const ABSENT = 3;

export function evalFile(target: CheckTarget, spec: FileSpec, ctx: EvalContext): Promise<CheckResult[]> {
  const p = shq(spec.path);
  const wantContent = spec.contains !== undefined;
  // `head`, not `cat`: the path may be a FIFO or a link to /dev/zero (the host is the attendee's),
  // and reading stops at the cap instead of filling the host's disk until the timeout.
  const cmd = wantContent ? `[ -e ${p} ] || exit ${ABSENT}; head -c ${MAX_FILE_BYTES} -- ${p}` : `[ -e ${p} ] || exit ${ABSENT}`;
  const expected = spec.absent ? 'absent' : wantContent ? `present, containing "${spec.contains}"` : 'present';
  const d = { kind: 'file' as const, subject: `file ${spec.path}`, expected };
  return checkOnHosts(target, spec.on, d, async (host) => {
    const r = await target.exec(host, cmd, { timeoutMs: ctx.timeoutMs, signal: ctx.signal, maxOutputBytes: MAX_FILE_BYTES });
    if (r.code === ABSENT) return { pass: spec.absent === true, actual: 'absent' };
    if (spec.absent) return { pass: false, actual: 'present' };
    if (r.code !== 0) return { pass: false, actual: `present but unreadable (${firstLine(r.stderr) || `exit ${r.code}`})` };
    if (spec.contains === undefined) return { pass: true, actual: 'present' };
    const found = r.stdout.includes(spec.contains);
    return { pass: found, actual: found ? `present, containing "${spec.contains}"` : `present, without "${spec.contains}"` };
  });
}
