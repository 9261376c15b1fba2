// Runs a step's `setup HOST` blocks: as root, over the server's own SSH connection (never the
// attendee's terminal), in order, each bounded in time and output. Used by the server when a step
// opens (setup-service.ts) and by `labwright test` before a step's checks.
import type { Step } from '../../common/lab.ts';
import type { CheckTarget } from './check-target.ts';
import type { SolveOutcome } from './solve-runner.ts';
import { execHostBlocks } from './solve-runner.ts';

/** A setup that hangs is a broken lab, not a slow one: each block gets this long. */
export const SETUP_TIMEOUT_MS = 120_000;
/** How much of a failed block's output is kept (for the attendee, the dashboard, the store). */
export const SETUP_OUTPUT_KEPT = 2048;

export type SetupOutcome =
  | { ok: true; blocks: SolveOutcome[] }
  | {
      ok: false;
      blocks: SolveOutcome[];
      /** The host whose block failed. */
      host: string;
      /** Line of the failed block in the lab file. */
      line: number;
      /** Short: `exit 1`, `killed by SIGKILL`, `no answer within 120000 ms`, … */
      reason: string;
      /** The end of the block's output (stderr, else stdout), at most SETUP_OUTPUT_KEPT characters. */
      output: string;
    };

/** The last `max` characters of a text, on a line boundary when one is near. */
export function tail(text: string, max = SETUP_OUTPUT_KEPT): string {
  const t = text.trimEnd();
  if (t.length <= max) return t;
  const cut = t.slice(t.length - max);
  const nl = cut.indexOf('\n');
  return `…${nl >= 0 && nl < 200 ? cut.slice(nl + 1) : cut}`;
}

export async function runStepSetup(target: CheckTarget, step: Pick<Step, 'setups'>, timeoutMs = SETUP_TIMEOUT_MS): Promise<SetupOutcome> {
  const blocks = await execHostBlocks(target, step.setups, timeoutMs);
  const failed = blocks.find((b) => !b.ok);
  if (!failed) return { ok: true, blocks };
  const output = tail(failed.stderr.trim() !== '' ? failed.stderr : failed.stdout);
  return { ok: false, blocks, host: failed.host, line: failed.line, reason: failed.detail, output };
}
