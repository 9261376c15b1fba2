// `etcd-cluster` check: the raft state of every member, read by the server from each member itself
// (status over its client port, reached through the host's SSH connection; for a member that does not answer, its unit state and its own log
// over SSH) — how many run, whom they follow, at which term, whether the stopped one was the leader.
import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import type { CheckResult, etcdClusterCheck } from '../../../common/checks.ts';
import type { CheckTarget, EvalContext, TargetHost } from '../check-target.ts';
import type { Described } from '../outcome.ts';
import { errorText, toResult } from '../outcome.ts';
import { leadershipAtStop } from './etcd-leadership-log.ts';
import type { LeadershipAtStop } from './etcd-leadership-log.ts';
import type { EtcdMemberApi, MemberStatus } from './etcd-member-api.ts';
import { httpMemberApi } from './etcd-member-api.ts';

type ClusterSpec = z.output<typeof etcdClusterCheck>;

/** A member that does not answer: what systemd says of its etcd, and its last run's log. */
interface Silent {
  state: string;
  atStop: LeadershipAtStop | null;
}

type Member = { host: TargetHost; status: MemberStatus } | { host: TargetHost; silent: Silent | string };

const RUNNING_STATES = new Set(['active', 'activating', 'reloading', 'deactivating']);
const PROBE_PREFIX = '/labwright/probe/';

/**
 * The unit's state and the leadership lines of its last run only (`_SYSTEMD_INVOCATION_ID`), from
 * journal fields systemd sets itself: a line typed into the journal by hand does not carry them.
 */
const SILENT_PROBE =
  'state=$(systemctl show -p ActiveState --value etcd.service); echo "state=$state"; ' +
  'inv=$(systemctl show -p InvocationID --value etcd.service); ' +
  '[ -n "$inv" ] && journalctl --no-pager -o short-unix _SYSTEMD_UNIT=etcd.service _SYSTEMD_INVOCATION_ID="$inv" ' +
  "| grep -E 'raft\\.node: |received (terminated|interrupt) signal' | tail -n 400; true";

async function silentState(target: CheckTarget, host: string, ctx: EvalContext): Promise<Silent> {
  const r = await target.exec(host, SILENT_PROBE, { timeoutMs: ctx.timeoutMs, signal: ctx.signal, maxOutputBytes: 128 * 1024 });
  const [first = '', ...rest] = r.stdout.split('\n');
  return { state: first.startsWith('state=') ? first.slice(6).trim() || 'unknown' : 'unknown', atStop: leadershipAtStop(rest.join('\n')) };
}

async function readMembers(target: CheckTarget, api: EtcdMemberApi, ctx: EvalContext): Promise<Member[]> {
  return Promise.all(
    target.hosts.map(async (host): Promise<Member> => {
      try {
        return { host, status: await api.status(host.name, ctx.signal) };
      } catch {
        try {
          return { host, silent: await silentState(target, host.name, ctx) };
        } catch (e) {
          return { host, silent: errorText(e) };
        }
      }
    }),
  );
}

/** Writes a probe through the cluster, then reads it from each running member until it shows (or the deadline). */
async function replicate(api: EtcdMemberApi, up: { host: TargetHost }[], ctx: EvalContext): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const first = up[0];
  if (!first) return found;
  const key = `${PROBE_PREFIX}${randomBytes(6).toString('hex')}`;
  const value = `written through ${first.host.name} by the Labwright check`;
  try {
    await api.put(first.host.name, key, value, ctx.signal);
  } catch (e) {
    for (const m of up) found.set(m.host.name, `a write through ${first.host.name} was refused (${errorText(e)})`);
    return found;
  }
  await Promise.all(
    up.map(async (m) => {
      for (;;) {
        try {
          if ((await api.getSerializable(m.host.name, key, ctx.signal)) === value) return;
        } catch (e) {
          if (ctx.signal.aborted) break;
          found.set(m.host.name, `a serializable read failed (${errorText(e)})`);
          return;
        }
        if (ctx.signal.aborted) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      found.set(m.host.name, `does not have the probe key written through ${first.host.name}`);
    }),
  );
  await api.del(first.host.name, key, AbortSignal.timeout(2000)).catch(() => undefined);
  return found;
}

export async function evalEtcdCluster(target: CheckTarget, spec: ClusterSpec, ctx: EvalContext, api: EtcdMemberApi = httpMemberApi((host) => target.etcdSocket(host))): Promise<CheckResult[]> {
  const start = performance.now();
  const elapsed = (): number => performance.now() - start;
  const members = await readMembers(target, api, ctx);
  const up = members.filter((m): m is Extract<Member, { status: MemberStatus }> => 'status' in m);
  const names = new Map<string, string>(up.map((m) => [m.status.id, m.host.name]));
  for (const m of members) {
    if ('silent' in m && typeof m.silent !== 'string' && m.silent.atStop) names.set(m.silent.atStop.self, m.host.name);
  }
  const nameOf = (id: string | null): string => (id === null ? 'none' : (names.get(id) ?? id));
  const stoppedLeaders: LeadershipAtStop[] = [];
  for (const m of members) {
    const at = 'silent' in m && typeof m.silent !== 'string' ? m.silent.atStop : null;
    if (at && at.leader === at.self) stoppedLeaders.push(at);
    else if (at?.ledUntil) stoppedLeaders.push({ ...at, leader: at.self, term: at.ledUntil.term });
  }
  const stoppedTerm = Math.max(0, ...stoppedLeaders.map((s) => s.term));
  const upIds = new Set(up.map((m) => m.status.id));
  const leaders = new Set(up.map((m) => m.status.leader));
  const oneLeader = leaders.size === 1 && !leaders.has(null) && upIds.has([...leaders][0] ?? '');

  const results: CheckResult[] = [];
  if (spec.running !== undefined) {
    const d: Described = { kind: 'etcd-cluster', subject: 'etcd cluster', expected: `exactly ${spec.running} member${spec.running === 1 ? '' : 's'} running`, verb: 'has' };
    const listed = up.length === 0 ? '' : ` (${up.map((m) => m.host.name).join(', ')})`;
    results.push(toResult(d, { status: up.length === spec.running ? 'pass' : 'fail', actual: `${up.length} member${up.length === 1 ? '' : 's'} running${listed}`, durationMs: elapsed() }));
  }
  if (spec.stopped !== undefined && up.length === members.length) {
    const d: Described = { kind: 'etcd-cluster', subject: 'etcd cluster', expected: 'a stopped member that was the leader', verb: 'has' };
    results.push(toResult(d, { status: 'fail', actual: 'every member running', durationMs: elapsed() }));
  }

  const probe = spec.replicated && up.some((m) => m.status.leader !== null) ? await replicate(api, up, ctx) : undefined;
  // Without a leader, what still answers is a member's own copy: a serializable read, asked of each.
  const serialReads = new Map<string, string | null>();
  if (spec.leader === 'none') {
    await Promise.all(
      up.map(async (m) => {
        const failed = await api.getSerializable(m.host.name, '/', ctx.signal).then(
          () => null,
          (e: unknown) => errorText(e),
        );
        serialReads.set(m.host.name, failed);
      }),
    );
  }

  for (const m of members) {
    const host = m.host.name;
    if ('status' in m) {
      const s = m.status;
      const role = s.leader === null ? 'no leader' : s.leader === s.id ? 'the leader' : `following ${nameOf(s.leader)}`;
      const wants: string[] = [];
      const wrong: string[] = [];
      if (spec.leader === 'elected') {
        wants.push('following one leader among the running members');
        if (!oneLeader) wrong.push(s.leader === null ? 'it has no leader' : up.length > 1 && leaders.size > 1 ? 'the running members follow different leaders' : `${nameOf(s.leader)} is not running`);
      }
      if (spec.leader === 'none') {
        wants.push('without a leader, answering serializable reads');
        const failedRead = serialReads.get(host) ?? null;
        if (s.leader !== null) wrong.push('it still has a leader');
        else if (failedRead !== null) wrong.push(`a serializable read failed (${failedRead})`);
      }
      if (spec.stopped !== undefined) {
        wants.push('at a higher raft term than the stopped leader');
        if (stoppedLeaders.length > 0 && s.term <= stoppedTerm) wrong.push(`term ${s.term} is not higher than the term ${stoppedTerm} the stopped leader led in`);
      }
      if (spec.replicated) {
        wants.push('holding a key just written through the cluster');
        const miss = probe === undefined ? 'no member has a leader, so no write can be committed' : probe.get(host);
        if (miss !== undefined) wrong.push(miss);
      }
      const d: Described = { kind: 'etcd-cluster', subject: 'etcd member', expected: wants.length > 0 ? `running, ${wants.join(', ')}` : 'running' };
      const actual = `running, ${role}, term ${s.term}${wrong.length > 0 ? `: ${wrong.join('; ')}` : ''}`;
      results.push(toResult(d, { host, status: wrong.length === 0 ? 'pass' : 'fail', actual, durationMs: elapsed() }));
      continue;
    }
    const stoppedWant = spec.stopped !== undefined ? 'stopped while it was the leader' : spec.replicated && spec.running === undefined ? 'running' : 'running or stopped';
    const d: Described = { kind: 'etcd-cluster', subject: 'etcd member', expected: stoppedWant };
    if (typeof m.silent === 'string') {
      results.push(toResult(d, { host, status: 'error', actual: `it does not answer on its client port, and its host cannot be asked why: ${m.silent}`, durationMs: elapsed() }));
      continue;
    }
    const { state, atStop } = m.silent;
    if (RUNNING_STATES.has(state)) {
      results.push(toResult(d, { host, status: 'fail', actual: `not answering on its client port, yet etcd.service is ${state}`, durationMs: elapsed() }));
      continue;
    }
    if (spec.replicated && spec.running === undefined) {
      results.push(toResult(d, { host, status: 'fail', actual: `stopped (etcd.service ${state})`, durationMs: elapsed() }));
      continue;
    }
    if (spec.stopped === undefined) {
      results.push(toResult(d, { host, status: 'pass', actual: `stopped (etcd.service ${state})`, durationMs: elapsed() }));
      continue;
    }
    const led = atStop !== null && (atStop.leader === atStop.self || atStop.ledUntil !== undefined);
    const when =
      atStop === null
        ? 'its log of its last run shows no leader'
        : atStop.leader === atStop.self
          ? `it was the leader (term ${atStop.term}) when it stopped`
          : atStop.ledUntil
            ? `it was the leader (term ${atStop.ledUntil.term}) until an election ${(atStop.ledUntil.msBeforeStop / 1000).toFixed(1)} s before it stopped`
            : `it was ${atStop.leader === null ? 'without a leader' : `following ${nameOf(atStop.leader)}`} (term ${atStop.term}) when it stopped`;
    results.push(toResult(d, { host, status: led ? 'pass' : 'fail', actual: `stopped (etcd.service ${state}); ${when}`, durationMs: elapsed() }));
  }
  return results;
}
