// Runs a step's solve blocks on their hosts: non-interactively (`bash -e -c`, for the lab tester
// and as the fallback of "skip step"), or typed into the attendee's terminal session so they see it.
// Setup blocks (step-setup.ts) run through the same execHostBlocks, with their own timeout.
import type { SolveBlock } from '../../common/lab.ts';
import { typedForm } from '../../common/typed-form.ts';
import type { CheckTarget } from './check-target.ts';
import { DEFAULT_TERMINAL_TIMING, HostTerminals } from './host-terminal.ts';
import { errorText } from './outcome.ts';
import { shq } from '../ssh/shell-quote.ts';

/**
 * A guard against a solve that hangs, not a performance bar: the labs' Docker builds (apt inside
 * `docker build`) take 30-55 s on a busy 2-core machine, so 60 s failed labs that were right.
 */
export const DEFAULT_SOLVE_TIMEOUT_MS = 180_000;

export interface SolveOutcome {
  host: string;
  line: number;
  ok: boolean;
  /** Exit status, or why it could not run. */
  detail: string;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/**
 * Runs each block with `bash -e`, in lab order (a later block may rely on an earlier one). A
 * solve that starts a long-running process must background it (and redirect its output), or it
 * runs into the timeout — that is the lab's job, and the failure says so.
 */
export function execSolves(target: CheckTarget, solves: readonly SolveBlock[], timeoutMs = DEFAULT_SOLVE_TIMEOUT_MS): Promise<SolveOutcome[]> {
  return execHostBlocks(target, solves, timeoutMs);
}

/** Output kept per stream of a block run with execHostBlocks. */
export const MAX_BLOCK_OUTPUT_BYTES = 64 * 1024;

/**
 * Runs blocks of shell (solve or setup: a host, code and its line) as root with `bash -e`, each in
 * its own SSH session, in order; stops at the first that fails. Each is bounded by timeoutMs, and
 * its output by MAX_BLOCK_OUTPUT_BYTES per stream.
 */
export async function execHostBlocks(target: CheckTarget, blocks: readonly SolveBlock[], timeoutMs: number): Promise<SolveOutcome[]> {
  const out: SolveOutcome[] = [];
  for (const s of blocks) {
    const start = performance.now();
    try {
      const r = await target.execSession(s.host, `bash -e -c ${shq(s.code)} </dev/null`, { timeoutMs, signal: AbortSignal.timeout(timeoutMs), maxOutputBytes: MAX_BLOCK_OUTPUT_BYTES });
      const ok = r.code === 0;
      out.push({ host: s.host, line: s.line, ok, detail: r.code === null ? `killed by ${r.signal ?? 'a signal'}` : `exit ${r.code}`, stdout: r.stdout, stderr: r.stderr, durationMs: performance.now() - start });
      if (!ok) break;
    } catch (e) {
      const hint = /no answer within/.test(errorText(e)) ? ' (does it start a long-running process without backgrounding it?)' : '';
      out.push({ host: s.host, line: s.line, ok: false, detail: `${errorText(e)}${hint}`, stdout: '', stderr: '', durationMs: performance.now() - start });
      break;
    }
  }
  return out;
}

/**
 * Types each block into the host's terminal session (the one the attendee's terminal shows), so
 * skipping a step looks like someone typing the solution, and waits for it to end (the shell has
 * the terminal back and the screen is still) before the next block, which may depend on it. Nothing
 * but the solution appears in the terminal. A host without a terminal session yet gets the block
 * through `bash -e`.
 */
export async function typeSolves(target: CheckTarget, solves: readonly SolveBlock[], timeoutMs = DEFAULT_SOLVE_TIMEOUT_MS): Promise<SolveOutcome[]> {
  const terminals = new HostTerminals(target, { ...DEFAULT_TERMINAL_TIMING, blockTimeoutMs: timeoutMs });
  const out: SolveOutcome[] = [];
  for (const s of solves) {
    const start = performance.now();
    if (!(await terminals.exists(s.host))) {
      const r = await execSolves(target, [s], timeoutMs);
      out.push(...r);
      if (r.some((o) => !o.ok)) break;
      continue;
    }
    try {
      await terminals.type(s.host, typedForm(s.code));
      const end = await terminals.settle(s.host);
      if (end === 'timeout') throw new Error(`no end of the block within ${timeoutMs} ms`);
      out.push({ host: s.host, line: s.line, ok: true, detail: 'typed into the terminal', stdout: '', stderr: '', durationMs: performance.now() - start });
    } catch (e) {
      out.push({ host: s.host, line: s.line, ok: false, detail: errorText(e), stdout: '', stderr: '', durationMs: performance.now() - start });
      break;
    }
  }
  return out;
}
