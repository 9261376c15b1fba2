// `labwright test` end to end, as an author runs it: the real etcd lab passes on fresh hosts; a
// copy with one solve broken fails with a per-host expected-vs-actual message; a lab with lint
// errors is refused before any host is created.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..', '..');
const tmp = mkdtempSync(path.join(tmpdir(), 'labwright-tester-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function labwright(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(root, 'bin/labwright.mjs'), 'test', ...args], { cwd: root, encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('labwright test', () => {
  it('passes the etcd lab and reports every step', () => {
    const r = labwright('labs/etcd');
    expect(r.out).toMatch(/✓ PASS etcd: 7\/7 steps passed/);
    expect(r.out.match(/^ {2}✓ step \d+:/gm)).toHaveLength(7);
    expect(r.code).toBe(0);
  });

  it('fails a copy with a broken solve, naming the step and the expected vs actual value', () => {
    const dir = path.join(tmp, 'etcd-broken');
    cpSync(path.join(root, 'labs/etcd'), dir, { recursive: true });
    const file = path.join(dir, 'lab.md');
    const src = readFileSync(file, 'utf8');
    const broken = src.replace('```solve host0\netcdctl put /message Hello\n```', '```solve host0\netcdctl put /message Goodbye\n```');
    expect(broken).not.toBe(src);
    writeFileSync(file, broken);
    const r = labwright(dir);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/✗ step 2: Set a key on one host, read it on another/);
    expect(r.out).toContain('etcd key /message is "Goodbye", expected "Hello"');
    expect(r.out).toMatch(/- step 3: .*\(not run\)/);
    expect(r.out).toMatch(/✗ FAIL etcd-broken: 1\/7 steps passed/);
  });

  it('fails a solve that exits non-zero, with the host and line', () => {
    const dir = path.join(tmp, 'etcd-exit');
    cpSync(path.join(root, 'labs/etcd'), dir, { recursive: true });
    const file = path.join(dir, 'lab.md');
    writeFileSync(file, readFileSync(file, 'utf8').replace('```solve host0\netcdctl put /message Hello\n```', '```solve host0\nfalse\netcdctl put /message Hello\n```'));
    const r = labwright(dir);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/solve on host0 \(line \d+\) failed: exit 1/);
  });

  it('refuses a lab with lint errors and prints them, without creating hosts', () => {
    const dir = path.join(tmp, 'bad');
    cpSync(path.join(root, 'labs/etcd'), dir, { recursive: true });
    const file = path.join(dir, 'lab.md');
    writeFileSync(file, readFileSync(file, 'utf8').replace('etcd: { key: /message, equals: Hello }', 'etcd: { key: /message, equalz: Hello }'));
    const r = labwright(dir);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/lint errors, not tested/);
    expect(r.out).toMatch(/lab\.md:\d+: error:/);
    expect(r.out).not.toMatch(/provisioning/);
  });
});
