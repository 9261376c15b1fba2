import { describe, expect, it } from 'vitest';
import type { CheckSpec } from '../../common/checks.ts';
import { checkSchemas } from '../../common/checks.ts';
import { SshError } from '../ssh/ssh-connection.ts';
import { runCheck, runStepChecks } from './check-engine.ts';
import { serverRoute } from './kinds/http-check.ts';
import { fakeTarget } from '../testing/fake-target.ts';

const HOSTS = ['host0', 'host1', 'host2'];

/** Builds a CheckSpec the way the lab parser does: through the kind's schema. */
function check<K extends keyof typeof checkSchemas>(kind: K, raw: unknown): CheckSpec {
  return { kind, line: 1, spec: checkSchemas[kind].parse(raw) } as CheckSpec;
}

const unitShow = (active: string, file = 'enabled', load = 'loaded') => ({ stdout: `ActiveState=${active}\nUnitFileState=${file}\nLoadState=${load}\n` });

describe('check deadlines', () => {
  it('a check that answered leaves no deadline behind: its signal never aborts afterwards (re-checks run every few seconds per attendee)', async () => {
    const signals: AbortSignal[] = [];
    const t = fakeTarget(HOSTS, () => unitShow('active'));
    const exec = t.exec.bind(t);
    t.exec = (host, command, opts) => {
      signals.push(opts.signal);
      return exec(host, command, opts);
    };
    const r = await runCheck(t, check('unit', { name: 'web.service', on: 'host0', timeout: 30 }));
    expect(r[0]!.status).toBe('pass');
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(signals).toHaveLength(1);
    expect(signals[0]!.aborted).toBe(false);
  });

  it('a check whose evaluator failed still ends its hosts\' work on time', async () => {
    const signals: AbortSignal[] = [];
    const t = fakeTarget(HOSTS, () => 'hang');
    const exec = t.exec.bind(t);
    t.exec = (host, command, opts) => {
      signals.push(opts.signal);
      if (host === 'host0') return Promise.reject(new Error('evaluator bug'));
      return exec(host, command, opts);
    };
    await runCheck(t, check('unit', { name: 'web.service', on: 'all', timeout: 30 }));
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(signals.every((s) => s.aborted)).toBe(true);
  });
});

describe('unit check', () => {
  it('reports per host with expected vs actual', async () => {
    const t = fakeTarget(HOSTS, (h) => unitShow(h === 'host1' ? 'failed' : 'active'));
    const r = await runCheck(t, check('unit', { name: 'web@2.service', on: 'all' }));
    expect(r.map((x) => x.status)).toEqual(['pass', 'fail', 'pass']);
    expect(r[1]!.message).toBe('host1: unit web@2.service is failed, expected active');
  });

  it('checks enablement through UnitFileState', async () => {
    const t = fakeTarget(HOSTS, () => unitShow('active', 'disabled'));
    const r = await runCheck(t, check('unit', { name: 'web.service', on: 'host0', state: 'enabled' }));
    expect(r).toMatchObject([{ status: 'fail', actual: 'disabled', expected: 'enabled' }]);
  });

  it('puts the unit name into the command shell-quoted', async () => {
    const t = fakeTarget(HOSTS, () => unitShow('inactive', 'disabled', 'not-found'));
    const r = await runCheck(t, check('unit', { name: "x'; touch /pwned; '", on: 'host0' }));
    expect(t.calls[0]![1]).toContain(`-- 'x'\\''; touch /pwned; '\\'''`);
    expect(r[0]!.actual).toBe('not found');
  });

  it('a unit that does not exist is inactive and disabled, and fails active and enabled with "not found"', async () => {
    const t = fakeTarget(HOSTS, () => ({ stdout: 'ActiveState=inactive\nUnitFileState=\nLoadState=not-found\n' }));
    for (const state of ['inactive', 'disabled']) {
      expect(await runCheck(t, check('unit', { name: 'gone.service', on: 'host0', state }))).toMatchObject([{ status: 'pass', actual: 'not found' }]);
    }
    for (const state of ['active', 'enabled', 'failed']) {
      expect(await runCheck(t, check('unit', { name: 'gone.service', on: 'host0', state }))).toMatchObject([{ status: 'fail', actual: 'not found' }]);
    }
    const r = await runCheck(t, check('unit', { name: 'gone.service', on: 'host0' }));
    expect(r[0]!.message).toBe('host0: unit gone.service is not found, expected active');
  });

  it('a unit whose file was removed while it runs is not inactive', async () => {
    const t = fakeTarget(HOSTS, () => ({ stdout: 'ActiveState=active\nUnitFileState=\nLoadState=not-found\n' }));
    const r = await runCheck(t, check('unit', { name: 'gone.service', on: 'host0', state: 'inactive' }));
    expect(r).toMatchObject([{ status: 'fail', actual: 'active (not found)' }]);
  });

  it('an unreachable host is an error, not a fail', async () => {
    const t = fakeTarget(HOSTS, (h) => (h === 'host2' ? new SshError('unreachable', 'host2 (10.213.0.4) is unreachable: connect ECONNREFUSED') : unitShow('active')));
    const r = await runCheck(t, check('unit', { name: 'web.service', on: 'all' }));
    expect(r[2]).toMatchObject({ status: 'error', host: 'host2' });
    expect(r[2]!.message).toMatch(/^host2: could not check unit web.service: .*unreachable/);
  });

  it('a hanging host becomes a timeout error within the check timeout', async () => {
    const t = fakeTarget(HOSTS, (h) => (h === 'host1' ? 'hang' : unitShow('active')));
    const r = await runCheck(t, check('unit', { name: 'web.service', on: 'all', timeout: 200 }));
    expect(r[1]).toMatchObject({ status: 'error', host: 'host1' });
    expect(r[1]!.actual).toMatch(/no answer within 200 ms/);
  });
});

describe('etcd check', () => {
  const kv = new Map([
    ['/example', 'Azure'],
    ['/p/a', '1'],
    ['/p/b', '2'],
  ]);
  const t = fakeTarget(HOSTS, () => ({}), kv);
  it('equals, matches, absent, prefix count', async () => {
    expect(await runCheck(t, check('etcd', { key: '/example', equals: 'Azure' }))).toMatchObject([{ status: 'pass' }]);
    const wrong = await runCheck(t, check('etcd', { key: '/example', equals: 'Blue' }));
    expect(wrong[0]!.message).toBe('etcd key /example is "Azure", expected "Blue"');
    expect(await runCheck(t, check('etcd', { key: '/example', matches: '^Az' }))).toMatchObject([{ status: 'pass' }]);
    expect(await runCheck(t, check('etcd', { key: '/nope', equals: 'x' }))).toMatchObject([{ status: 'fail', actual: 'absent' }]);
    expect(await runCheck(t, check('etcd', { key: '/nope', absent: true }))).toMatchObject([{ status: 'pass' }]);
    expect(await runCheck(t, check('etcd', { prefix: '/p/', count: 2 }))).toMatchObject([{ status: 'pass' }]);
    expect(await runCheck(t, check('etcd', { prefix: '/p/', count: 3 }))).toMatchObject([{ status: 'fail', actual: '2 keys' }]);
  });

  it('an etcd call that never answers is an error after the timeout, not a stuck check', async () => {
    const hung = fakeTarget(HOSTS, () => ({}));
    hung.etcd = () => ({ get: () => new Promise(() => {}), getPrefix: () => new Promise(() => {}), countPrefix: () => new Promise(() => {}) });
    const r = await runCheck(hung, check('etcd', { key: '/example', timeout: 100 }));
    expect(r).toMatchObject([{ status: 'error', actual: 'no answer within 100 ms' }]);
  });

  it('an etcd failure is an error', async () => {
    const broken = fakeTarget(HOSTS, () => ({}));
    broken.etcd = () => ({ get: () => Promise.reject(new Error('14 UNAVAILABLE')), getPrefix: () => Promise.reject(new Error('x')), countPrefix: () => Promise.reject(new Error('x')) });
    expect(await runCheck(broken, check('etcd', { key: '/example' }))).toMatchObject([{ status: 'error' }]);
  });
});

describe('container check', () => {
  const ps = [
    JSON.stringify({ Names: 'db', Image: 'busybox', State: 'running', Ports: '0.0.0.0:3306->3306/tcp' }),
    JSON.stringify({ Names: 'old', Image: 'busybox:latest', State: 'exited', Ports: '' }),
  ].join('\n');
  const t = fakeTarget(HOSTS, () => ({ stdout: ps }));
  it('by name, by image, with a published port', async () => {
    expect(await runCheck(t, check('container', { on: 'host1', name: 'db', port: 3306 }))).toMatchObject([{ status: 'pass' }]);
    expect(await runCheck(t, check('container', { on: 'host1', name: 'db', port: 8080 }))).toMatchObject([{ status: 'fail' }]);
    expect(await runCheck(t, check('container', { on: 'host1', name: 'old' }))).toMatchObject([{ status: 'fail', actual: 'exited' }]);
    expect(await runCheck(t, check('container', { on: 'host1', name: 'nope' }))).toMatchObject([{ status: 'fail', actual: 'absent' }]);
    expect(await runCheck(t, check('container', { on: 'host1', image: 'busybox:latest' }))).toMatchObject([{ status: 'pass' }]);
    expect(await runCheck(t, check('container', { on: 'host1', name: 'old', running: false }))).toMatchObject([{ status: 'pass' }]);
  });
  it('a container name never reaches the command', async () => {
    await runCheck(t, check('container', { on: 'host0', name: '$(reboot)' }));
    expect(t.calls.some(([, c]) => c.includes('reboot'))).toBe(false);
  });
});

describe('command and file checks', () => {
  it('command: exit status and stdout regex', async () => {
    const t = fakeTarget(HOSTS, (_h, c) => (c === 'etcdctl get /a' ? { code: 0, stdout: 'x\nAzure\n' } : { code: 1, stderr: 'nope' }));
    expect(await runCheck(t, check('command', { on: 'host0', run: 'etcdctl get /a', stdout: '^Azure$' }))).toMatchObject([{ status: 'pass' }]);
    const r = await runCheck(t, check('command', { on: 'host0', run: 'false' }));
    expect(r[0]!.message).toBe('host0: command `false` gave exit 1 with output "nope", expected exit 0');
  });

  it('command: says when there was no output, and how much more output there was than shown', async () => {
    const t = fakeTarget(HOSTS, (_h, c) => (c === 'silent' ? { code: 0, stdout: '' } : { code: 0, stdout: '-N DOCKER\n-A DOCKER -p tcp --dport 9090\n-A X\n' }));
    const silent = await runCheck(t, check('command', { on: 'host0', run: 'silent', stdout: '^Exited' }));
    expect(silent[0]!.message).toBe('host0: command `silent` gave exit 0 and no output, expected exit 0 and output matching /^Exited/');
    const many = await runCheck(t, check('command', { on: 'host0', run: 'rules', stdout: 'dport 8080' }));
    expect(many[0]!.actual).toBe('exit 0 with output "-N DOCKER" (and 2 more lines)');
    const passed = await runCheck(t, check('command', { on: 'host0', run: 'rules', stdout: 'dport 9090' }));
    expect(passed[0]!.message).toBe('host0: command `rules` gave exit 0 and matching output');
  });

  it('file: exists, contains, absent; the path is quoted', async () => {
    const t = fakeTarget(HOSTS, (_h, c) => (c.includes("'/etc/x y'") ? { code: 0, stdout: 'hello world\n' } : { code: 3 }));
    expect(await runCheck(t, check('file', { on: 'host0', path: '/etc/x y', contains: 'world' }))).toMatchObject([{ status: 'pass' }]);
    expect(await runCheck(t, check('file', { on: 'host0', path: '/etc/x y', contains: 'moon' }))).toMatchObject([{ status: 'fail', actual: 'present, without "moon"' }]);
    expect(await runCheck(t, check('file', { on: 'host0', path: '/etc/z' }))).toMatchObject([{ status: 'fail', actual: 'absent' }]);
    expect(await runCheck(t, check('file', { on: 'host0', path: '/etc/z', absent: true }))).toMatchObject([{ status: 'pass' }]);
  });
});

describe('http check', () => {
  it('from a host: status and body via curl, the URL quoted', async () => {
    const t = fakeTarget(HOSTS, () => ({ code: 0, stdout: 'service running\n', stderr: '\n__labwright_status__:200' }));
    expect(await runCheck(t, check('http', { from: 'host0', url: 'http://host1:8080/', body: 'running' }))).toMatchObject([{ status: 'pass', host: 'host0' }]);
    expect(t.calls[0]![1]).toContain(`-- 'http://host1:8080/'`);
    expect(await runCheck(t, check('http', { from: 'host0', url: 'http://host1:8080/', status: 404 }))).toMatchObject([{ status: 'fail', actual: 'status 200' }]);
  });

  it('from the server: only loopback and the environment own hosts', () => {
    const t = fakeTarget(HOSTS, () => ({}));
    // A host by name or by address: through that host's SSH connection, to its address; the URL stays as written.
    expect(serverRoute('http://host1:8080/x', t)).toMatchObject({ host: 'host1', address: '10.213.0.3', port: 8080, url: { host: 'host1:8080' } });
    expect(serverRoute('http://10.213.0.4/', t)).toMatchObject({ host: 'host2', address: '10.213.0.4', port: 80 });
    expect(serverRoute('https://host0/', t)).toMatchObject({ host: 'host0', port: 443 });
    // Loopback: the server itself, directly.
    expect(serverRoute('http://127.0.0.1:9/', t)).toEqual({ url: new URL('http://127.0.0.1:9/'), address: '127.0.0.1', port: 9 });
    expect(serverRoute('http://[::1]:9/', t)).toMatchObject({ address: '::1', port: 9 });
    expect(serverRoute('http://10.213.0.99/', t)).toMatch(/only requests loopback/);
    expect(serverRoute('http://example.com/', t)).toMatch(/only requests loopback/);
    expect(serverRoute('http://user:pw@127.0.0.1/', t)).toMatch(/credentials/);
  });

  it('from the server: a refused URL is an error result', async () => {
    const t = fakeTarget(HOSTS, () => ({}));
    expect(await runCheck(t, check('http', { url: 'http://192.0.2.1/' }))).toMatchObject([{ status: 'error' }]);
  });
});

describe('overlay check', () => {
  const kv = new Map([
    ['/coreos.com/network/config', JSON.stringify({ Network: '10.2.0.0/16' })],
    ['/coreos.com/network/subnets/10.2.0.0-24', JSON.stringify({ PublicIP: '10.213.0.2' })],
    ['/coreos.com/network/subnets/10.2.1.0-24', JSON.stringify({ PublicIP: '10.213.0.3' })],
    ['/coreos.com/network/subnets/10.2.2.0-24', JSON.stringify({ PublicIP: '10.213.0.4' })],
  ]);
  const addr: Record<string, string> = { host0: '10.2.0.1', host1: '10.2.1.1', host2: '10.2.9.1' };
  it('passes hosts whose interface lies in their lease; names the one that does not', async () => {
    const t = fakeTarget(HOSTS, (h) => ({ stdout: `5: docker0    inet ${addr[h]}/24 brd 10.2.0.255 scope global docker0\n` }), kv);
    const r = await runCheck(t, check('overlay', { network: '10.2.0.0/16' }));
    expect(r.map((x) => x.status)).toEqual(['pass', 'pass', 'pass', 'fail']);
    expect(r[3]!.message).toMatch(/^host2: .*lease 10\.2\.2\.0\/24, but docker0 is 10\.2\.9\.1/);
  });
  it('fails without config and on overlapping leases', async () => {
    const kv2 = new Map(kv);
    kv2.delete('/coreos.com/network/config');
    kv2.set('/coreos.com/network/subnets/10.2.1.128-25', '{}');
    const t = fakeTarget(HOSTS, (h) => ({ stdout: `inet ${h === 'host2' ? '10.2.2.1' : addr[h]}/24` }), kv2);
    const r = await runCheck(t, check('overlay', { network: '10.2.0.0/16' }));
    expect(r[0]).toMatchObject({ status: 'fail', actual: 'absent' });
    expect(r[2]).toMatchObject({ status: 'fail', host: 'host1' });
    expect(r[2]!.actual).toMatch(/overlapping/);
  });
});

describe('runStepChecks', () => {
  it('runs all checks in parallel and passes only when all pass', async () => {
    const t = fakeTarget(HOSTS, () => 'hang', new Map([['/a', '1']]));
    const report = await runStepChecks(t, { index: 1, checks: [check('etcd', { key: '/a' }), check('unit', { name: 'x', on: 'host0', timeout: 150 }), check('unit', { name: 'y', on: 'host1', timeout: 150 })] });
    expect(report.step).toBe(1);
    expect(report.passed).toBe(false);
    expect(report.results.map((r) => r.status)).toEqual(['pass', 'error', 'error']);
    const ok = await runStepChecks(t, { index: 0, checks: [check('etcd', { key: '/a' })] });
    expect(ok.passed).toBe(true);
  });
});

describe('a check with a description', () => {
  const described = (kind: keyof typeof checkSchemas, raw: unknown, description: string): CheckSpec => ({ ...check(kind, raw), description });
  const rawText = (r: object): string => JSON.stringify(r);

  it('reports under its description, per host, without its shell command or regex', async () => {
    const t = fakeTarget(HOSTS, (h) => ({ code: h === 'host1' ? 1 : 0, stdout: h === 'host1' ? 'nope\n' : 'member ok\n' }));
    const c = described('command', { on: 'all', run: "etcdctl endpoint health | grep -q 'is healthy'", stdout: '^member (ok|fine)$' }, 'every etcd member is healthy');
    const r = await runCheck(t, c);
    expect(r.map((x) => [x.host, x.status])).toEqual([['host0', 'pass'], ['host1', 'fail'], ['host2', 'pass']]);
    for (const x of r) {
      expect(x).toMatchObject({ description: 'every etcd member is healthy', subject: 'every etcd member is healthy' });
      expect(rawText(x)).not.toContain('etcdctl');
      expect(rawText(x)).not.toContain('member (ok|fine)');
    }
    expect(r[1]).toMatchObject({ expected: 'exit 0 and output matching the expected pattern', actual: 'exit 1 with output "nope"' });
    expect(r[1]!.message).toBe('host1: exit 1 with output "nope", expected exit 0 and output matching the expected pattern');
  });

  it('hides an etcd regex in expected and in a timeout error', async () => {
    const t = fakeTarget(HOSTS, () => ({}), new Map([['/k', 'nope']]));
    const r = await runCheck(t, described('etcd', { key: '/k', matches: '^v[0-9]+$' }, 'the version key holds a version'));
    expect(r).toMatchObject([{ status: 'fail', subject: 'the version key holds a version', expected: 'matching the expected pattern' }]);
    expect(rawText(r)).not.toContain('v[0-9]');
    const hung = fakeTarget(HOSTS, () => 'hang');
    const e = await runCheck(hung, described('command', { on: 'host0', run: 'secret-shell --flag', timeout: 50 }, 'the service answers'));
    expect(e[0]).toMatchObject({ status: 'error', subject: 'the service answers' });
    expect(rawText(e)).not.toContain('secret-shell');
  });

  it('leaves a check without a description as it was', async () => {
    const t = fakeTarget(HOSTS, () => ({ code: 1 }));
    const r = await runCheck(t, check('command', { on: 'host0', run: 'test -f /tmp/x' }));
    expect(r[0]!.description).toBeUndefined();
    expect(r[0]!.message).toContain('command `test -f /tmp/x`');
  });
});
