// `labwright lint` as users run it: a real process on real fixture folders; one line per problem
// with file:line, a non-zero exit on errors, never a stack trace.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLabFile } from '../labs/lint-lab.ts';

const ROOT = join(import.meta.dirname, '..', '..');

function lint(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/labwright.mjs', 'lint', ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr, lines: r.stdout.split('\n').filter((l) => l !== '') };
}

describe('labwright lint', () => {
  it('prints one file:line line per problem of a folder of broken labs and exits 1', async () => {
    const dir = 'server/labs/fixtures/broken-labs';
    const { code, lines, out, err } = lint(dir);
    expect(code).toBe(1);
    const expected = (await loadLabFile(join(dir, 'broken-demo', 'lab.md'))).problems;
    expect(lines.slice(0, -1)).toEqual(expected.map((p) => `${p.file}:${p.line}: ${p.severity}: ${p.message}`));
    expect(lines.at(-1)).toBe('1 lab file checked: 5 errors, 1 warning (1 broken)');
    expect(out + err).not.toMatch(/\n\s+at /);
  });

  it('lints every broken fixture, each problem with its file and line', () => {
    const { code, lines } = lint('server/labs/fixtures/broken');
    expect(code).toBe(1);
    const problems = lines.slice(0, -1);
    expect(problems.length).toBeGreaterThanOrEqual(29);
    for (const line of problems) expect(line).toMatch(/^server\/labs\/fixtures\/broken\/[a-z-]+\/lab\.md:\d+: (error|warning): \S/);
  });

  it('passes the labs in labs/ (the default path): warnings print but exit 0', () => {
    const { code, lines } = lint();
    expect(code).toBe(0);
    expect(lines.at(-1)).toMatch(/lab files? checked: 0 errors, \d+ warnings?$/);
    for (const line of lines.slice(0, -1)) expect(line).toMatch(/^labs\/[a-z0-9-]+\/lab\.md:\d+: warning: /);
  });

  it('reports a missing path in one line, without a stack trace', () => {
    const { code, out, err } = lint('no/such/path');
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err.trim()).toBe('labwright lint: no such file or folder: no/such/path');
  });
});
