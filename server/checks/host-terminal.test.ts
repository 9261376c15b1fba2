import { describe, expect, it } from 'vitest';
import type { PaneState } from '../terminals/keeper-command.ts';
import type { TerminalTiming } from './host-terminal.ts';
import { waitForBlock } from './host-terminal.ts';

const timing: TerminalTiming = { pollMs: 1, quietMs: 20, blockTimeoutMs: 2000 };

/** A terminal that goes through the given states, then stays in the last one. */
function pane(states: PaneState[]): () => Promise<PaneState> {
  let i = 0;
  return () => Promise.resolve(states[Math.min(i++, states.length - 1)] as PaneState);
}
const idle = (screen: string): PaneState => ({ idle: true, commands: ['bash'], screen });
const busy = (command: string, screen: string): PaneState => ({ idle: false, commands: [command], screen });

describe('waitForBlock', () => {
  it('finishes when the shell has the terminal back and the screen is still', async () => {
    const end = await waitForBlock(pane([idle('a'), busy('sleep', 'b'), idle('c'), idle('c')]), timing);
    expect(end).toBe('finished');
  });

  it('does not take the moment before the command starts for its end', async () => {
    // The first look sees the shell with the command just echoed; the screen still changes.
    const looks = [idle('prompt'), idle('echoed'), busy('make', 'building 1'), busy('make', 'building 2'), idle('done'), idle('done')];
    const seen: PaneState[] = [];
    const look = pane(looks);
    const end = await waitForBlock(async () => {
      const s = await look();
      seen.push(s);
      return s;
    }, timing);
    expect(end).toBe('finished');
    expect(seen.at(-1)).toEqual(idle('done'));
    expect(seen.some((s) => s.screen === 'building 2')).toBe(true);
  });

  it('says waiting when a command holds the terminal and shows nothing new', async () => {
    const end = await waitForBlock(pane([idle('a'), busy('etcdctl', 'watching')]), timing);
    expect(end).toBe('waiting');
  });

  it('keeps waiting while a busy command still prints, and times out if it never stops', async () => {
    let n = 0;
    const end = await waitForBlock(() => Promise.resolve(busy('yes', `line ${n++}`)), { ...timing, blockTimeoutMs: 100 });
    expect(end).toBe('timeout');
  });
});
