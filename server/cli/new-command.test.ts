// `labwright new` and `labwright lint` as an author in their own lab repository runs them: a real
// process, started from a folder outside this repository.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'labwright.mjs');
const tmp = mkdtempSync(join(tmpdir(), 'labwright-new-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function labwright(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('labwright new, then lint from another folder', () => {
  it('scaffolds a lab that lints clean by relative and absolute path, from elsewhere', () => {
    const made = labwright(tmp, 'new', 'demo', '--dir', 'repo/labs');
    expect(made).toMatchObject({ code: 0, err: '' });
    expect(made.out).toContain('Created repo/labs/demo/lab.md');
    const file = join(tmp, 'repo', 'labs', 'demo', 'lab.md');
    expect(readFileSync(file, 'utf8')).toContain('- description: host0 has a note that says hello');
    for (const [cwd, target] of [
      [join(tmp, 'repo'), 'labs'],
      [join(tmp, 'repo'), 'labs/demo'],
      [join(tmp, 'repo', 'labs', 'demo'), 'lab.md'],
      [join(tmp, 'repo', 'labs', 'demo'), undefined],
      ['/', file],
    ] as const) {
      const r = labwright(cwd, 'lint', ...(target === undefined ? [] : [target]));
      expect(r, `${cwd} ${target}`).toMatchObject({ code: 0, err: '' });
      expect(r.out.trim()).toBe('1 lab file checked: 0 errors, 0 warnings');
    }
  });

  it('refuses a bad id and an existing folder, changing nothing', () => {
    const bad = labwright(tmp, 'new', 'My_Lab');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('"My_Lab" is not a lab id');
    const again = labwright(tmp, 'new', 'demo', '--dir', join(tmp, 'repo', 'labs'));
    expect(again.code).toBe(2);
    expect(again.err.trim()).toBe(`labwright new: ${join(tmp, 'repo', 'labs', 'demo')} already exists; choose another id or remove it (nothing was changed)`);
  });
});
