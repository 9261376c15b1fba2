// One test per lint rule (fixtures/broken/<rule>/lab.md holds exactly that mistake), the real
// labs/ passing lint, and a fuzz test: lint never throws, whatever bytes it is given.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LintProblem } from '../../common/lab.ts';
import { loadLab, loadLabFile } from './lint-lab.ts';
import { parseLab } from './parse-lab.ts';

const BROKEN = join(import.meta.dirname, 'fixtures', 'broken');
const LABS = join(import.meta.dirname, '..', '..', 'labs');

/** rule → the single problem its fixture must produce: [line, severity, text the message contains]. */
const EXPECTED: Record<string, [number, LintProblem['severity'], string]> = {
  'no-front-matter': [1, 'error', 'missing front matter'],
  'unclosed-front-matter': [1, 'error', 'never closed'],
  'invalid-front-matter-yaml': [3, 'error', 'front matter is not valid YAML'],
  'missing-title': [1, 'error', 'missing title'],
  'unknown-front-matter-field': [3, 'error', 'unknown front matter field `author`; expected one of title, summary, hosts'],
  'bad-host-name': [3, 'error', 'invalid host name "Host_1"'],
  'duplicate-host': [3, 'error', 'host "host1" is listed twice'],
  'no-hosts': [3, 'error', '`hosts` is empty'],
  'too-many-hosts': [3, 'error', 'lists 17 hosts; a lab may have at most 16'],
  'unknown-service': [3, 'error', 'unknown service `redis`; known services: etcd, docker'],
  'bad-duration': [3, 'error', '`duration` must look like 20m'],
  'bad-gate': [3, 'error', '`gate` must be `hard`'],
  'near-miss-block': [15, 'error', 'unknown block kind `chek`: did you mean `check`?'],
  'run-without-host': [11, 'error', 'a `run` block names exactly one host'],
  'run-undeclared-host': [11, 'error', 'run block names host "host3", but the lab declares host0, host1'],
  'solve-undeclared-host': [19, 'error', 'solve block names host "host2", but the lab declares host0, host1'],
  'invalid-check-yaml': [17, 'error', 'check block is not valid YAML'],
  'unknown-check-kind': [16, 'error', 'unknown check kind `etcdkey`; expected one of etcd, overlay, unit'],
  'unknown-check-field': [18, 'error', 'etcd check: unknown field `colour`'],
  'ill-typed-check-field': [17, 'error', 'command check: field `run` must be a string, got boolean true'],
  'missing-check-field': [16, 'error', 'unit check: missing required field `name`'],
  'bad-regex': [18, 'error', 'field `matches` is not a valid regular expression (RE2 syntax: no lookahead, lookbehind or backreferences): missing closing ): `a(b`'],
  // Valid JavaScript, but lookahead and backreferences can take exponential time: RE2 refuses them.
  'regex-not-linear': [19, 'error', 'field `stdout` is not a valid regular expression (RE2 syntax: no lookahead, lookbehind or backreferences): invalid or unsupported Perl syntax: `(?!`'],
  'check-undeclared-host': [16, 'error', 'file check names host "host5" in `on`, but the lab declares host0, host1'],
  'check-too-many-hosts': [16, 'error', '`on: 3` asks for exactly 3 hosts, but the lab declares only 2'],
  'setup-undeclared-host': [11, 'error', 'setup block names host "host3", but the lab declares host0, host1'],
  'setup-empty': [11, 'error', 'empty `setup` block: expected the commands to run on host1'],
  'setup-outside-step': [7, 'error', 'a `setup` block before the first step'],
  'solve-without-check': [7, 'error', 'has a solve block but no check'],
  'check-without-solve': [7, 'warning', 'has a check but no solve block'],
  'command-check-without-description': [16, 'warning', 'command check has no `description`: attendees would see its shell command'],
  'regex-check-without-description': [14, 'warning', 'etcd check has no `description`: attendees would see its regex (`matches`)'],
  'empty-check-description': [14, 'error', 'check `description` is empty'],
  'check-description-without-kind': [14, 'error', 'a check with a `description` also needs its kind'],
  'duplicate-step-title': [23, 'error', 'duplicate step title "Step One": step 1 (line 7)'],
  'duplicate-step-id': [23, 'error', 'duplicate step id "etcd": step 1 (line 7) has the same id'],
  'invalid-step-id': [7, 'error', 'invalid step id `{#Step_One}`: a step id is 1 to 64 lower-case letters, digits and dashes'],
  'empty-step': [23, 'error', 'step 2 "Step two" is empty'],
  'no-steps': [4, 'error', 'the lab has no steps'],
};

describe('lint rules', () => {
  it('has a fixture for every rule and a rule for every fixture', () => {
    expect(readdirSync(BROKEN).sort()).toEqual(Object.keys(EXPECTED).sort());
  });
  for (const [rule, [line, severity, text]] of Object.entries(EXPECTED)) {
    it(`${rule}: reports exactly that problem, with its line`, async () => {
      const file = join(BROKEN, rule, 'lab.md');
      const load = await loadLabFile(file);
      expect(load.problems).toHaveLength(1);
      expect(load.problems[0]).toMatchObject({ file, line, severity });
      expect(load.problems[0]?.message).toContain(text);
      expect(load.ok).toBe(severity !== 'error');
    });
  }

  it('reports several problems of one check block, each on its own line', () => {
    const source = '---\ntitle: T\nhosts: [host0]\n---\n## S\n\n```check\n- unit:\n    name: 7\n    on: host9\n    colour: red\n- etcd: { key: /a, absent: false }\n```\n\n```solve host0\nx\n```\n';
    const problems = loadLab(source, { id: 't', file: 't.md' }).problems;
    expect(problems.map((p) => [p.line, p.message])).toEqual([
      [9, expect.stringContaining('unit check: field `name` must be a string, got number 7')],
      [10, expect.stringContaining('unit check names host "host9" in `on`, but the lab declares host0')],
      [11, expect.stringContaining('unit check: unknown field `colour`; unit checks take name, on, state')],
      [12, expect.stringContaining('etcd check: field `absent` must be true; got boolean false')],
    ]);
  });

  it('reports a YAML alias to a missing anchor, or an alias bomb, as a problem', () => {
    const lab = (check: string) => `---\ntitle: T\n---\n## S\n\n\`\`\`check\n${check}\n\`\`\`\n\n\`\`\`solve host0\nx\n\`\`\`\n`;
    const missing = loadLab(lab('etcd: { key: *nothing }'), { id: 't', file: 't.md' }).problems;
    expect(missing).toEqual([expect.objectContaining({ line: 7, severity: 'error' })]);
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]', ...'bcdefgh'.split('').map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(', ')}]`)];
    const blown = loadLab(lab(`etcd:\n  key: /k\n  x:\n${bomb.map((l) => `    ${l}`).join('\n')}`), { id: 't', file: 't.md' }).problems;
    expect(blown).toHaveLength(1);
    expect(blown[0]).toMatchObject({ line: 7, severity: 'error' });
    expect(blown[0]?.message).toContain('etcd` check cannot be read');
  });

  it('accepts all, any, N and from: server as hosts of a check', () => {
    const source = '---\ntitle: T\nhosts: [host0, host1]\n---\n## S\n\n```check\n- unit: { name: a, on: all }\n- unit: { name: a, on: any }\n- unit: { name: a, on: 2 }\n- http: { from: server, url: "http://host0/" }\n- http: { from: host1, url: "http://host0/" }\n```\n\n```solve host0\nx\n```\n';
    expect(loadLab(source, { id: 't', file: 't.md' }).problems).toEqual([]);
  });

  it('passes every lab in labs/ (warnings allowed)', async () => {
    const ids = readdirSync(LABS);
    expect(ids).toContain('etcd');
    for (const id of ids) {
      const load = await loadLabFile(join(LABS, id, 'lab.md'));
      expect(load.problems.filter((p) => p.severity === 'error')).toEqual([]);
    }
  });

  describe('check descriptions', () => {
    const lab = (check: string) => `---\ntitle: T\nhosts: [host0, host1]\n---\n## S\n\n\`\`\`check\n${check}\n\`\`\`\n\n\`\`\`solve host0\nx\n\`\`\`\n`;
    const parse = (check: string) => parseLab(lab(check), { id: 't', file: 't.md' });

    it('keeps a description beside the kind, in a list and in a single-check block, with no warning', () => {
      const listed = parse('- description: every host runs etcd\n  unit: { name: etcd.service, on: all }\n- description: "  the health command passes  "\n  command: { on: host0, run: "etcdctl endpoint health", stdout: "healthy$" }');
      expect(listed.problems).toEqual([]);
      expect(listed.lab.steps[0]?.checks.map((c) => [c.kind, c.description, c.line])).toEqual([
        ['unit', 'every host runs etcd', 8],
        ['command', 'the health command passes', 10],
      ]);
      const single = parse('unit: { name: etcd.service, on: all }\ndescription: every host runs etcd');
      expect(single.problems).toEqual([]);
      expect(single.lab.steps[0]?.checks[0]).toMatchObject({ kind: 'unit', description: 'every host runs etcd' });
    });

    it('leaves description out of a check that has none', () => {
      const c = parse('unit: { name: etcd.service, on: all }').lab.steps[0]?.checks[0];
      expect(c && 'description' in c).toBe(false);
    });

    it('rejects a description that is not one line of text, or too long, with its line', () => {
      const cases: [string, string][] = [
        ['- description: [a, b]\n  unit: { name: a, on: all }', 'check `description` must be text'],
        ['- description: 42\n  unit: { name: a, on: all }', 'got number 42'],
        ['- description: |\n    two\n    lines\n  unit: { name: a, on: all }', 'must be one line'],
        [`- description: ${'x'.repeat(201)}\n  unit: { name: a, on: all }`, 'is 201 characters; at most 200'],
        ['- description: a\n  unit: { name: a, on: all }\n  etcd: { key: /k }', 'found unit, etcd'],
      ];
      for (const [check, text] of cases) {
        const problems = parse(check).problems;
        expect(problems.map((p) => [p.line, p.severity]), check).toEqual([[8, 'error']]);
        expect(problems[0]?.message).toContain(text);
      }
    });

    it('warns about a command, a stdout regex and an http body regex without a description; not about plain checks', () => {
      const problems = parse('- command: { on: host0, run: "true" }\n- http: { url: "http://host0/", body: "ok" }\n- unit: { name: a, on: all }\n- etcd: { key: /k, equals: v }').problems;
      expect(problems.map((p) => [p.line, p.severity])).toEqual([
        [8, 'warning'],
        [9, 'warning'],
      ]);
      expect(problems[0]?.message).toContain('command check has no `description`');
      expect(problems[1]?.message).toContain('http check has no `description`');
      expect(problems[1]?.message).toContain('its regex (`body`)');
    });
  });

  it('reports an unreadable file as a problem, not an exception', async () => {
    const load = await loadLabFile(join(BROKEN, 'does-not-exist', 'lab.md'));
    expect(load).toMatchObject({ ok: false, problems: [{ line: 1, message: 'cannot read the lab file: no such file' }] });
  });
});

/** A small seeded generator, so that a failing fuzz case can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('lint never throws', () => {
  const etcd = readFileSync(join(LABS, 'etcd', 'lab.md'), 'utf8');
  const pieces = ['---\n', '## ', '```', '```run host0\n', '```check\n', '```solve host1\n', '```hint\n', 'etcd: ', '{ key: ', '- ', ':', '[', ']', '{', '}', '\n', ' ', '"', "'", '&', '*a', '!!binary', '<<: *a', '\t', '\0', '\uFFFF', '\uD800', 'on: ', '999999999999999999999', '-1', 'null', '~'];

  function mustNotThrow(source: string): void {
    let result;
    try {
      result = parseLab(source, { id: 'fuzz', file: 'fuzz.md' });
    } catch (e) {
      throw new Error(`parseLab threw on ${JSON.stringify(source.slice(0, 300))}: ${String(e)}`);
    }
    for (const p of result.problems) {
      expect(p.line).toBeGreaterThanOrEqual(1);
      expect(p.message.length).toBeGreaterThan(0);
    }
  }

  it('on every truncation of a real lab', () => {
    for (let n = 0; n <= etcd.length; n += 7) mustNotThrow(etcd.slice(0, n));
  });

  it('on random bytes and binary data', () => {
    const next = random(1);
    for (let i = 0; i < 300; i++) {
      const bytes = Buffer.from(Array.from({ length: Math.floor(next() * 2000) }, () => Math.floor(next() * 256)));
      mustNotThrow(bytes.toString('utf8'));
      mustNotThrow(`---\ntitle: x\n---\n${bytes.toString('latin1')}`);
    }
  });

  it('on random mixtures of lab syntax', () => {
    const next = random(2);
    for (let i = 0; i < 2000; i++) {
      const parts = Array.from({ length: Math.floor(next() * 60) }, () => pieces[Math.floor(next() * pieces.length)] ?? '');
      mustNotThrow(parts.join(''));
    }
  });

  it('on a real lab with characters changed at random', () => {
    const next = random(3);
    for (let i = 0; i < 300; i++) {
      const chars = [...etcd];
      for (let k = 0; k < 20; k++) {
        const at = Math.floor(next() * chars.length);
        chars[at] = pieces[Math.floor(next() * pieces.length)] ?? '';
      }
      mustNotThrow(chars.join(''));
    }
  });
});
