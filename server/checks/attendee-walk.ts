// `labwright test --as-attendee`: each step replayed the way an attendee follows the text — its
// `run` blocks (not its solutions) typed, key for key as a Run button types them, into the host's
// terminal session (the shell the lab page shows), in the order of the text.
//
// A reader waits for a command to finish before the next one, but not for one that waits on
// them (a watch, an interactive container shell, a foreground server): a block "ends" when its
// shell has the terminal back, or when the terminal is busy yet has shown nothing new for a
// while. A pager in the way is quit with q before the next block; when the step's checks pass,
// whatever still runs is stopped with Ctrl-C, as the labs tell attendees to.
import type { Step } from '../../common/lab.ts';
import { typedForm } from '../../common/typed-form.ts';
import type { CheckTarget } from './check-target.ts';
import type { TerminalTiming } from './host-terminal.ts';
import { DEFAULT_TERMINAL_TIMING, HostTerminals, inPager } from './host-terminal.ts';
import { errorText } from './outcome.ts';
import type { SolveOutcome } from './solve-runner.ts';

export class AttendeeWalk {
  private readonly started = new Set<string>();
  private readonly terminals: HostTerminals;

  constructor(target: CheckTarget, timing: TerminalTiming = DEFAULT_TERMINAL_TIMING) {
    this.terminals = new HostTerminals(target, timing);
  }

  private async session(host: string): Promise<void> {
    if (this.started.has(host)) return;
    await this.terminals.ensure(host);
    this.started.add(host);
  }

  /** Types the step's run blocks in order; stops at the first that does not end. */
  async replay(step: Step): Promise<SolveOutcome[]> {
    const t = this.terminals;
    const out: SolveOutcome[] = [];
    for (const part of step.parts) {
      if (part.kind !== 'run') continue;
      const start = performance.now();
      const base = { host: part.host, line: step.line, stdout: '', stderr: '' };
      try {
        await this.session(part.host);
        const before = await t.look(part.host);
        if (!before.idle && inPager(before)) {
          await t.press(part.host, 'q');
          await t.settle(part.host);
        }
        await t.type(part.host, typedForm(part.code));
        const end = await t.settle(part.host);
        const ok = end !== 'timeout';
        const detail = `run block ${part.id} ${ok ? end : `still running after ${t.timing.blockTimeoutMs / 1000} s`}`;
        out.push({ ...base, ok, detail, durationMs: performance.now() - start });
        if (!ok) break;
      } catch (e) {
        out.push({ ...base, ok: false, detail: `run block ${part.id}: ${errorText(e)}`, durationMs: performance.now() - start });
        break;
      }
    }
    return out;
  }

  /** After the step: Ctrl-C (then q, for a pager) whatever still holds a terminal. */
  async stopWhatRuns(): Promise<string[]> {
    const t = this.terminals;
    const left: string[] = [];
    for (const host of this.started) {
      for (const key of ['C-c', 'q']) {
        const s = await t.look(host);
        if (s.idle) break;
        if (key === 'q' && !inPager(s)) break;
        await t.press(host, key);
        await t.settle(host);
      }
      const s = await t.look(host);
      if (!s.idle) left.push(`${host}: ${s.commands.join(' | ')}`);
    }
    return left;
  }
}
