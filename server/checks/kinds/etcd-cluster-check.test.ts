import { describe, expect, it } from 'vitest';
import { checkSchemas } from '../../../common/checks.ts';
import { fakeTarget } from '../../testing/fake-target.ts';
import { evalEtcdCluster } from './etcd-cluster-check.ts';
import type { EtcdMemberApi, MemberStatus } from './etcd-member-api.ts';

// Three members a, b, c on host0..2.
const ids: Record<string, string> = { host0: 'a', host1: 'b', host2: 'c' };
const ctx = () => ({ signal: AbortSignal.timeout(5000), timeoutMs: 5000 });
const spec = (raw: unknown) => checkSchemas['etcd-cluster'].parse(raw);

function api(up: Record<string, MemberStatus>, kv = new Map<string, string>()): EtcdMemberApi {
  const member = (host: string): MemberStatus => {
    const s = up[ids[host] ?? ''];
    if (!s) throw new Error('connect ECONNREFUSED');
    return s;
  };
  return {
    status: (host) => Promise.resolve().then(() => member(host)),
    put: (host, key, value) =>
      Promise.resolve().then(() => {
        if (member(host).leader === null) throw new Error('etcdserver: no leader');
        kv.set(key, value);
      }),
    getSerializable: (host, key) => Promise.resolve().then(() => (member(host), kv.get(key) ?? null)),
    del: (_host, key) => Promise.resolve(void kv.delete(key)),
  };
}

/** host0's etcd is stopped; its last run's log says whom it followed when it got SIGTERM. */
const stoppedHost0 = (log: string) =>
  fakeTarget(['host0', 'host1', 'host2'], (host) => (host === 'host0' ? { stdout: `state=inactive\n${log}\n` } : { stdout: 'state=active\n' }));

describe('etcd-cluster', () => {
  it('a stopped leader passes; the two others follow one of them at a higher term', async () => {
    const t = stoppedHost0('raft.node: a elected leader a at term 2\nreceived terminated signal, shutting down...\nraft.node: a elected leader b at term 3');
    const r = await evalEtcdCluster(t, spec({ running: 2, leader: 'elected', stopped: 'leader' }), ctx(), api({ b: { id: 'b', leader: 'b', term: 3 }, c: { id: 'c', leader: 'b', term: 3 } }));
    expect(r.map((x) => x.status)).toEqual(['pass', 'pass', 'pass', 'pass']);
    expect(r[1]?.message).toBe('host0: etcd member is stopped (etcd.service inactive); it was the leader (term 2) when it stopped');
    expect(r[3]?.message).toBe('host2: etcd member is running, following host1, term 3');
  });

  it('a stopped follower fails, naming the leader it followed; so does a term that did not move', async () => {
    const t = stoppedHost0('raft.node: a elected leader b at term 2\nreceived terminated signal, shutting down...');
    const r = await evalEtcdCluster(t, spec({ running: 2, leader: 'elected', stopped: 'leader' }), ctx(), api({ b: { id: 'b', leader: 'b', term: 2 }, c: { id: 'c', leader: 'b', term: 2 } }));
    expect(r.map((x) => x.status)).toEqual(['pass', 'fail', 'pass', 'pass']);
    expect(r[1]?.actual).toBe('stopped (etcd.service inactive); it was following host1 (term 2) when it stopped');
  });

  it('a leader whose stop raced an election (lost the lead 0.4 s before SIGTERM) passes, saying so; the others must be past the term it led', async () => {
    const log = ['1795963010.1 h etcd[5]: raft.node: a elected leader a at term 2', '1795963040.2 h etcd[5]: raft.node: a lost leader a at term 3', '1795963040.3 h etcd[5]: raft.node: a elected leader b at term 3', '1795963040.6 h etcd[5]: received terminated signal, shutting down...'].join('\n');
    const r = await evalEtcdCluster(stoppedHost0(log), spec({ running: 2, leader: 'elected', stopped: 'leader' }), ctx(), api({ b: { id: 'b', leader: 'b', term: 3 }, c: { id: 'c', leader: 'b', term: 3 } }));
    expect(r.map((x) => x.status)).toEqual(['pass', 'pass', 'pass', 'pass']);
    expect(r[1]?.actual).toBe('stopped (etcd.service inactive); it was the leader (term 2) until an election 0.4 s before it stopped');
  });

  it('a member that does not answer while its unit runs is not "stopped" (a firewall is not a failure of etcd)', async () => {
    const t = fakeTarget(['host0', 'host1', 'host2'], () => ({ stdout: 'state=active\n' }));
    const r = await evalEtcdCluster(t, spec({ running: 2 }), ctx(), api({ b: { id: 'b', leader: 'b', term: 3 }, c: { id: 'c', leader: 'b', term: 3 } }));
    expect(r[0]?.status).toBe('pass');
    expect(r[1]).toMatchObject({ status: 'fail', actual: 'not answering on its client port, yet etcd.service is active' });
  });

  it('quorum lost: the last member without a leader passes `leader: none`; a probe write is refused, not waited for', async () => {
    const t = fakeTarget(['host0', 'host1', 'host2'], (host) => ({ stdout: host === 'host2' ? 'state=active\n' : 'state=inactive\n' }));
    const members = { c: { id: 'c', leader: null, term: 9 } };
    expect((await evalEtcdCluster(t, spec({ running: 1, leader: 'none' }), ctx(), api(members))).map((x) => x.status)).toEqual(['pass', 'pass', 'pass', 'pass']);
    const r = await evalEtcdCluster(t, spec({ running: 3, replicated: true }), ctx(), api(members));
    expect(r[0]?.status).toBe('fail');
    expect(r[3]?.actual).toBe('running, no leader, term 9: no member has a leader, so no write can be committed');
  });

  it('restored: a probe write reaches every member, and is deleted afterwards', async () => {
    const kv = new Map<string, string>();
    const all = { a: { id: 'a', leader: 'c', term: 4 }, b: { id: 'b', leader: 'c', term: 4 }, c: { id: 'c', leader: 'c', term: 4 } };
    const t = fakeTarget(['host0', 'host1', 'host2'], () => ({ stdout: 'state=active\n' }));
    const r = await evalEtcdCluster(t, spec({ running: 3, leader: 'elected', replicated: true }), ctx(), api(all, kv));
    expect(r.map((x) => x.status)).toEqual(['pass', 'pass', 'pass', 'pass']);
    expect(kv.size).toBe(0);
  });
});
