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
});
