// WarmShellPool over a local bash (the same `bash -s` protocol a lab host runs): exec semantics
// (separate stdout/stderr, exit status, stdin from /dev/null), quoting, the output cap, and a
// hanging command that becomes a timeout without blocking the next check.
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { SshError } from '../ssh/ssh-connection.ts';
import type { OpenShellChannel } from './warm-shell.ts';
import { WarmShellPool } from './warm-shell.ts';

let opened = 0;
const localShell: OpenShellChannel = (command) => {
  opened++;
  const child = spawn('bash', ['-c', command], { stdio: ['pipe', 'pipe', 'ignore'] });
  return Promise.resolve({
    write: (d: string) => child.stdin.write(d),
    onData: (l: (b: Buffer) => void) => child.stdout.on('data', l),
    onClose: (l: () => void) => child.on('close', l),
    close: () => child.kill('SIGKILL'),
  });
};

const pools: WarmShellPool[] = [];
const pool = (size = 2): WarmShellPool => {
  const p = new WarmShellPool('local', localShell, size);
  pools.push(p);
  return p;
};
afterEach(() => {
  for (const p of pools.splice(0)) p.close();
});
const opts = (timeoutMs = 5000) => ({ timeoutMs, signal: AbortSignal.timeout(timeoutMs) });

describe('WarmShellPool', () => {
  it('returns stdout, stderr and the exit status separately, like exec', async () => {
    const p = pool();
    expect(await p.exec('echo out; echo err >&2; exit 3', opts())).toEqual({ code: 3, signal: null, stdout: 'out\n', stderr: 'err\n', truncated: false });
    expect(await p.exec('printf "a b\\n\\nc"', opts())).toMatchObject({ code: 0, stdout: 'a b\n\nc' });
  });

  it('runs many commands on one shell; `exit` in a command does not end the shell', async () => {
    const p = pool(1);
    const before = opened;
    for (let i = 0; i < 5; i++) expect((await p.exec(`exit ${i}`, opts())).code).toBe(i);
    expect(opened - before).toBe(1);
  });

  it('keeps quotes and shell syntax of the command intact, and never reads the protocol as stdin', async () => {
    const p = pool();
    expect((await p.exec(`printf '%s' "it's" '$HOME' '\`x\`'`, opts())).stdout).toBe("it's$HOME`x`");
    expect((await p.exec('cat', opts())).stdout).toBe('');
    expect((await p.exec('echo after', opts())).stdout).toBe('after\n');
  });

  it('caps output and says so', async () => {
    const r = await pool().exec('head -c 5000 /dev/zero | tr "\\0" x', { ...opts(), maxOutputBytes: 100 });
    expect(r.stdout).toBe('x'.repeat(100));
    expect(r.truncated).toBe(true);
  });

  it('a hanging command is a timeout error and the next command still runs', async () => {
    const p = pool(1);
    const e: unknown = await p.exec('sleep 30', opts(200)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SshError);
    expect((e as SshError).code).toBe('timeout');
    expect((await p.exec('echo alive', opts())).stdout).toBe('alive\n');
  });

  it('runs commands in parallel up to its size and queues the rest', async () => {
    const p = pool(2);
    const rs = await Promise.all(Array.from({ length: 6 }, (_, i) => p.exec(`echo ${i}`, opts())));
    expect(rs.map((r) => r.stdout)).toEqual(['0\n', '1\n', '2\n', '3\n', '4\n', '5\n']);
  });
});

describe('WarmShellPool against a host that floods its check shell', () => {
  it('drops the shell with an error instead of buffering an endless answer', async () => {
    let sent = 0;
    let closed = false;
    // What an attendee with root on the host could do: replace the shell with one that never stops talking.
    const flood: OpenShellChannel = () => {
      let listener: ((b: Buffer) => void) | undefined;
      const chunk = Buffer.alloc(64 * 1024, 'A');
      const pump = (): void => {
        if (closed || !listener) return;
        sent += chunk.length;
        listener(chunk);
        setImmediate(pump);
      };
      return Promise.resolve({
        write: () => setImmediate(pump),
        onData: (l: (b: Buffer) => void) => (listener = l),
        onClose: () => undefined,
        close: () => (closed = true),
      });
    };
    const p = new WarmShellPool('flood', flood, 1);
    pools.push(p);
    const e = await p.exec('true', { ...opts(60_000), maxOutputBytes: 1024 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SshError);
    expect((e as SshError).message).toMatch(/without ending its answer/);
    expect(closed).toBe(true);
    expect(sent).toBeLessThan(64 * 1024 * 4);
  });
});
