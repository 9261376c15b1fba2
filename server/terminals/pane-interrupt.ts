// "Interrupt and run": gives a host's terminal back to its shell before a Run button types into it,
// pressing what a person would (q for a pager, Ctrl-C, then Ctrl-D for a shell or REPL Ctrl-C keeps).
import type { PaneState } from './keeper-command.ts';

/** How the server looks into and presses keys in one host's terminal (the session keeper, over SSH). */
export interface PaneAccess {
  look(): Promise<PaneState>;
  /** A key as tmux names it (`C-c`, `q`); see keyBytes. */
  press(key: string): Promise<void>;
}

export interface InterruptTiming {
  pollMs: number;
  /** How long the shell gets to come back after each key. */
  waitMs: number;
}

export const DEFAULT_INTERRUPT_TIMING: InterruptTiming = { pollMs: 150, waitMs: 2000 };

const PAGERS = new Set(['less', 'more', 'most', 'man', 'pager']);
const inPager = (s: PaneState): boolean => s.commands.some((c) => PAGERS.has(c));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function untilIdle(pane: PaneAccess, timing: InterruptTiming): Promise<PaneState> {
  const until = Date.now() + timing.waitMs;
  let s = await pane.look();
  while (!s.idle && Date.now() < until) {
    await sleep(timing.pollMs);
    s = await pane.look();
  }
  return s;
}

/**
 * Stops what holds the terminal and resolves with the state it ends in (idle: the shell waits for
 * a command). A pager is quit with q, anything else gets Ctrl-C. Ctrl-D (end of input) follows only
 * when the very same process group still holds the terminal after that, which is what a container
 * shell (`docker run -it … sh`), ssh or a REPL do with Ctrl-C: it leaves them, while a program that
 * did stop never lets it reach the host's own shell (which it would log out). An editor and
 * anything else that ignores both is left running: the attendee is told what still runs.
 */
export async function interruptPane(pane: PaneAccess, timing: InterruptTiming = DEFAULT_INTERRUPT_TIMING): Promise<PaneState> {
  const before = await pane.look();
  if (before.idle) return before;
  await pane.press(inPager(before) ? 'q' : 'C-c');
  const after = await untilIdle(pane, timing);
  if (after.idle || after.group === undefined || after.group !== before.group || inPager(after)) return after;
  await pane.press('C-d');
  return untilIdle(pane, timing);
}
