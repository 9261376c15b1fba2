// A CheckTarget for unit tests: hosts answer commands from a script, etcd is a Map.
import type { ExecResult } from '../ssh/ssh-connection.ts';
import { SshError } from '../ssh/ssh-connection.ts';
import type { CheckTarget, EtcdReader } from '../checks/check-target.ts';

export type FakeAnswer = Partial<ExecResult> | SshError | 'hang';

export interface FakeTarget extends CheckTarget {
  /** Every command run, as [host, command]. */
  readonly calls: [string, string][];
  readonly kv: Map<string, string>;
}

export function fakeTarget(hosts: string[], answer: (host: string, command: string) => FakeAnswer, kv = new Map<string, string>()): FakeTarget {
  const calls: [string, string][] = [];
  const reader: EtcdReader = {
    get: (k) => Promise.resolve(kv.get(k) ?? null),
    getPrefix: (p) => Promise.resolve(new Map([...kv].filter(([k]) => k.startsWith(p)))),
    countPrefix: (p) => Promise.resolve([...kv.keys()].filter((k) => k.startsWith(p)).length),
  };
  return {
    calls,
    kv,
    hosts: hosts.map((name, i) => ({ name, address: `10.213.0.${i + 2}` })),
    execSession(host, command, opts) {
      return this.exec(host, command, opts);
    },
    exec(host, command, opts) {
      calls.push([host, command]);
      const a = answer(host, command);
      if (a instanceof SshError) return Promise.reject(a);
      if (a === 'hang') {
        // Like a real exec: only the deadline ends it.
        return new Promise((_resolve, reject) => {
          opts.signal.addEventListener('abort', () => reject(new SshError('timeout', `${host}: no answer within ${opts.timeoutMs} ms`)), { once: true });
        });
      }
      return Promise.resolve({ code: 0, signal: null, stdout: '', stderr: '', truncated: false, ...a });
    },
    etcd: () => reader,
    etcdSocket: () => {
      throw new SshError('unreachable', 'no etcd socket on a fake target');
    },
    // Tests that need a host's TCP replace this (a loopback socket standing in for the SSH channel).
    openTcp: (host) => Promise.reject(new SshError('unreachable', `${host}: no TCP on a fake target`)),
  };
}
