import { describe, expect, it } from 'vitest';
import { leadershipAtStop } from './etcd-leadership-log.ts';

// Lines as etcd 3.4 writes them to the journal (`journalctl -o cat`), from a real stop of a leader.
const leaderStopped = `raft2026/11/30 14:36:30 INFO: raft.node: 49264a87ce569b46 elected leader 49264a87ce569b46 at term 2
received terminated signal, shutting down...
raft2026/11/30 14:37:20 INFO: raft.node: 49264a87ce569b46 lost leader 49264a87ce569b46 at term 3
raft2026/11/30 14:37:20 INFO: raft.node: 49264a87ce569b46 elected leader 1afef7cde2eda5c7 at term 3`;

const followerStopped = `raft2026/11/30 14:36:31 INFO: raft.node: da9bfce215772fa6 elected leader 49264a87ce569b46 at term 2
raft2026/11/30 14:37:20 INFO: raft.node: da9bfce215772fa6 lost leader 49264a87ce569b46 at term 3
raft2026/11/30 14:37:20 INFO: raft.node: da9bfce215772fa6 elected leader 1afef7cde2eda5c7 at term 3
received terminated signal, shutting down...`;

describe('leadershipAtStop', () => {
  it('a leader that handed over on SIGTERM still counts as the leader: the state at the signal counts, not the last line', () => {
    expect(leadershipAtStop(leaderStopped)).toEqual({ self: '49264a87ce569b46', leader: '49264a87ce569b46', term: 2, signalled: true });
  });

  it('a follower stopped after an election names the leader it followed', () => {
    expect(leadershipAtStop(followerStopped)).toEqual({ self: 'da9bfce215772fa6', leader: '1afef7cde2eda5c7', term: 3, signalled: true });
  });

  it('a member killed without a signal: the end of its log counts; a changed leader and a lost one are followed', () => {
    const log = `raft.node: aa changed leader from bb to aa at term 7\nraft.node: aa lost leader aa at term 8`;
    expect(leadershipAtStop(log)).toEqual({ self: 'aa', leader: null, term: 8, signalled: false });
    expect(leadershipAtStop('raft.node: aa changed leader from bb to aa at term 7')).toMatchObject({ leader: 'aa', term: 7 });
  });

  it('a log without leadership lines says nothing', () => {
    expect(leadershipAtStop('received terminated signal, shutting down...\n')).toBeNull();
  });

  it('stamped lines (journalctl -o short-unix): a leader that lost an election just before its stop still counts, saying when', () => {
    const raced = `1795963010.100000 host0 etcd[52]: raft2026/11/30 14:36:30 INFO: raft.node: aa elected leader aa at term 2
1795963040.200000 host0 etcd[52]: raft2026/11/30 14:37:00 INFO: raft.node: aa lost leader aa at term 3
1795963040.210000 host0 etcd[52]: raft2026/11/30 14:37:00 INFO: raft.node: aa elected leader bb at term 3
1795963040.650000 host0 etcd[52]: received terminated signal, shutting down...`;
    expect(leadershipAtStop(raced)).toEqual({ self: 'aa', leader: 'bb', term: 3, signalled: true, ledUntil: { term: 2, msBeforeStop: 450 } });
  });

  it('a leadership lost longer ago than the grace, or never held, gives no ledUntil', () => {
    const longAgo = `1795963010.100000 h etcd[52]: raft.node: aa elected leader aa at term 2
1795963020.000000 h etcd[52]: raft.node: aa lost leader aa at term 3
1795963020.010000 h etcd[52]: raft.node: aa elected leader bb at term 3
1795963040.000000 h etcd[52]: received terminated signal, shutting down...`;
    expect(leadershipAtStop(longAgo)?.ledUntil).toBeUndefined();
    const never = `1795963010.100000 h etcd[52]: raft.node: aa elected leader bb at term 2
1795963010.300000 h etcd[52]: raft.node: aa lost leader bb at term 3
1795963010.400000 h etcd[52]: raft.node: aa elected leader cc at term 3
1795963010.500000 h etcd[52]: received terminated signal, shutting down...`;
    expect(leadershipAtStop(never)?.ledUntil).toBeUndefined();
  });
});
