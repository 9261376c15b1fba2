import { describe, expect, it } from 'vitest';
import type { CheckSpec } from '../../../common/checks.ts';
import { checkSchemas } from '../../../common/checks.ts';
import { SshError } from '../../ssh/ssh-connection.ts';
import { fakeTarget } from '../../testing/fake-target.ts';
import { runCheck } from '../check-engine.ts';

const HOSTS = ['host0', 'host1', 'host2'];
const check = <K extends keyof typeof checkSchemas>(kind: K, raw: unknown): CheckSpec => ({ kind, line: 1, spec: checkSchemas[kind].parse(raw) }) as CheckSpec;

const task = (name: string, node: string, current = 'Running 5 seconds ago', error = '') =>
  JSON.stringify({ CurrentState: current, DesiredState: 'Running', Error: error, ID: 'x', Image: 'busybox:latest', Name: name, Node: node, Ports: '' });
const node = (host: string, status = 'Ready', availability = 'Active', manager = '') =>
  JSON.stringify({ Availability: availability, Hostname: host, ManagerStatus: manager, Status: status });

/** A manager (host0) answering `docker service ps` with these tasks and `docker node ls` with these nodes. */
function swarm(tasks: string[], nodes: string[] = []) {
  return fakeTarget(HOSTS, (_h, cmd) => ({ stdout: (cmd.startsWith('docker service ps') ? tasks : nodes).join('\n') + '\n' }));
}

describe('service check', () => {
  it('reads placement from the manager: running count, and per host at most N with the tasks named', async () => {
    const t = swarm([task('web.1', 'host0'), task('web.2', 'host1'), task('web.3', 'host1')]);
    const r = await runCheck(t, check('service', { name: 'web', running: 3, 'per-host-max': 1 }));
    expect(t.calls[0]).toEqual(['host0', "docker service ps --no-trunc --filter desired-state=running --format '{{json .}}' -- 'web'"]);
    expect(r.map((x) => [x.host, x.status])).toEqual([
      [undefined, 'pass'],
      ['host0', 'pass'],
      ['host1', 'fail'],
      ['host2', 'pass'],
    ]);
    expect(r[2]!.message).toBe('host1: service web runs 2 tasks (web.2, web.3), expected at most 1 task');
  });

  it('counts a task waiting for a node as pending, not running, and says why the scheduler left it', async () => {
    const t = swarm([task('web.1', 'host0'), task('web.2', 'host1'), task('web.3', '', 'Pending 3 seconds ago', 'no suitable node (max replicas per node limit exceed)')]);
    expect((await runCheck(t, check('service', { name: 'web', running: 3 })))[0]).toMatchObject({
      status: 'fail',
      message: 'service web has 2 running, 1 pending (no suitable node (max replicas per node limit exceed)), expected 3 running tasks',
    });
    expect((await runCheck(t, check('service', { name: 'web', running: 2, pending: 1 })))[0]!.status).toBe('pass');
  });

  it('on: all needs a task on every host (global); not-on: a host with none; on: HOST all tasks there', async () => {
    const t = swarm([task('agent.abcdefghijklmnopqrstuvwxy', 'host0'), task('agent.bbcdefghijklmnopqrstuvwxy', 'host1')]);
    const all = await runCheck(t, check('service', { name: 'agent', on: 'all' }));
    expect(all.slice(1).map((x) => x.status)).toEqual(['pass', 'pass', 'fail']);
    expect(all[3]!.message).toBe('host2: service agent runs 0 tasks, expected at least 1 task');
    expect(all[1]!.actual).toBe('1 task (agent)');
    const notOn = await runCheck(t, check('service', { name: 'agent', 'not-on': 'host1' }));
    expect(notOn.map((x) => x.status)).toEqual(['pass', 'fail']);
    expect(notOn[1]!.message).toBe('host1: service agent runs 1 task (agent), expected no task');
    const pinned = await runCheck(t, check('service', { name: 'agent', on: 'host0' }));
    expect(pinned.map((x) => [x.host, x.status])).toEqual([
      [undefined, 'pass'],
      ['host0', 'pass'],
      ['host1', 'fail'],
      ['host2', 'pass'],
    ]);
    expect((await runCheck(t, check('service', { name: 'agent', on: 2 })))[1]).toMatchObject({ status: 'pass', actual: 'tasks on 2 hosts (host0, host1)' });
  });

  it('a missing service or a host that is no manager fails with what docker said; an unreachable manager is an error', async () => {
    const none = fakeTarget(HOSTS, () => ({ code: 1, stderr: 'no such service: web\n' }));
    expect(await runCheck(none, check('service', { name: 'web' }))).toMatchObject([{ status: 'fail', actual: 'unknown: host0 says "no such service: web"' }]);
    const down = fakeTarget(HOSTS, () => new SshError('unreachable', 'host1 is unreachable'));
    expect(await runCheck(down, check('service', { name: 'web', from: 'host1' }))).toMatchObject([{ status: 'error', host: 'host1' }]);
  });

  it('the schema refuses what a check cannot mean', () => {
    expect(checkSchemas.service.safeParse({ name: 'web; rm -rf /' }).success).toBe(false);
    expect(checkSchemas.service.safeParse({ name: 'web', from: 'server' }).success).toBe(false);
    expect(checkSchemas.service.safeParse({ name: 'web', 'not-on': 'all' }).success).toBe(false);
    expect(checkSchemas.service.safeParse({ name: 'web', on: 'host1', 'not-on': 'host1' }).success).toBe(false);
  });
});

describe('node check', () => {
  it('one result per host from one node list: Down, drained, not in the swarm', async () => {
    const t = swarm([], [node('host0', 'Ready', 'Active', 'Leader'), node('host1', 'Ready', 'Drain'), node('host2', 'Down')]);
    const r = await runCheck(t, check('node', { on: 'all', availability: 'active' }));
    expect(r.map((x) => x.status)).toEqual(['pass', 'fail', 'fail']);
    expect(r[2]!.message).toBe('host2: swarm node is down, active, expected ready, active');
    expect(t.calls).toHaveLength(1);
    expect((await runCheck(t, check('node', { on: 'host2', status: 'down' })))[0]!.status).toBe('pass');
    expect((await runCheck(t, check('node', { on: 'host0', role: 'manager' })))[0]!.status).toBe('pass');
    const lone = swarm([], [node('host0')]);
    expect((await runCheck(lone, check('node', { on: 'host1' })))[0]!.message).toBe('host1: swarm node is absent (not in the swarm), expected ready');
  });

  it('a host that left and joined again is judged by its live entry', async () => {
    const t = swarm([], [node('host0', 'Ready', 'Active', 'Leader'), node('host2', 'Down'), node('host2', 'Ready')]);
    expect((await runCheck(t, check('node', { on: 'host2' })))[0]!.status).toBe('pass');
  });
});
