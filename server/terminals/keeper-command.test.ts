// The session keeper (keeper/lw-term.c) on this machine, driven by the very commands the server sends
// a host: history replayed on reattach, a read-only client that cannot type, Ctrl-C during a flood
// that brings the prompt back, two clients on one shell, and typed text that stays text.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KEEPER_VERSION, keeperBinary } from './keeper-binary.ts';
import {
  HISTORY_BYTES,
  PANE_STATE_COMMAND,
  attachCommand,
  ensureDetachedCommand,
  hasSessionCommand,
  keyBytes,
  mirrorCommand,
  parsePaneState,
  sendKeysCommand,
  typeTextCommand,
} from './keeper-command.ts';

describe('parsePaneState', () => {
  it('reads the state line and the output count', () => {
    expect(parsePaneState('idle bash\n123\n')).toEqual({ idle: true, commands: ['bash'], screen: '123' });
    expect(parsePaneState('busy docker,less\n9\n')).toEqual({ idle: false, commands: ['docker', 'less'], screen: '9' });
    expect(parsePaneState('busy watch 4242\n9\n')).toEqual({ idle: false, commands: ['watch'], screen: '9', group: '4242' });
  });

  it('refuses anything else rather than guess', () => {
    expect(() => parsePaneState('lw-term: no session\n')).toThrow(/unexpected terminal state/);
  });

  it('names keys as tmux did', () => {
    expect(keyBytes('C-c')).toBe('\x03');
    expect(keyBytes('C-d')).toBe('\x04');
    expect(keyBytes('q')).toBe('q');
    expect(() => keyBytes('rm -rf /')).toThrow(/unknown key/);
  });
});

describe('the keeper on this machine', () => {
  let home = '';
  const procs: ChildProcessWithoutNullStreams[] = [];
  const env = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: home, SHELL: '/bin/sh', TERM: 'xterm-256color', PS1: '$ ' });
  const sh = (command: string): { code: number | null; stdout: string; stderr: string } => {
    const r = spawnSync('sh', ['-c', command], { env: env(), encoding: 'utf8', timeout: 10_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const look = () => parsePaneState(sh(PANE_STATE_COMMAND).stdout);

  /** A terminal attached like the server's shell channel, its output collected. */
  function attach(command: string): { out: () => string; type: (s: string) => void; proc: ChildProcessWithoutNullStreams } {
    const proc = spawn('sh', ['-c', command], { env: env() });
    procs.push(proc);
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out = (out + d.toString('latin1')).slice(-4 * HISTORY_BYTES);
    });
    return { out: () => out, type: (s) => proc.stdin.write(s), proc };
  }

  beforeAll(async () => {
    home = mkdtempSync(path.join(tmpdir(), 'lw-keeper-'));
    mkdirSync(path.join(home, '.labwright', 'bin'), { recursive: true });
    const bin = path.join(home, '.labwright', 'bin', `lw-term-${KEEPER_VERSION}`);
    writeFileSync(bin, await keeperBinary());
    chmodSync(bin, 0o755);
  }, 120_000);

  afterEach(async () => {
    for (const p of procs.splice(0)) p.kill();
    // Ends the shell, and with it the keeper.
    const info = sh(`"$HOME/.labwright/bin/lw-term-${KEEPER_VERSION}" info "$HOME/.labwright/term/labwright"`).stdout.split(' ');
    if (info[0]) spawnSync('kill', ['-9', info[0]]);
    await expect.poll(() => sh(hasSessionCommand()).code, { timeout: 10_000 }).not.toBe(0);
  });

  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('a terminal that attaches again gets the history, reset first and bounded', async () => {
    expect(sh(hasSessionCommand()).code).not.toBe(0);
    expect(sh(ensureDetachedCommand(80, 24)).code).toBe(0);
    expect(sh(hasSessionCommand()).code).toBe(0);
    const t = attach(attachCommand());
    t.type(`i=0; while [ $i -lt 3000 ]; do i=$((i+1)); echo "line-$i-${'x'.repeat(100)}"; done; echo done-$((40+2))\n`);
    await expect.poll(t.out, { timeout: 20_000 }).toMatch(/^done-42\r?$/m);
    t.proc.kill();
    const again = attach(attachCommand());
    await expect.poll(again.out, { timeout: 10_000 }).toMatch(/done-42\r\n/);
    const out = again.out();
    expect(out.startsWith('\x1bc')).toBe(true);
    expect(out).toContain(`line-3000-${'x'.repeat(100)}`);
    expect(out).not.toContain(`line-1-${'x'.repeat(100)}`);
    expect(out.length).toBeLessThanOrEqual(HISTORY_BYTES + 100);
    // Cut at a line start: the first replayed line is whole.
    expect(out.slice(2)).toMatch(/^line-\d+-x{100}\r\n/);
  });

  it('a read-only mirror cannot type; two writable clients share one shell', async () => {
    sh(ensureDetachedCommand(80, 24));
    const mirror = attach(mirrorCommand(false));
    const a = attach(attachCommand());
    const b = attach(attachCommand());
    mirror.type('echo mirror-typed-$((1+1))\n');
    a.type('echo from-a-$((2+2))\n');
    await expect.poll(b.out, { timeout: 10_000 }).toMatch(/^from-a-4\r$/m);
    b.type('echo from-b-$((3+3))\n');
    for (const t of [a, b, mirror]) await expect.poll(t.out, { timeout: 10_000 }).toMatch(/^from-b-6\r$/m);
    expect(a.out()).not.toMatch(/mirror-typed/);
    // A mirror with the keyboard handed over types.
    const helper = attach(mirrorCommand(true));
    helper.type('echo helper-$((4+4))\n');
    await expect.poll(a.out, { timeout: 10_000 }).toMatch(/^helper-8\r$/m);
  });

  it('Ctrl-C during a flood brings the prompt back, even while the attached terminal reads nothing', async () => {
    sh(ensureDetachedCommand(80, 24));
    const t = attach(attachCommand());
    t.type('cat /dev/urandom | base64\n');
    await expect.poll(() => look().idle, { timeout: 10_000 }).toBe(false);
    expect(look().commands).toEqual(expect.arrayContaining(['cat', 'base64']));
    // The terminal stops reading (a browser behind): the flood goes on, the keeper drains it.
    t.proc.stdout.pause();
    const before = Number(look().screen);
    await expect.poll(() => Number(look().screen) - before, { timeout: 10_000 }).toBeGreaterThan(4 * 1024 * 1024);
    expect(sh(sendKeysCommand('C-c')).code).toBe(0);
    await expect.poll(() => look().idle, { timeout: 10_000 }).toBe(true);
    t.proc.stdout.resume();
    expect(sh(typeTextCommand('echo back-$((1+1))\n')).code).toBe(0);
    await expect.poll(() => t.out().slice(-2000), { timeout: 10_000 }).toMatch(/^back-2\r$/m);
  });

  it('a terminal that falls behind a flood skips ahead, told so, and never holds the shell back', async () => {
    sh(ensureDetachedCommand(80, 24));
    const slow = attach(attachCommand());
    slow.proc.stdout.pause();
    expect(sh(typeTextCommand('seq 1 2000000; echo flood-$((1+1))-done\n')).code).toBe(0);
    // The command ends although its terminal reads nothing.
    await expect.poll(() => look().idle && Number(look().screen) > 14_000_000, { timeout: 60_000, interval: 500 }).toBe(true);
    slow.proc.stdout.resume();
    await expect.poll(slow.out, { timeout: 10_000 }).toMatch(/^flood-2-done\r$/m);
    expect(slow.out()).toMatch(/\[lw-term: \d+ KiB of output skipped\]\r\n\d+\r\n/);
    expect(slow.out()).toContain('1999999\r\n2000000\r\n');
  }, 90_000);

  it('typed text reaches the shell as text, quotes and escapes included', async () => {
    sh(ensureDetachedCommand(80, 24));
    const t = attach(attachCommand());
    // Typed once the shell shows its prompt (the server types only into an idle shell): typed before, the
    // line would be echoed by the tty first and the late prompt would land in front of the output.
    await expect.poll(t.out, { timeout: 10_000 }).toMatch(/[#$] $/);
    const text = `printf '%s\\n' "it's" '100%' 'a\\b'; echo typed-$((6*7))\n`;
    expect(sh(typeTextCommand(text)).code).toBe(0);
    await expect.poll(t.out, { timeout: 10_000 }).toMatch(/^typed-42\r$/m);
    expect(t.out()).toContain("\r\nit's\r\n100%\r\na\\b\r\n");
  });
});
