// One reusable SSH connection to a lab host: exec channels for checks and shell channels for
// terminals share it, so a check costs a channel open, not a TCP + key exchange handshake.
import { Client } from 'ssh2';
import type { ClientChannel, PseudoTtyOptions } from 'ssh2';
import type { ExecResult } from '../../provisioning/exec-result.ts';
import type { Environment, HostInfo } from '../../provisioning/provider.ts';
import { jumpStream, loginConfig } from '../../provisioning/ssh-login.ts';
import type { LocalForward } from './local-forward.ts';
import { forwardLocal } from './local-forward.ts';

export type { ExecResult };

/** A host as the provider describes it (its name is for messages only), with the environment's key. */
export interface SshTarget extends HostInfo {
  privateKey: string;
}

/** The target of one host of an environment: its own key, agent and jump host when it has them (inventory hosts). */
export function sshTargetOf(env: Pick<Environment, 'privateKey'>, info: HostInfo): SshTarget {
  return { ...info, privateKey: info.privateKey ?? env.privateKey };
}

export type SshErrorCode = 'unreachable' | 'timeout' | 'auth' | 'closed' | 'aborted';

/** Why an SSH operation could not be carried out; maps to a check `error`, never a `fail`. */
export class SshError extends Error {
  override name = 'SshError';
  constructor(
    readonly code: SshErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The host was reached, but could not open the TCP connection it was asked for (`connect-failed`:
 * refused, no route — the far service's answer) or its sshd does not forward TCP (`prohibited`).
 * An SshError still, so callers that only know SshError treat it as before.
 */
export class ForwardRefused extends SshError {
  override name = 'ForwardRefused';
  constructor(
    readonly reason: 'connect-failed' | 'prohibited',
    /** What the host said, e.g. "Connection refused". */
    readonly detail: string,
    message: string,
  ) {
    super('unreachable', message);
  }
}

/** RFC 4254 channel-open failure reasons that are the host's answer, not a broken connection. */
const OPEN_PROHIBITED = 1;
const OPEN_CONNECT_FAILED = 2;

export interface ExecOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Output beyond this many bytes per stream is dropped (memory bound); `truncated` says so. */
  maxOutputBytes?: number;
  /** Written to the command's stdin, then stdin is closed. */
  stdin?: string;
}

const CONNECT_TIMEOUT_MS = 5000;
const DEFAULT_EXEC_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_OUTPUT = 1024 * 1024;
/**
 * sshd allows 10 sessions per connection by default (MaxSessions); stay below it so that
 * bursts of checks queue here instead of failing with "open failed".
 */
const MAX_CHANNELS = 8;

export class SshConnection {
  private client: Promise<Client> | null = null;
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private closed = false;

  constructor(readonly target: SshTarget) {}

  /** Runs a command; resolves with its exit status and output, rejects only with SshError. */
  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
    const max = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
    const release = await this.acquire(signal);
    try {
      const client = await this.withAbort(this.connect(), signal, timeoutMs);
      return await new Promise<ExecResult>((resolve, reject) => {
        client.exec(command, (e, stream) => {
          if (e) {
            this.forget(client);
            reject(new SshError('unreachable', `${this.target.name}: cannot run command: ${e.message}`));
            return;
          }
          const out: Buffer[] = [];
          const errOut: Buffer[] = [];
          let outLen = 0;
          let errLen = 0;
          let truncated = false;
          const onAbort = (): void => {
            stream.close();
            reject(this.abortError(signal, timeoutMs));
          };
          signal.addEventListener('abort', onAbort, { once: true });
          stream.on('data', (d: Buffer) => {
            if (outLen < max) out.push(d.subarray(0, max - outLen));
            else truncated = true;
            outLen += d.length;
          });
          stream.stderr.on('data', (d: Buffer) => {
            if (errLen < max) errOut.push(d.subarray(0, max - errLen));
            else truncated = true;
            errLen += d.length;
          });
          stream.on('close', (code: number | null, sig?: string) => {
            signal.removeEventListener('abort', onAbort);
            resolve({
              code: code ?? null,
              signal: sig ?? null,
              stdout: Buffer.concat(out).toString('utf8'),
              stderr: Buffer.concat(errOut).toString('utf8'),
              truncated,
            });
          });
          if (opts.stdin !== undefined) stream.end(opts.stdin);
          else stream.end();
        });
      });
    } finally {
      release();
    }
  }

  /** Opens an interactive shell channel with a PTY (for terminals); the caller owns the channel. */
  async shell(pty: PseudoTtyOptions, command?: string): Promise<ClientChannel> {
    const client = await this.connect();
    return new Promise<ClientChannel>((resolve, reject) => {
      const done = (e: Error | undefined, stream: ClientChannel): void => {
        if (e) {
          this.forget(client);
          reject(new SshError('unreachable', `${this.target.name}: cannot open shell: ${e.message}`));
        } else resolve(stream);
      };
      if (command === undefined) client.shell(pty, done);
      else client.exec(command, { pty }, done);
    });
  }

  /**
   * Opens a long-lived exec channel without a PTY, its stdin left open (e.g. a shell that reads
   * commands from stdin, as the check engine's warm shells do); the caller owns the channel.
   */
  async channel(command: string): Promise<ClientChannel> {
    const client = await this.connect();
    return new Promise<ClientChannel>((resolve, reject) => {
      client.exec(command, (e, stream) => {
        if (e) {
          this.forget(client);
          reject(new SshError('unreachable', `${this.target.name}: cannot open a channel: ${e.message}`));
        } else resolve(stream);
      });
    });
  }

  /**
   * Opens a TCP connection from the host itself to `address:port` (ssh direct-tcpip, as `ssh -L`
   * does): only sshd has to be reachable from the server. The caller owns the channel.
   */
  async forward(address: string, port: number): Promise<ClientChannel> {
    const client = await this.connect();
    const name = this.target.name;
    return new Promise<ClientChannel>((resolve, reject) => {
      const opened = (e: (Error & { reason?: unknown }) | undefined, stream: ClientChannel): void => {
        if (!e) return resolve(stream);
        // A refused port is the host's answer, not a broken connection: keep the connection.
        const detail = e.message.replace(/^\(SSH\) Channel open failure: ?/, '') || 'refused';
        const message = `${name}: cannot connect to ${address}:${port}: ${detail}`;
        if (e.reason === OPEN_CONNECT_FAILED) reject(new ForwardRefused('connect-failed', detail, message));
        else if (e.reason === OPEN_PROHIBITED) reject(new ForwardRefused('prohibited', detail, `${name}: its sshd does not forward TCP (AllowTcpForwarding): ${detail}`));
        else reject(new SshError('unreachable', message));
      };
      try {
        client.forwardOut('127.0.0.1', 0, address, port, opened);
      } catch (e) {
        // "Not connected": the connection dropped after connect() handed it out; the next use re-makes it.
        this.forget(client);
        reject(new SshError('unreachable', `${name}: cannot connect to ${address}:${port}: ${e instanceof Error ? e.message : String(e)}`));
      }
    });
  }

  /**
   * A local unix socket that reaches `127.0.0.1:port` on the host through this connection (made
   * once per port, closed with the connection): for clients that dial an address themselves, such
   * as etcd's gRPC client. A dropped connection is re-made when the next client connects.
   */
  localSocket(port: number): string {
    if (this.closed) throw new SshError('closed', `${this.target.name}: connection closed`);
    let f = this.forwards.get(port);
    if (!f) {
      f = forwardLocal(() => this.forward('127.0.0.1', port));
      this.forwards.set(port, f);
    }
    return f.path;
  }

  private readonly forwards = new Map<number, LocalForward>();

  /** Connects (once; concurrent callers share the attempt); a dropped connection is re-made on next use. */
  connect(): Promise<Client> {
    if (this.closed) return Promise.reject(new SshError('closed', `${this.target.name}: connection closed`));
    if (this.client) return this.client;
    const t = this.target;
    // Through a jump host: its tunnel to the host's sshd is the socket (closed with the connection).
    const hop = t.jump
      ? jumpStream(t.jump, t.address, t.port, CONNECT_TIMEOUT_MS).catch((e: unknown) => {
          throw new SshError('unreachable', `${t.name} (${t.address}) is unreachable: ${e instanceof Error ? e.message : String(e)}`);
        })
      : Promise.resolve(undefined);
    const attempt = hop.then((tunnel) => new Promise<Client>((resolve, reject) => {
      const c = new Client();
      c.on('close', () => tunnel?.close());
      let ready = false;
      c.on('ready', () => {
        ready = true;
        // Node sockets start with Nagle on: a keystroke written while an earlier small packet
        // (another channel's key, a window adjust) is unacknowledged would wait for the ACK,
        // which the host may delay by up to 40 ms. OpenSSH's own client turns it off the same way.
        c.setNoDelay(true);
        resolve(c);
      });
      c.on('error', (e: Error & { level?: string }) => {
        this.forget(c);
        if (!ready) {
          const code: SshErrorCode = e.level === 'client-authentication' ? 'auth' : /timed out/i.test(e.message) ? 'timeout' : 'unreachable';
          reject(new SshError(code, `${this.target.name} (${this.target.address}) is unreachable: ${e.message}`));
        }
      });
      c.on('close', () => {
        this.forget(c);
        if (!ready) reject(new SshError('unreachable', `${this.target.name} (${this.target.address}) closed the connection`));
      });
      c.connect({
        ...loginConfig(t),
        ...(tunnel ? { sock: tunnel.sock } : {}),
        readyTimeout: CONNECT_TIMEOUT_MS,
        keepaliveInterval: 10_000,
        keepaliveCountMax: 3,
      });
    }));
    // Remember which client this promise stands for, so that `forget` drops only that one.
    const tagged = attempt.then((c) => {
      this.current = c;
      return c;
    });
    this.client = tagged;
    tagged.catch(() => {
      if (this.client === tagged) this.client = null;
    });
    return tagged;
  }

  private current: Client | null = null;

  private forget(c: Client): void {
    if (this.current === c) {
      this.current = null;
      this.client = null;
    }
  }

  close(): void {
    this.closed = true;
    for (const f of this.forwards.values()) f.close();
    this.forwards.clear();
    const c = this.current;
    c?.end();
    // A host destroyed right after this never answers our FIN: the socket would stay half-closed
    // (FIN-WAIT-2) for good, holding a descriptor in the server and keeping a finished CLI alive.
    if (c) setTimeout(() => c.destroy(), 1000).unref();
    this.current = null;
    this.client = null;
    for (const w of this.waiting.splice(0)) w();
  }

  private async acquire(signal: AbortSignal): Promise<() => void> {
    if (this.active >= MAX_CHANNELS) {
      await new Promise<void>((resolve, reject) => {
        const go = (): void => {
          signal.removeEventListener('abort', stop);
          resolve();
        };
        const stop = (): void => {
          const i = this.waiting.indexOf(go);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(this.abortError(signal, 0));
        };
        signal.addEventListener('abort', stop, { once: true });
        this.waiting.push(go);
      });
    }
    this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.waiting.shift()?.();
    };
  }

  private withAbort<T>(p: Promise<T>, signal: AbortSignal, timeoutMs: number): Promise<T> {
    if (signal.aborted) return Promise.reject(this.abortError(signal, timeoutMs));
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => reject(this.abortError(signal, timeoutMs));
      signal.addEventListener('abort', onAbort, { once: true });
      p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  private abortError(signal: AbortSignal, timeoutMs: number): SshError {
    const reason: unknown = signal.reason;
    const isTimeout = reason instanceof DOMException && reason.name === 'TimeoutError';
    return isTimeout
      ? new SshError('timeout', `${this.target.name}: no answer within ${timeoutMs} ms`)
      : new SshError('aborted', `${this.target.name}: cancelled`);
  }
}
