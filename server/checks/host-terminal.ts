// Driving a host's terminal from the server, as a person at the keyboard would: the keeper's session
// the lab page shows, its state read from outside (is the shell back? what runs in the foreground?
// did the screen change?), keys sent into it. Used by "skip step" (type the solution where the
// attendee sees it) and by `labwright test --as-attendee` (type the run blocks). The keeper commands
// themselves are in terminals/keeper-command.ts.
import {
  PANE_STATE_COMMAND,
  ensureDetachedCommand,
  hasSessionCommand,
  parsePaneState,
  sendKeysCommand,
  typeTextCommand,
} from '../terminals/keeper-command.ts';
import type { PaneState } from '../terminals/keeper-command.ts';
import { installKeeper } from '../terminals/keeper-binary.ts';
import type { CheckTarget } from './check-target.ts';

export interface TerminalTiming {
  /** How often the terminal is looked at. */
  pollMs: number;
  /** Busy and unchanged for this long: the command waits for someone (or runs on and on). */
  quietMs: number;
  /** A block that neither finishes nor goes quiet within this has not ended. */
  blockTimeoutMs: number;
}

export const DEFAULT_TERMINAL_TIMING: TerminalTiming = { pollMs: 250, quietMs: 6000, blockTimeoutMs: 300_000 };

export type BlockEnd = 'finished' | 'waiting' | 'timeout';

const PAGERS = new Set(['less', 'more', 'most', 'man', 'pager']);
export const inPager = (s: PaneState): boolean => s.commands.some((c) => PAGERS.has(c));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Waits for the block just typed to end: `finished` when the shell has had the terminal for two
 * looks in a row with nothing new on screen, `waiting` when a command holds it but the screen has
 * not changed for `quietMs`.
 */
export async function waitForBlock(look: () => Promise<PaneState>, timing: TerminalTiming): Promise<BlockEnd> {
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

/** The terminals (one keeper session per host) of one environment. */
export class HostTerminals {
  constructor(
    private readonly target: CheckTarget,
    readonly timing: TerminalTiming = DEFAULT_TERMINAL_TIMING,
  ) {}

  private async sh(host: string, command: string): Promise<string> {
    const r = await this.target.exec(host, command, { timeoutMs: 10_000, signal: AbortSignal.timeout(10_000) });
    if (r.code !== 0) throw new Error(`\`${command.slice(0, 60)}…\` on ${host}: exit ${r.code}: ${r.stderr.trim().slice(0, 300)}`);
    return r.stdout;
  }

  /** Whether the host has a terminal session yet (an attendee's page made one). */
  async exists(host: string): Promise<boolean> {
    const r = await this.target.exec(host, hasSessionCommand(), { timeoutMs: 5000, signal: AbortSignal.timeout(5000) }).catch(() => null);
    return r?.code === 0;
  }

  /** Creates the host's session if it has none (the size a lab page typically has), and waits for its prompt. */
  async ensure(host: string, cols = 160, rows = 45): Promise<void> {
    await installKeeper((command, stdin) => this.target.execSession(host, command, { timeoutMs: 30_000, signal: AbortSignal.timeout(30_000), ...(stdin !== undefined ? { stdin } : {}) }));
    const r = await this.target.execSession(host, ensureDetachedCommand(cols, rows), { timeoutMs: 10_000, signal: AbortSignal.timeout(10_000) });
    if (r.code !== 0) throw new Error(`could not start a terminal session on ${host}: ${r.stderr.trim()}`);
    await this.settle(host);
  }

  look(host: string): Promise<PaneState> {
    return this.sh(host, PANE_STATE_COMMAND).then(parsePaneState);
  }

  /** Named keys, as tmux spells them (`C-c`, `q`; see keyBytes). */
  async press(host: string, key: string): Promise<void> {
    await this.sh(host, sendKeysCommand(key));
  }

  /** Text typed as is (a Run button's `typedForm`). */
  async type(host: string, text: string): Promise<void> {
    await this.sh(host, typeTextCommand(text));
  }

  /** Waits until what was typed last has ended (see waitForBlock). */
  settle(host: string): Promise<BlockEnd> {
    return waitForBlock(() => this.look(host), this.timing);
  }
}
