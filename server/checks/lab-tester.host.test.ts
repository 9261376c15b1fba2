// `labwright test` end to end, as an author runs it: the real etcd lab passes on fresh hosts; a
// copy with one solve broken fails with a per-host expected-vs-actual message; a lab with lint
// errors is refused before any host is created; a step's setup runs before its checks must fail.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

// Each test runs `labwright test` as a child (it boots its own hosts, twice for the walks): minutes on a loaded machine.
describe('labwright test', { timeout: 240_000 }, () => {
  it('passes the etcd lab and reports every step', () => {
    const r = labwright('labs/etcd');
    expect(r.out).toMatch(/✓ PASS etcd: 8\/8 steps passed/);
    expect(r.out.match(/^ {2}✓ step \d+:/gm)).toHaveLength(8);
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
    expect(r.out).toMatch(/✗ FAIL etcd-broken: 1\/8 steps passed/);
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

// A one-host lab whose run blocks need what an attendee does without thinking: type into a
// program that waits for input, quit a pager before the next command, and Ctrl-C a command that
// runs until stopped before going on.
const WALK_LAB = `---
title: Walk
hosts: [host0]
services: { etcd: none, docker: false }
---
## Answer a program that asks

\`\`\`run host0
sh -c 'echo "your name?"; read name; echo "got $name" > /tmp/got'
\`\`\`

\`\`\`run host0
hello
\`\`\`

\`\`\`check
file: { on: host0, path: /tmp/got, contains: got hello }
\`\`\`

\`\`\`solve host0
echo "got hello" > /tmp/got
\`\`\`

## Page through, then go on

\`\`\`run host0
seq 1 500 | less
\`\`\`

\`\`\`run host0
echo paged > /tmp/paged
\`\`\`

\`\`\`check
file: { on: host0, path: /tmp/paged, contains: paged }
\`\`\`

\`\`\`solve host0
echo paged > /tmp/paged
\`\`\`

## Start something that runs until stopped

\`\`\`run host0
touch /tmp/started; sleep 1000
\`\`\`

\`\`\`check
file: { on: host0, path: /tmp/started }
\`\`\`

\`\`\`solve host0
touch /tmp/started
\`\`\`

## The shell is back after Ctrl-C

\`\`\`run host0
echo back > /tmp/back
\`\`\`

\`\`\`check
file: { on: host0, path: /tmp/back, contains: back }
\`\`\`

\`\`\`solve host0
echo back > /tmp/back
\`\`\`
`;

describe('labwright test --as-attendee', { timeout: 240_000 }, () => {
  it('types the run blocks into the terminals and every step unlocks', () => {
    const dir = path.join(tmp, 'walk');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'lab.md'), WALK_LAB);
    const r = labwright('--as-attendee', dir);
    expect(r.out).toMatch(/as an attendee, typing the run blocks/);
    expect(r.out).toMatch(/✓ PASS walk: 4\/4 steps passed/);
    expect(r.code).toBe(0);
  });

  it('fails a step whose run blocks do not do what its checks ask, though its solve does', () => {
    const dir = path.join(tmp, 'walk-broken');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'lab.md'), WALK_LAB.replace('echo paged > /tmp/paged\n```\n\n```check', 'echo paged > /tmp/pagd\n```\n\n```check'));
    expect(labwright(dir).code).toBe(0);
    const r = labwright('--as-attendee', dir);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/✗ step 2: Page through, then go on/);
    expect(r.out).toMatch(/host0: .*\/tmp\/paged.* absent/);
  });
});

// Step 1's check passes on a fresh host: only its setup (which breaks something) makes it fail
// before the solution, as `labwright test` requires. Step 2's setup fails.
const SETUP_LAB = `---
title: Setup first
hosts: [host0]
services: { etcd: none, docker: false }
---
## Repair what setup broke

\`\`\`setup host0
echo broken > /tmp/broken
\`\`\`

\`\`\`run host0
rm /tmp/broken
\`\`\`

\`\`\`check
file: { on: host0, path: /tmp/broken, absent: true }
\`\`\`

\`\`\`solve host0
rm /tmp/broken
\`\`\`

## A step whose setup fails

\`\`\`setup host0
echo "cannot prepare this" >&2
exit 4
\`\`\`

\`\`\`check
file: { on: host0, path: /tmp/never }
\`\`\`

\`\`\`solve host0
touch /tmp/never
\`\`\`
`;

describe('labwright test with setup blocks', { timeout: 240_000 }, () => {
  it('runs a step\'s setup before its checks must fail, and reports a failing setup with file:line and host', () => {
    const dir = path.join(tmp, 'setup-first');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'lab.md'), SETUP_LAB);
    for (const mode of [[], ['--as-attendee']]) {
      const r = labwright(...mode, dir);
      expect(r.out).toMatch(/✓ step 1: Repair what setup broke/);
      expect(r.out).toMatch(/✗ step 2: A step whose setup fails/);
      expect(r.out).toMatch(/setup block at \S*lab\.md:26 failed on host0: exit 4: cannot prepare this/);
      expect(r.out).toMatch(/✗ FAIL setup-first: 1\/2 steps passed/);
      expect(r.code).toBe(1);
    }
  });

  it('without its setup the same step fails: its checks already pass before the solution', () => {
    const dir = path.join(tmp, 'setup-removed');
    mkdirSync(dir);
    const lab = SETUP_LAB.split('## A step whose setup fails')[0]!.replace('```setup host0\necho broken > /tmp/broken\n```\n\n', '');
    expect(lab).not.toContain('```setup');
    writeFileSync(path.join(dir, 'lab.md'), lab);
    const r = labwright(dir);
    expect(r.out).toMatch(/checks already pass before the solution ran/);
    expect(r.code).toBe(1);
  });
});
