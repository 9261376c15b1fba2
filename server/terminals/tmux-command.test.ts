// The tmux commands: the pane-state line is read back exactly, and lab text typed into a pane stays one quoted word.
import { describe, expect, it } from 'vitest';
import { parsePaneState, sendKeysCommand, typeTextCommand } from './tmux-command.ts';

describe('parsePaneState', () => {
  it('reads the state line and the screen checksum', () => {
    expect(parsePaneState('idle bash\n123 456\n')).toEqual({ idle: true, commands: ['bash'], screen: '123 456' });
    expect(parsePaneState('busy docker,less\n9 9\n')).toEqual({ idle: false, commands: ['docker', 'less'], screen: '9 9' });
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
