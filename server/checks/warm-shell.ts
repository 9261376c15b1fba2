// Warm shells for checks: opening an SSH exec channel costs ~50 ms on a lab host (sshd forks a
// session, PAM, logind), most of a unit check. A few long-lived `bash -s` channels per host read
// one command per request instead, so a check pays a fork, not a session. Semantics match exec:
// the command runs as `bash -c CMD` with stdin from /dev/null, and its stdout, stderr and exit
// status come back separately.
import { randomBytes } from 'node:crypto';
import type { ExecResult } from '../ssh/ssh-connection.ts';
import { SshError } from '../ssh/ssh-connection.ts';
import { shq } from '../ssh/shell-quote.ts';

/** What a warm shell needs of an SSH channel (an ssh2 ClientChannel fits). */
export interface ShellChannel {
  write(data: string): unknown;
  onData(listener: (chunk: Buffer) => void): void;
  onClose(listener: () => void): void;
  close(): void;
}

export type OpenShellChannel = (command: string) => Promise<ShellChannel>;

export interface WarmExecOptions {
  timeoutMs: number;
  signal: AbortSignal;
  maxOutputBytes?: number;
}

const SHELL_COMMAND = 'exec bash --noprofile --norc -s';
// The shell's scratch dir for each command's output, removed when the shell ends.
const INIT = `__lw_d=$(mktemp -d) || exit 1; trap 'rm -rf "$__lw_d"' EXIT\n`;
const DEFAULT_MAX_OUTPUT = 1024 * 1024;

/**
 * The one line a request writes; its answer is one line: `token status stdout-b64 stderr-b64`.
 * Few processes per request (each fork counts on a busy host): each stream is read once, one
 * byte past the cap, so that the server can tell that it was cut.
 */
export function requestLine(token: string, command: string, timeoutMs: number, max: number): string {
  // The host-side timeout is a little longer than ours: we give up first and drop the shell; this
  // only makes sure the command itself does not outlive it by much.
  const secs = Math.ceil(timeoutMs / 1000) + 1;
  const o = '"$__lw_d/o"';
  const e = '"$__lw_d/e"';
  return (
    `timeout -k 1 ${secs} bash -c ${shq(command)} </dev/null >${o} 2>${e}; ` +
    `printf '%s %s ' ${token} "$?"; head -c ${max + 1} ${o} | base64 -w0; printf ' '; head -c ${max + 1} ${e} | base64 -w0; printf ' \\n'\n`
  );
}

/**
 * The longest line a shell may send before its newline: an answer carries two base64 streams of at
 * most max + 1 bytes each. Anything longer is not our script answering (the host is root-owned by
 * the attendee, who may replace bash or head): the shell is dropped instead of buffering on.
 */
export function maxAnswerChars(max: number): number {
  return 2 * Math.ceil((max + 1) / 3) * 4 + 256;
}

/** Parses an answer line; undefined when the line is not the answer to `token`. */
export function parseAnswer(line: string, token: string, max: number): ExecResult | undefined {
  const parts = line.split(' ');
  if (parts[0] !== token || parts.length < 4) return undefined;
  const code = Number(parts[1]);
  const out = Buffer.from(parts[2] ?? '', 'base64');
  const err = Buffer.from(parts[3] ?? '', 'base64');
  return {
    code: Number.isInteger(code) ? code : null,
    signal: null,
    stdout: out.subarray(0, max).toString('utf8'),
    stderr: err.subarray(0, max).toString('utf8'),
    truncated: out.length > max || err.length > max,
  };
}

class WarmShell {
  private buffer = '';
  private pending: { token: string; max: number; resolve: (r: ExecResult) => void; reject: (e: Error) => void } | null = null;
  dead = false;

  constructor(
    private readonly channel: ShellChannel,
    private readonly host: string,
  ) {
    channel.onData((d) => this.onData(d));
    channel.onClose(() => this.die(new SshError('closed', `${host}: check shell closed`)));
    channel.write(INIT);
  }

  run(command: string, opts: WarmExecOptions): Promise<ExecResult> {
    const token = `__lw_${randomBytes(6).toString('hex')}`;
    const max = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
    return new Promise<ExecResult>((resolve, reject) => {
      const onAbort = (): void => {
        const reason: unknown = opts.signal.reason;
        const timeout = reason instanceof DOMException && reason.name === 'TimeoutError';
        // The shell is busy with a command we no longer want: drop it rather than wait.
        this.die(timeout ? new SshError('timeout', `${this.host}: no answer within ${opts.timeoutMs} ms`) : new SshError('aborted', `${this.host}: cancelled`));
      };
      if (this.dead || opts.signal.aborted) {
        reject(new SshError(this.dead ? 'closed' : 'aborted', `${this.host}: ${this.dead ? 'check shell closed' : 'cancelled'}`));
        return;
      }
      opts.signal.addEventListener('abort', onAbort, { once: true });
      this.pending = {
        token,
        max,
        resolve: (r) => {
          opts.signal.removeEventListener('abort', onAbort);
          resolve(r);
        },
        reject: (e) => {
          opts.signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      this.channel.write(requestLine(token, command, opts.timeoutMs, max));
    });
  }

  private onData(chunk: Buffer): void {
    this.buffer += chunk.toString('utf8');
    const limit = maxAnswerChars(this.pending?.max ?? DEFAULT_MAX_OUTPUT);
    if (this.buffer.length > limit && this.buffer.lastIndexOf('\n', limit) < 0) {
      this.buffer = '';
      this.die(new SshError('closed', `${this.host}: check shell sent more than ${limit} characters without ending its answer`));
      return;
    }
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      const p = this.pending;
      if (!p) continue;
      const answer = parseAnswer(line, p.token, p.max);
      if (answer) {
        this.pending = null;
        p.resolve(answer);
      }
    }
  }

  die(e: SshError): void {
    if (!this.dead) {
      this.dead = true;
      this.channel.close();
    }
    const p = this.pending;
    this.pending = null;
    p?.reject(e);
  }
}

/** Up to `size` warm shells on one host; commands beyond that wait for a free one. */
export class WarmShellPool {
  private readonly idle: WarmShell[] = [];
  private count = 0;
  private readonly waiting: ((s: WarmShell | null) => void)[] = [];
  private closed = false;

  constructor(
    private readonly host: string,
    private readonly open: OpenShellChannel,
    private readonly size = 2,
  ) {}

  async exec(command: string, opts: WarmExecOptions): Promise<ExecResult> {
    const shell = await this.acquire(opts.signal);
    try {
      return await shell.run(command, opts);
    } finally {
      this.release(shell);
    }
  }

  private async acquire(signal: AbortSignal): Promise<WarmShell> {
    if (this.closed) throw new SshError('closed', `${this.host}: closed`);
    for (let idle = this.idle.pop(); idle; idle = this.idle.pop()) {
      if (!idle.dead) return idle;
      this.count--;
    }
    if (this.count < this.size) {
      this.count++;
      try {
        return new WarmShell(await this.open(SHELL_COMMAND), this.host);
      } catch (e) {
        this.count--;
        throw e;
      }
    }
    const s = await new Promise<WarmShell | null>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.waiting.indexOf(resolve);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new SshError('timeout', `${this.host}: no free check shell`));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push((x) => {
        signal.removeEventListener('abort', onAbort);
        resolve(x);
      });
    });
    return s ?? this.acquire(signal);
  }

  private release(shell: WarmShell): void {
    if (shell.dead || this.closed) {
      this.count--;
      // A slot opened up: let a waiter make a new shell.
      this.waiting.shift()?.(null);
      return;
    }
    const next = this.waiting.shift();
    if (next) next(shell);
    else this.idle.push(shell);
  }

  close(): void {
    this.closed = true;
    for (const s of this.idle.splice(0)) s.die(new SshError('closed', `${this.host}: closed`));
    for (const w of this.waiting.splice(0)) w(null);
  }
}
