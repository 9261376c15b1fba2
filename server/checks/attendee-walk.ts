// `labwright test --as-attendee`: each step replayed the way an attendee follows the text — its
// `run` blocks (not its solutions) typed, key for key as a Run button types them, into the host's
// tmux session (the shell the lab page shows), in the order of the text.
//
// A reader waits for a command to finish before the next one, but not for one that waits on
// them (a watch, an interactive container shell, a foreground server): a block "ends" when its
// shell has the terminal back, or when the terminal is busy yet has shown nothing new for a
// while. A pager in the way is quit with q before the next block; when the step's checks pass,
// whatever still runs is stopped with Ctrl-C, as the labs tell attendees to.
import type { Step } from '../../common/lab.ts';
import { typedForm } from '../../common/typed-form.ts';
import { TMUX_SESSION, ensureDetachedCommand } from '../terminals/tmux-command.ts';
import type { CheckTarget } from './check-target.ts';
import { errorText } from './outcome.ts';
import { shq } from './shell-quote.ts';
import type { SolveOutcome } from './solve-runner.ts';

export interface WalkTiming {
  /** How often the terminal is looked at. */
  pollMs: number;
  /** Busy and unchanged for this long: the command waits for the attendee (or runs on and on). */
  quietMs: number;
  /** A block that neither finishes nor goes quiet within this fails the step. */
  blockTimeoutMs: number;
}

export const DEFAULT_WALK_TIMING: WalkTiming = { pollMs: 250, quietMs: 6000, blockTimeoutMs: 300_000 };

/** The terminal size the walk's sessions get (what a lab page typically has). */
const COLS = 160;
const ROWS = 45;

const PAGERS = new Set(['less', 'more', 'most', 'man', 'pager']);
const inPager = (s: PaneState): boolean => s.commands.some((c) => PAGERS.has(c));

export interface PaneState {
  /** The pane's shell holds the terminal (it is the terminal's foreground process group). */
  idle: boolean;
  /**
   * The names of the processes of the terminal's foreground process group: all of a pipeline
   * (`docker inspect web | less` is `docker` and `less`; tmux itself would name only the first).
   */
  commands: string[];
  /** A checksum of the visible screen. */
  screen: string;
}

export type BlockEnd = 'finished' | 'waiting' | 'timeout';

const target = `-t ${shq(`=${TMUX_SESSION}:`)}`;

/**
 * One line of shell: the pane's shell pid, whether it is the foreground process group of its
 * terminal (field 8 of /proc/PID/stat, tpgid), the processes of that group, and a screen checksum.
 */
const STATE_COMMAND = [
  `p=$(tmux display -p ${target} '#{pane_pid}')`,
  'read -r _ _ _ _ _ _ _ fg _ < "/proc/$p/stat"',
  `c=$(pgrep -g "$fg" -l | cut -d ' ' -f 2 | paste -sd ,)`,
  'if [ "$fg" = "$p" ]; then s=idle; else s=busy; fi',
  'echo "$s $c"',
  `tmux capture-pane -p ${target} | cksum`,
].join(' && ');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function parsePaneState(stdout: string): PaneState {
  const [first = '', second = ''] = stdout.trim().split('\n');
  const [s = '', cmds = ''] = first.split(' ');
  if (s !== 'idle' && s !== 'busy') throw new Error(`unexpected terminal state: ${JSON.stringify(stdout.slice(0, 200))}`);
  return { idle: s === 'idle', commands: cmds.split(',').filter(Boolean), screen: second.trim() };
}

/**
 * Waits for the block just typed to end: `finished` when the shell has had the terminal for two
 * looks in a row with nothing new on screen, `waiting` when a command holds it but the screen has
 * not changed for `quietMs`.
 */
export async function waitForBlock(look: () => Promise<PaneState>, timing: WalkTiming): Promise<BlockEnd> {
  const until = Date.now() + timing.blockTimeoutMs;
  let last = await look();
  let quietSince = Date.now();
  while (Date.now() < until) {
    await sleep(timing.pollMs);
    const now = await look();
    const same = now.screen === last.screen;
    if (!same) quietSince = Date.now();
    if (now.idle && last.idle && same) return 'finished';
    if (!now.idle && Date.now() - quietSince >= timing.quietMs) return 'waiting';
    last = now;
  }
  return 'timeout';
}

/** The terminals of one environment as the walk drives them. */
export class AttendeeWalk {
  private readonly started = new Set<string>();

  constructor(
    private readonly target: CheckTarget,
    private readonly timing: WalkTiming = DEFAULT_WALK_TIMING,
  ) {}

  private async sh(host: string, command: string): Promise<string> {
    const r = await this.target.exec(host, command, { timeoutMs: 10_000, signal: AbortSignal.timeout(10_000) });
    if (r.code !== 0) throw new Error(`\`${command.slice(0, 60)}…\` on ${host}: exit ${r.code}: ${r.stderr.trim().slice(0, 300)}`);
    return r.stdout;
  }

  look(host: string): Promise<PaneState> {
    return this.sh(host, STATE_COMMAND).then(parsePaneState);
  }

  private async keys(host: string, args: string): Promise<void> {
    await this.sh(host, `tmux send-keys ${target} ${args}`);
  }

  /** The host's session, started on first use and given time to show its prompt. */
  private async session(host: string): Promise<void> {
    if (this.started.has(host)) return;
    const r = await this.target.execSession(host, ensureDetachedCommand(COLS, ROWS), { timeoutMs: 10_000, signal: AbortSignal.timeout(10_000) });
    if (r.code !== 0) throw new Error(`could not start a terminal session on ${host}: ${r.stderr.trim()}`);
    this.started.add(host);
    await waitForBlock(() => this.look(host), this.timing);
  }

  /** Types the step's run blocks in order; stops at the first that does not end. */
  async replay(step: Step): Promise<SolveOutcome[]> {
    const out: SolveOutcome[] = [];
    for (const part of step.parts) {
      if (part.kind !== 'run') continue;
      const start = performance.now();
      const base = { host: part.host, line: step.line, stdout: '', stderr: '' };
      try {
        await this.session(part.host);
        const before = await this.look(part.host);
        if (!before.idle && inPager(before)) {
          await this.keys(part.host, 'q');
          await waitForBlock(() => this.look(part.host), this.timing);
        }
        await this.keys(part.host, `-l -- ${shq(typedForm(part.code))}`);
        const end = await waitForBlock(() => this.look(part.host), this.timing);
        const ok = end !== 'timeout';
        const detail = `run block ${part.id} ${end === 'timeout' ? `still running after ${this.timing.blockTimeoutMs / 1000} s` : end}`;
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
    const left: string[] = [];
    for (const host of this.started) {
      for (const key of ['C-c', 'q']) {
        const s = await this.look(host);
        if (s.idle) break;
        if (key === 'q' && !inPager(s)) break;
        await this.keys(host, key);
        await waitForBlock(() => this.look(host), this.timing);
      }
      const s = await this.look(host);
      if (!s.idle) left.push(`${host}: ${s.commands.join(' | ')}`);
    }
    return left;
  }
}
