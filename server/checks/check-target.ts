// What a check evaluates against: the hosts of one environment, an exec channel per host and an
// etcd reader. An interface so that the evaluators run the same on fakes (unit tests) and real hosts.
import type { Duplex } from 'node:stream';
import type { ExecResult } from '../ssh/ssh-connection.ts';

export interface TargetHost {
  name: string;
  /** IPv4 address reachable from the server. */
  address: string;
}

export interface TargetExecOptions {
  timeoutMs: number;
  signal: AbortSignal;
  maxOutputBytes?: number;
  /** Written to the command's stdin (execSession only; warm shells read their commands from theirs). */
  stdin?: string;
}

export interface EtcdReader {
  /** The value of a key, or null when the key does not exist. */
  get(key: string): Promise<string | null>;
  /** Every key under a prefix with its value. */
  getPrefix(prefix: string): Promise<Map<string, string>>;
  countPrefix(prefix: string): Promise<number>;
}

export interface CheckTarget {
  readonly hosts: readonly TargetHost[];
  /** Runs a command on a host; rejects only with SshError (unreachable, timeout, …) — an `error`, never a `fail`. */
  exec(host: string, command: string, opts: TargetExecOptions): Promise<ExecResult>;
  /**
   * Runs a command in a fresh SSH session (its own exec channel), for solve blocks and terminal
   * typing: slower than `exec`, but with a session's full semantics (a background process may
   * keep running after it returns).
   */
  execSession(host: string, command: string, opts: TargetExecOptions): Promise<ExecResult>;
  etcd(): EtcdReader;
  /**
   * A local unix socket that reaches this host's etcd client port through its SSH connection (only
   * sshd has to be reachable); throws SshError when there is no such host.
   */
  etcdSocket(host: string): string;
  /**
   * A TCP stream that the host itself opens to `address:port`, through its SSH connection (only
   * sshd has to be reachable from the server). Rejects with ForwardRefused when the host cannot
   * connect there (nothing listens) or will not forward, with SshError when the host cannot be reached.
   */
  openTcp(host: string, address: string, port: number): Promise<Duplex>;
}

/** Context of one check evaluation: its deadline. */
export interface EvalContext {
  signal: AbortSignal;
  timeoutMs: number;
}
