// `labwright test --junit` on real hosts, as a lab repository's CI runs it: two labs scaffolded by
// `labwright new` in a folder outside this repository (one with its solve broken), tested from
// there; the XML names each step, and the failure says file:line and what host0 had.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canRunHosts } from '../../provisioning/testing/host-test-support.ts';

const BIN = path.resolve(import.meta.dirname, '..', '..', 'bin', 'labwright.mjs');
const tmp = mkdtempSync(path.join(tmpdir(), 'labwright-junit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function labwright(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: tmp, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe.skipIf(!canRunHosts)('labwright test --junit on scaffolded labs outside the repository', () => {
  it('tests two labs at once (--jobs 2), writes one suite per lab and one testcase per step, with the failing step, its file:line and the per-host message', { timeout: 600_000 }, () => {
    expect(labwright('new', 'demo', '--dir', 'labs').code).toBe(0);
    expect(labwright('new', 'demo-broken', '--dir', 'labs').code).toBe(0);
    const broken = path.join(tmp, 'labs', 'demo-broken', 'lab.md');
    const src = readFileSync(broken, 'utf8');
    const edited = src.replace(/```solve host0\necho "hello from demo-broken"/, '```solve host0\necho "goodbye"');
    expect(edited).not.toBe(src);
    writeFileSync(broken, edited);

    // Both labs at once (--jobs 2): each lab's report stays in one piece, and a summary ends the run.
    const r = labwright('test', 'labs', '--junit', 'out/report.xml', '--jobs', '2');
    expect(r.code, r.out).toBe(1);
    const blocks = r.out.split(/\n\s*\n/);
    const demoBlock = blocks.find((b) => b.includes('✓ PASS demo:'));
    const brokenBlock = blocks.find((b) => b.includes('✗ FAIL demo-broken:'));
    expect(demoBlock, r.out).toContain('(labs/demo/lab.md)');
    expect(demoBlock).not.toContain('demo-broken');
    expect(brokenBlock, r.out).toContain('(labs/demo-broken/lab.md)');
    expect(brokenBlock).toContain('checks still fail after the solution ran');
    expect(r.out).toMatch(/✗ 1 of 2 labs passed; failed: demo-broken in [\d.]+ m?s \(2 at a time\)/);
    const xml = readFileSync(path.join(tmp, 'out', 'report.xml'), 'utf8');
    expect(xml).toContain('<testsuites name="labwright test" tests="6" failures="1" errors="0"');
    expect(xml).toMatch(/<testsuite name="demo" tests="3" failures="0" errors="0" skipped="0" time="[\d.]+" file="labs\/demo\/lab.md">/);
    expect(xml).toMatch(/<testcase name="lint" classname="demo" time="0.000" file="labs\/demo\/lab.md"\/>/);
    expect(xml).toMatch(/<testcase name="provision hosts" classname="demo" time="[\d.]+" file="labs\/demo\/lab.md"\/>/);
    expect(xml).toMatch(/<testcase name="Leave a note on host0" classname="demo" time="[\d.]+" file="labs\/demo\/lab.md" line="11"\/>/);
    expect(xml).toMatch(/<testsuite name="demo-broken" tests="3" failures="1" /);
    const failure = /<testcase name="Leave a note on host0" classname="demo-broken"[^>]*line="11">\s*<failure message="([^"]*)" type="failure">([^<]*)<\/failure>/.exec(xml);
    expect(failure, xml).not.toBeNull();
    expect(failure![1]).toContain('labs/demo-broken/lab.md:11: checks still fail after the solution ran');
    expect(failure![2]).toContain('failed: host0 has a note that says hello: host0: ');
    // The described check's failure shows its description and the facts, not its raw command.
    expect(failure![2]).not.toContain('wc -l');
  });
});
