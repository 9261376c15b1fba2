// The linear-time regex engine behind lab regexes (common/linear-regex.ts): flags map as the checks
// used them with RegExp, what RE2 cannot run is refused with a reason, pathological patterns stay
// linear, and every regex of the shipped labs decides a corpus of outputs exactly as RegExp did.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileLinearRegex, linearRegex } from '../../common/linear-regex.ts';
import { loadLabFile } from '../labs/lint-lab.ts';

const LABS = join(import.meta.dirname, '..', '..', 'labs');

describe('linear regex', () => {
  it('maps the flags the checks used: multiline for stdout and body, none for etcd matches', () => {
    expect(linearRegex('^1$', { multiline: true }).test('x\n1\n')).toBe(true);
    expect(linearRegex('^1$').test('x\n1\n')).toBe(false);
    expect(linearRegex('^1$').test('1')).toBe(true);
    expect(linearRegex('pong', { ignoreCase: true }).test('PONG')).toBe(true);
    expect(linearRegex('(?i)pong').test('PONG')).toBe(true);
    expect(linearRegex('pong').test('PONG')).toBe(false);
  });

  it('ends lines where JavaScript does: a CRLF answer still matches ^1$, and . stops at \\r', () => {
    expect(linearRegex('^1$', { multiline: true }).test('x\r\n1\r\n')).toBe(true);
    expect(linearRegex('^a.b$', { multiline: true }).test('a\rb')).toBe(false);
    expect(linearRegex('a\\r\\n').test('a\r\n')).toBe(true);
  });

  it('refuses what cannot run in linear time, saying what is wrong', () => {
    expect(compileLinearRegex('^(?!error)')).toEqual({ ok: false, error: 'invalid or unsupported Perl syntax: `(?!`' });
    expect(compileLinearRegex('(a)\\1')).toEqual({ ok: false, error: 'invalid escape sequence: `\\1`' });
    expect(compileLinearRegex('(?<=a)b').ok).toBe(false);
    expect(compileLinearRegex('a(b').ok).toBe(false);
    expect(() => linearRegex('(?=x)')).toThrow(/linear-time engine/);
  });

  it('decides patterns that are catastrophic for a backtracking engine, over long text', () => {
    // With RegExp each of these takes longer than the age of the universe on this input.
    const as = `${'a'.repeat(200_000)}!`;
    expect(linearRegex('(a+)+$').test(as)).toBe(false);
    expect(linearRegex('^(a|aa)+$', { multiline: true }).test(as)).toBe(false);
    expect(linearRegex('(x+x+)+y').test('x'.repeat(200_000))).toBe(false);
    expect(linearRegex('(x+x+)+y').test(`${'x'.repeat(200_000)}y`)).toBe(true);
  });
});

/** Outputs like those the shipped labs' checks see, plus near misses and line-ending variants. */
const CORPUS = [
  '{"host0:5000":{"Name":"host0:5000","Secure":false}}\n',
  '{"name":"app","tags":["1-main","2-main"]}\n',
  '4f3c2a1b\trefs/heads/main\n',
  'app build 1-main on host2\n',
  'app build 2-main on host0\n',
  '{ "Network": "10.2.0.0/16", "Backend": { "Type": "vxlan" } }',
  '{"Network":"10.20.0.0/16"}',
  '10.2.35.2',
  '10.2.35.2\n',
  '10.3.1.1',
  'overlay-ok\n',
  'PONG\n',
  'Server:\t\t127.0.0.1\nAddress:\t127.0.0.1:53\n\nName:\tdb.lab\nAddress: 10.2.17.3\n',
  '<p>visit number 12</p>',
  'sha256:8d3c4e\n',
  'v18.19.0\n',
  'simpleapp on host1: running for 1234 ms\n',
  'simpleapp on host0',
  'simpleapp on host2',
  '2\n',
  '3\n',
  '1\n',
  '7\n',
  '10\n',
  '4\n',
  '1\r\n',
  'x\r\n1\r\n',
  'Exited (0) 3 seconds ago\n',
  'Up 3 seconds\n',
  'Hello from a container\n',
  '-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80\n',
  'C /etc\nA /etc/lab-was-here\n',
  'It is 12:00:01 in container 3f2a\n',
  'mysqld is alive\n',
  '/foo-service/container4',
  'Coffee\n',
  'web-08-on-host3\n',
  'web-3-on-host2',
  'web-10-on-host3',
  '{"repositories":["hello"]}',
  '{"name":"hello","tags":["latest"]}',
  'hello from host2 (instance 2)\n',
  'hello from host1\n',
  '',
  'error\r\n',
  'HOST0:5000',
  'ü10.2.0.1',
  "/workshop/members holds this cluster's member list\n",
  '4711 etcdctl watch /message\n',
  '4711 etcdctl watch --rev 12 --prefix /foo-service/\n',
  '4711 etcdctl watch --rev 12 --prefix /foo-service/ -- sh -c etcdctl put /last-change "$ETCD_WATCH_KEY was set"\n',
  '/last-change was written for the change at revision 42\n',
  // Outputs of the audited labs' checks (coreos, docker-app, docker-basics, cd-deploy, the fleet labs).
  "/lab/initial-cluster holds the static member list\n",
  "Docker allocates from 10.2.17.0/24, this host's lease\n",
  "/lab/echo is the address of host1's echo container\n",
  "/dns/db.lab is the address of the db container\n",
  "db.lab resolves to the address in /dns/db.lab\n",
  "a name just put into etcd was answered\n",
  "a request to host1 was counted by the database on host0\n",
  "the web container finds db.lab\n",
  "host0 and host1 each held the reboot lock\n",
  "lab/base adds a layer to debian:bookworm and takes packages from the host's mirror\n",
  "lab/node adds layers to lab/base\n",
  "simpleapp runs lab/simpleapp, built on lab/node, and logs its requests\n",
  "lab/simpleapp is the image host0 shares (sha256:8d3c4e)\n",
  "systemd restarted simpleapp@3 after it died (1 time(s))\n",
  "simpleapp is exited, exit code 0\n",
  "simpleapp@2 is inactive\n",
  "answered=9/9 from=on host0 on host2 \n",
  "webapp adds layers to busybox, and its CGI script ran in container 3f2a\n",
  "lab/mariadb adds layers to debian:bookworm\n",
  "shop was loaded by user lab from another container (lab@172.17.0.3)\n",
  "first: tty=true stdin=true exited (0)\n",
  "TAG=1-main\n",
  "create app (1-main) on host0\n",
  "app build 1-main on host0\n",
  "app build 1-main on host1\n",
  "app updated to 2-main and healthy on host1\n",
  "app 3-main failed its health check: rollout stopped\n",
  "Revert \"app 3-main\"\n",
  "cd-app.service was changed by hand; put back\n",
  "same\n",
  "remove app.service\n",
  "5 units installed from etcd\n",
  "on-host0,on-host1,on-host2,on-host3\n",
  "true\n",
  "7 in the pool, web-06 out\n",
  "0 failed\n",
  "web v1 on host0\n",
  "web v1 on host1\n",
  "web v1 on host2\n",
  "completed 1\n",
  "web v2 on host0\n",
  "web v2 on host1\n",
  "web v2 on host2\n",
  "hello from host1 (instance 1)\n",
  "from host1,from host2\n",
  "      4 hello from host2 (instance 2)\n",
];

async function shippedRegexes(): Promise<{ where: string; source: string; multiline: boolean }[]> {
  const found: { where: string; source: string; multiline: boolean }[] = [];
  for (const id of readdirSync(LABS)) {
    const load = await loadLabFile(join(LABS, id, 'lab.md'));
    if (!load.ok) throw new Error(`${id} does not lint`);
    for (const step of load.lab.steps) {
      for (const c of step.checks) {
        const where = `${id}/lab.md:${c.line}`;
        if (c.kind === 'etcd' && c.spec.matches !== undefined) found.push({ where, source: c.spec.matches, multiline: false });
        if (c.kind === 'command' && c.spec.stdout !== undefined) found.push({ where, source: c.spec.stdout, multiline: true });
        if (c.kind === 'http' && c.spec.body !== undefined) found.push({ where, source: c.spec.body, multiline: true });
      }
    }
  }
  return found;
}

describe('the shipped labs under the linear engine', () => {
  it('every lab regex decides every corpus output as RegExp did, and matches at least one of them', async () => {
    const regexes = await shippedRegexes();
    expect(regexes.length).toBeGreaterThan(30);
    const differences: string[] = [];
    const unmatched: string[] = [];
    for (const r of regexes) {
      // RE2's whole-text anchors \A and \z (labs may use them; JavaScript has no such escapes) written as JavaScript lookarounds.
      const before = new RegExp(r.source.replace(/\\A/g, '(?<![\\s\\S])').replace(/\\z/g, '(?![\\s\\S])'), r.multiline ? 'm' : '');
      const now = linearRegex(r.source, { multiline: r.multiline });
      let matched = false;
      for (const text of CORPUS) {
        const expected = before.test(text);
        matched ||= expected;
        if (now.test(text) !== expected) differences.push(`${r.where} /${r.source}/ on ${JSON.stringify(text)}: RegExp ${expected}`);
      }
      if (!matched) unmatched.push(`${r.where} /${r.source}/`);
    }
    expect(differences).toEqual([]);
    expect(unmatched).toEqual([]);
  });
});
