// The tmux commands: the pane-state line is read back exactly, lab text typed into a pane stays one
// quoted word, and the scrollback replayed on attach is what a real tmux holds, bounded.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HISTORY_BYTES, TMUX_SESSION, historyReplay, parsePaneState, sendKeysCommand, typeTextCommand } from './tmux-command.ts';

describe('parsePaneState', () => {
  it('reads the state line and the screen checksum', () => {
    expect(parsePaneState('idle bash\n123 456\n')).toEqual({ idle: true, commands: ['bash'], screen: '123 456' });
    expect(parsePaneState('busy docker,less\n9 9\n')).toEqual({ idle: false, commands: ['docker', 'less'], screen: '9 9' });
    expect(parsePaneState('busy watch 4242\n9 9\n')).toEqual({ idle: false, commands: ['watch'], screen: '9 9', group: '4242' });
  });

  it('refuses anything else rather than guess', () => {
    expect(() => parsePaneState("can't find session\n")).toThrow(/unexpected terminal state/);
  });
});

describe('typing into the pane', () => {
  it('quotes the text and the key, so the host shell runs only tmux', () => {
    expect(typeTextCommand("echo 'hi'; rm -rf /")).toBe(`tmux send-keys -t '=labwright:' -l -- 'echo '\\''hi'\\''; rm -rf /'`);
    expect(sendKeysCommand('C-c')).toBe("tmux send-keys -t '=labwright:' 'C-c'");
  });
});

/** A private tmux server on this machine (its own socket folder), when tmux is installed. */
const hasTmux = spawnSync('tmux', ['-V']).status === 0;

describe.skipIf(!hasTmux)('historyReplay against a real tmux', () => {
  let dir = '';
  const env = (): NodeJS.ProcessEnv => ({ ...process.env, TMUX_TMPDIR: dir, TMUX: '' });
  const tmux = (...args: string[]): void => {
    const r = spawnSync('tmux', args, { env: env() });
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr.toString()}`);
  };
  const replay = (rows: number): string => spawnSync('sh', ['-c', historyReplay(TMUX_SESSION, rows)], { env: env() }).stdout.toString('utf8');
  /** Runs a shell loop in the pane and waits until it has printed `done-42` (a line the typed command does not contain). */
  const print = async (loop: string): Promise<void> => {
    tmux('send-keys', '-t', `=${TMUX_SESSION}:`, '-l', `${loop}; echo done-$((40+2))\n`);
    await expect
      .poll(() => spawnSync('tmux', ['capture-pane', '-p', '-t', `=${TMUX_SESSION}:`], { env: env() }).stdout.toString(), { timeout: 10_000 })
      .toMatch(/^done-42$/m);
  };

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'lw-tmux-'));
  });
  afterEach(() => {
    spawnSync('tmux', ['kill-server'], { env: env() });
    rmSync(dir, { recursive: true, force: true });
  });

  it('a session that does not exist yet replays nothing but the reset', () => {
    expect(replay(24)).toBe('\x1bc');
  });

  it('replays the lines above the screen with their colours, then pushes them into the scrollback', async () => {
    tmux('new-session', '-d', '-s', TMUX_SESSION, '-x', '80', '-y', '24', 'sh');
    await print(`i=0; while [ $i -lt 300 ]; do i=$((i+1)); printf '\\033[32mnumbered-%s\\033[0m\\n' $i; done`);
    const out = replay(24);
    expect(out.startsWith('\x1bc')).toBe(true);
    // The first numbered line scrolled off the 24-row screen long ago: it is in the replay, coloured.
    expect(out).toMatch(/\x1b\[32mnumbered-1\n/);
    expect(out).toContain('numbered-250\n');
    // The screen itself is not replayed (tmux redraws it): the last line printed is not there.
    expect(out).not.toContain('done-42');
    expect(out.endsWith(`\x1b[0m${'\n'.repeat(24)}`)).toBe(true);
  });

  it('keeps at most HISTORY_BYTES, cut at a line boundary from the top', async () => {
    tmux('new-session', '-d', '-s', TMUX_SESSION, '-x', '400', '-y', '24', 'sh');
    const filler = 'x'.repeat(300);
    await print(`i=0; while [ $i -lt 1500 ]; do i=$((i+1)); echo "long-$i-${filler}"; done`);
    const out = replay(24);
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(HISTORY_BYTES + 100);
    const lines = out.slice(2).split('\n');
    // Every kept line is whole, and the newest ones are kept (the last 24 are the screen).
    expect(lines[0]).toMatch(new RegExp(`^long-\\d+-${filler}$`));
    expect(out).toContain(`long-1400-${filler}\n`);
    expect(out).not.toContain(`long-1-${filler}\n`);
  });
});
