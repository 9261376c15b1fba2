// The `service` and `node` checks against a real two-host swarm: they read where the manager put
// the tasks and which node is down, before and after a host's engine stops. One environment.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckResult, CheckSpec } from '../../../common/checks.ts';
import { checkSchemas } from '../../../common/checks.ts';
import { createLocalProvider } from '../../../provisioning/local/local-provider.ts';
import type { Environment } from '../../../provisioning/provider.ts';
import { loadConfig } from '../../config.ts';
import { SshPool } from '../../ssh/ssh-pool.ts';
import { runCheck } from '../check-engine.ts';
import type { CheckTarget } from '../check-target.ts';
import { EtcdClients, WarmShells, environmentTarget } from '../env-target.ts';

const check = <K extends keyof typeof checkSchemas>(kind: K, raw: unknown): CheckSpec => ({ kind, line: 1, spec: checkSchemas[kind].parse({ timeout: 20_000, ...(raw as object) }) }) as CheckSpec;
const brief = (r: CheckResult[]) => r.map((x) => `${x.status} ${x.message}`);

const provider = createLocalProvider(loadConfig());
const pool = new SshPool();
const etcd = new EtcdClients();
const warm = new WarmShells();
let env: Environment;
let t: CheckTarget;

async function sh(host: string, cmd: string): Promise<string> {
  const r = await t.exec(host, cmd, { timeoutMs: 120_000, signal: AbortSignal.timeout(120_000) });
  if (r.code !== 0) throw new Error(`${host}: ${cmd}: exit ${r.code}: ${r.stderr}`);
  return r.stdout.trim();
}

/** Runs the check until it passes (the swarm converges on its own time), returning the last results. */
async function settle(spec: CheckSpec, ms = 90_000): Promise<CheckResult[]> {
  const until = Date.now() + ms;
  let r = await runCheck(t, spec);
  while (!r.every((x) => x.status === 'pass') && Date.now() < until) {
    await new Promise((res) => setTimeout(res, 1000));
    r = await runCheck(t, spec);
  }
  return r;
}

beforeAll(async () => {
  env = await provider.create({ hosts: ['host0', 'host1'], services: { etcd: 'none', docker: true }, owner: 'swarm-checks test' });
  t = environmentTarget(env, pool, etcd, warm);
});

afterAll(async () => {
  etcd.closeAll();
  warm.closeAll();
  pool.closeAll();
  if (env) await provider.destroy(env);
});

describe('service and node checks on a real swarm', () => {
  it('fail before the swarm exists, read the real placement, and follow a host whose engine stops', { timeout: 600_000 }, async () => {
    expect(brief(await runCheck(t, check('node', { on: 'host1' })))[0]).toMatch(/^fail host1: swarm node is unknown: host0 says "Error response from daemon: This node is not a swarm manager/);
    await sh('host0', `docker swarm init --advertise-addr ${env.hosts[0]!.address}`);
    const token = await sh('host0', 'docker swarm join-token -q worker');
    await sh('host1', `docker swarm join --token ${token} ${env.hosts[0]!.address}:2377`);
    expect(brief(await settle(check('node', { on: 'all', status: 'ready' })))).toEqual(['pass host0: swarm node is ready', 'pass host1: swarm node is ready']);
    expect(brief(await runCheck(t, check('service', { name: 'web' })))).toEqual(['fail service web is unknown: host0 says "no such service: web", expected running tasks']);

    await sh('host0', 'docker service create --detach --no-resolve-image --init --name web --replicas 2 --replicas-max-per-node 1 busybox sleep 1d');
    const spread = await settle(check('service', { name: 'web', running: 2, 'per-host-max': 1, on: 'all' }));
    expect(brief(spread)[0]).toBe('pass service web has 2 running, 0 pending');
    expect(brief(spread).slice(1).sort()).toEqual(['pass host0: service web runs 1 task (web.1)', 'pass host1: service web runs 1 task (web.2)'].sort().map(() => expect.stringMatching(/^pass host[01]: service web runs 1 task \(web\.[12]\)$/) as unknown as string));

    await sh('host1', 'systemctl stop docker.socket docker.service');
    expect(brief(await settle(check('node', { on: 'host1', status: 'down' })))).toEqual(['pass host1: swarm node is down']);
    const left = await settle(check('service', { name: 'web', running: 1, pending: 1, 'not-on': 'host1' }));
    expect(left[0]!.message).toMatch(/^service web has 1 running, 1 pending \("?no suitable node/);
    expect(left.map((x) => x.status)).toEqual(['pass', 'pass']);
    // The same state fails the step that wanted both tasks running, naming the host that has none.
    const full = await runCheck(t, check('service', { name: 'web', running: 2, on: 'all' }));
    expect(brief(full)).toContain('fail host1: service web runs 0 tasks, expected at least 1 task');

    await sh('host1', 'systemctl start docker');
    expect((await settle(check('service', { name: 'web', running: 2, pending: 0, on: 'all' }))).map((x) => x.status)).toEqual(['pass', 'pass', 'pass']);
  });
});
