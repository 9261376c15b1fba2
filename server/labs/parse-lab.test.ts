// Golden tests of the lab parser (fixtures/golden/<name>.md → <name>.json) and the parser rules
// attendees rely on: raw HTML never rendered, unsafe links dropped, stable run ids, source lines.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toLabView } from '../../common/lab.ts';
import { parseLab } from './parse-lab.ts';

const GOLDEN = join(import.meta.dirname, 'fixtures', 'golden');

/** UPDATE_GOLDEN=1 rewrites the expected files instead of comparing (review the diff before committing). */
function updateGolden(): boolean {
  return process.env.UPDATE_GOLDEN === '1';
}

const parse = (source: string) => parseLab(source, { id: 'x', file: 'x/lab.md' });

describe('golden labs', () => {
  const names = readdirSync(GOLDEN).filter((f) => f.endsWith('.md')).map((f) => f.slice(0, -3));
  it('has fixtures', () => expect(names.length).toBeGreaterThan(0));
  for (const name of names) {
    it(`${name}.md parses to ${name}.json`, () => {
      const parsed = parseLab(readFileSync(join(GOLDEN, `${name}.md`), 'utf8'), { id: name, file: `golden/${name}.md` });
      const actual = `${JSON.stringify(parsed, null, 2)}\n`;
      const expectedFile = join(GOLDEN, `${name}.json`);
      if (updateGolden()) writeFileSync(expectedFile, actual);
      expect(actual).toBe(readFileSync(expectedFile, 'utf8'));
    });
  }
});

describe('parseLab', () => {
  const lab = (body: string, front = 'title: T\nhosts: [host0, host1]') => parse(`---\n${front}\n---\n${body}`);

  it('never renders raw HTML from the lab text', () => {
    const { lab: l } = lab('<script>alert(1)</script>\n\n## S\n\n<img src=x onerror=alert(1)>\n\n```hint\n<b>x</b>\n```\n');
    const html = JSON.stringify(l);
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>');
    expect(html).toContain('&lt;script&gt;');
  });

  it('reads front matter `reset:` onto the lab, never into what browsers get; a reset that is not a script is an error on its line', () => {
    const { lab: l, problems } = lab('## S\n\ntext\n', 'title: T\nreset: |\n  systemctl stop nginx\n  etcdctl del --prefix /app');
    expect(problems).toEqual([]);
    expect(l.reset).toBe('systemctl stop nginx\netcdctl del --prefix /app\n');
    expect(JSON.stringify(toLabView(l))).not.toContain('etcdctl');
    expect(lab('## S\n\ntext\n', 'title: T\nreset: [1]').problems).toEqual([
      expect.objectContaining({ line: 3, severity: 'error', message: expect.stringContaining('`reset` must be a shell script') as string }),
    ]);
  });

  it('reads front matter `vm: true` (hosts as virtual machines); anything but a boolean is an error on its line', () => {
    const { lab: l, problems } = lab('## S\n\ntext\n', 'title: T\nvm: true');
    expect(problems).toEqual([]);
    expect(l.meta.vm).toBe(true);
    expect(lab('## S\n\ntext\n', 'title: T\nvm: false').lab.meta.vm).toBeUndefined();
    expect(lab('## S\n\ntext\n', 'title: T\nvm: yes please').problems).toEqual([
      expect.objectContaining({ line: 3, severity: 'error', message: expect.stringContaining('`vm` must be true or false') as string }),
    ]);
  });

  it('drops links with unsafe schemes and opens web links in a new tab', () => {
    const { lab: l } = lab('[a](javascript:alert(1)) [b](data:text/html,x) [c](https://etcd.io/) [d](./next)\n\n## S\n\ntext\n');
    const [intro] = l.intro;
    expect(intro?.kind).toBe('html');
    const html = intro?.kind === 'html' ? intro.html : '';
    expect(html).not.toContain('href="javascript:');
    expect(html).not.toContain('href="data:');
    expect(html).toContain('<a href="https://etcd.io/" target="_blank" rel="noopener noreferrer">c</a>');
    expect(html).toContain('<a href="./next">d</a>');
  });

  it('gives run blocks stable ids by step and position, and keeps their code exact', () => {
    const { lab: l, problems } = lab('## One\n\n```run host0\na\n```\n\n```run host1\nb  \nc\n```\n\n## Two\n\n```run host1\nd\n```\n');
    expect(problems.filter((p) => p.severity === 'error')).toEqual([]);
    const runs = l.steps.flatMap((s) => s.parts.filter((p) => p.kind === 'run'));
    expect(runs).toEqual([
      { kind: 'run', id: 's1-r1', host: 'host0', code: 'a' },
      { kind: 'run', id: 's1-r2', host: 'host1', code: 'b  \nc' },
      { kind: 'run', id: 's2-r1', host: 'host1', code: 'd' },
    ]);
  });

  it('records 1-based file lines of steps, checks and solves', () => {
    // Line 1-4: front matter; 5: "## S"; 7-12: a check block with two checks; 14-16: solve.
    const { lab: l } = lab('## S\n\n```check\n- etcd: { key: /a }\n- unit:\n    name: x\n    on: all\n```\n\n```solve host1\nput\n```\n');
    const [step] = l.steps;
    expect(step?.line).toBe(5);
    expect(step?.checks.map((c) => c.line)).toEqual([8, 9]);
    expect(step?.solves).toEqual([{ host: 'host1', code: 'put', line: 14 }]);
  });

  it('collects a step\'s setup blocks in order, with host and line, apart from its content', () => {
    // Lines 1-4: front matter; 5: "## S"; 7-9: setup host1; 11: text; 13-16: setup host0.
    const { lab: l, problems } = lab('## S\n\n```setup host1\nsystemctl stop etcd\n```\n\nFind out why etcd is down.\n\n```setup host0\na\nb\n```\n\n## T\n\ntext\n');
    expect(problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(l.steps[0]?.setups).toEqual([
      { host: 'host1', code: 'systemctl stop etcd', line: 7 },
      { host: 'host0', code: 'a\nb', line: 13 },
    ]);
    expect(l.steps[0]?.parts).toEqual([{ kind: 'html', html: '<p>Find out why etcd is down.</p>\n' }]);
    expect(l.steps[1]?.setups).toEqual([]);
  });

  it('fills defaults for optional front matter and parses durations', () => {
    expect(lab('## S\n\ntext\n', 'title: T').lab.meta).toEqual({
      title: 'T',
      summary: '',
      hosts: ['host0'],
      services: { etcd: 'none', docker: false },
      durationMinutes: null,
      gate: 'hard',
      allowSkip: false,
    });
    expect(lab('## S\n\ntext\n', 'title: T\nduration: 1h30m').lab.meta.durationMinutes).toBe(90);
    expect(lab('## S\n\ntext\n', 'title: T\nduration: 45m').lab.meta.durationMinutes).toBe(45);
    expect(lab('## S\n\ntext\n', 'title: T\nduration: 2h').lab.meta.durationMinutes).toBe(120);
  });

  it('applies check defaults from the shared schema (what the check engine receives)', () => {
    const { lab: l } = lab('## S\n\n```check\nunit: { name: a.service, on: host0 }\n```\n\n```solve host0\nx\n```\n');
    expect(l.steps[0]?.checks[0]?.spec).toEqual({ name: 'a.service', on: 'host0', state: 'active' });
  });

  it('accepts CRLF line endings and a byte-order mark', () => {
    const { lab: l, problems } = parse('\uFEFF---\r\ntitle: T\r\n---\r\n## S\r\n\r\n```run host0\r\nls\r\n```\r\n');
    expect(problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(l.steps[0]?.parts).toEqual([{ kind: 'run', id: 's1-r1', host: 'host0', code: 'ls' }]);
  });

  it('keeps checks, solutions and setup out of the view sent to browsers', () => {
    const { lab: l } = lab('## S\n\n```setup host1\necho setup-text\n```\n\n```check\netcd: { key: /secret-key }\n```\n\n```solve host0\necho solution-text\n```\n', 'title: T\nskip: true');
    const view = JSON.stringify(toLabView(l));
    expect(l.steps[0]?.setups).toHaveLength(1);
    expect(view).not.toContain('secret-key');
    expect(view).not.toContain('solution-text');
    expect(view).not.toContain('setup-text');
    expect(toLabView(l).steps[0]).toMatchObject({ checkCount: 1, canSkip: true });
  });
});
