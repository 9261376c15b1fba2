// Runs host commands (ip, mount, debootstrap, chroot) with arguments as an array — never through a
// shell string — and turns a non-zero exit into an error that carries the command's own stderr.
import { spawn } from 'node:child_process';

export class CommandError extends Error {
  override name = 'CommandError';
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`${command} failed (exit ${exitCode ?? 'signal'}): ${lastLines(stderr, 3) || '(no output)'}`);
  }
}

export interface RunOptions {
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  input?: string;
  /** Called for each line of stdout and stderr as it arrives (progress parsing). */
  onLine?: (line: string) => void;
  /** Exit codes that count as success (default [0]). */
  okCodes?: number[];
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

function lastLines(s: string, n: number): string {
  return s.trim().split('\n').slice(-n).join(' | ');
}

export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      signal: opts.signal,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    let partial = '';
    const feed = (chunk: string): void => {
      if (!opts.onLine) return;
      partial += chunk;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) opts.onLine(l);
    };
    child.stdout?.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      feed(c);
    });
    child.stderr?.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
      if (stderr.length > 1_000_000) stderr = stderr.slice(-100_000);
      feed(c);
    });
    if (opts.input !== undefined && child.stdin) child.stdin.end(opts.input);
    child.on('error', (e) => reject(e));
    child.on('close', (code) => {
      const ok = opts.okCodes ?? [0];
      if (code !== null && ok.includes(code)) resolve({ stdout, stderr, code });
      else reject(new CommandError([cmd, ...args].join(' ').slice(0, 200), code, stderr || stdout));
    });
  });
}

/** True when `cmd` is an executable on PATH (or an absolute path that exists). */
export async function haveCommand(cmd: string): Promise<boolean> {
  try {
    await run('sh', ['-c', 'command -v "$1"', 'sh', cmd]);
    return true;
  } catch {
    return false;
  }
}
