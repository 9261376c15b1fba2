// "Interrupt and run" presses what stops each kind of program, and never sends Ctrl-D to a
// shell that already came back (it would log the attendee's terminal out).
import { describe, expect, it } from 'vitest';
import type { PaneAccess } from './pane-interrupt.ts';
import { interruptPane } from './pane-interrupt.ts';
import type { PaneState } from './keeper-command.ts';

const timing = { pollMs: 1, waitMs: 30 };
const idle: PaneState = { idle: true, commands: ['bash'], screen: 's', group: '100' };
const running = (command: string, group: string): PaneState => ({ idle: false, commands: [command], screen: 's', group });

/** A terminal whose foreground changes with the keys: `keys` maps a key to what runs after it. */
function terminal(start: PaneState, keys: Record<string, PaneState | undefined>): PaneAccess & { pressed: string[] } {
  let now = start;
  const pressed: string[] = [];
  return {
    pressed,
    look: () => Promise.resolve(now),
    press: (key) => {
      pressed.push(key);
      now = keys[key] ?? now;
      return Promise.resolve();
    },
  };
}

describe('interruptPane', () => {
  it('presses nothing when the shell already waits', async () => {
    const t = terminal(idle, {});
    expect(await interruptPane(t, timing)).toEqual(idle);
    expect(t.pressed).toEqual([]);
  });

  it('stops a watch with Ctrl-C and nothing more', async () => {
    const t = terminal(running('watch', '200'), { 'C-c': idle });
    expect((await interruptPane(t, timing)).idle).toBe(true);
    expect(t.pressed).toEqual(['C-c']);
  });

  it('quits a pager with q', async () => {
    const t = terminal(running('less', '300'), { q: idle });
    expect((await interruptPane(t, timing)).idle).toBe(true);
    expect(t.pressed).toEqual(['q']);
  });

  it('leaves a container shell that Ctrl-C only clears with Ctrl-D', async () => {
    const t = terminal(running('docker', '400'), { 'C-d': idle });
    expect((await interruptPane(t, timing)).idle).toBe(true);
    expect(t.pressed).toEqual(['C-c', 'C-d']);
  });

  it('sends no Ctrl-D when another program holds the terminal after Ctrl-C (it was not the one that ignored it)', async () => {
    const t = terminal(running('make', '500'), { 'C-c': running('sleep', '501') });
    const end = await interruptPane(t, timing);
    expect(end).toMatchObject({ idle: false, commands: ['sleep'] });
    expect(t.pressed).toEqual(['C-c']);
  });

  it('says what still runs when nothing stops it', async () => {
    const t = terminal(running('vim', '600'), {});
    const end = await interruptPane(t, timing);
    expect(end).toMatchObject({ idle: false, commands: ['vim'] });
    expect(t.pressed).toEqual(['C-c', 'C-d']);
  });
});
