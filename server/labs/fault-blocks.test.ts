// The lab format's faults: ```fault NAME HOST / ```repair NAME HOST parse into the lab's faults
// (title, step, repair), never reach the attendee's view, and every mistake is reported with its line.
import { describe, expect, it } from 'vitest';
import { toLabView } from '../../common/lab.ts';
import { parseLab } from './parse-lab.ts';

const FRONT = '---\ntitle: T\nhosts: [host0, host1]\n---\n';
const CHECKED = '```check\nunit: { name: etcd.service, on: all }\n```\n\n```solve host0\ntrue\n```\n';
const parse = (body: string) => parseLab(`${FRONT}${body}`, { id: 'x', file: 'x/lab.md' });
const errors = (body: string) => parse(body).problems.filter((p) => p.severity === 'error').map((p) => [p.line, p.message]);

describe('fault blocks', () => {
  it('parses a fault with its title, step, host and repair, and keeps it out of the attendee view', () => {
    // Lines: 1-4 front matter, 5 "## One", 7-13 check + solve, 15 "## Two", 17-23 check + solve, 25 fault, 30 repair.
    const body = `## One\n\n${CHECKED}\n## Two\n\n${CHECKED}\n\`\`\`fault etcd-down host1\n# An etcd member misbehaves\nsystemctl stop etcd\n\`\`\`\n\n\`\`\`repair etcd-down host1\nsystemctl start etcd\n\`\`\`\n`;
    const { lab, problems } = parse(body);
    expect(problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(lab.faults).toEqual([
      {
        name: 'etcd-down',
        title: 'An etcd member misbehaves',
        step: 1,
        host: 'host1',
        code: '# An etcd member misbehaves\nsystemctl stop etcd',
        line: 25,
        repair: { host: 'host1', code: 'systemctl start etcd', line: 30 },
      },
    ]);
    // Neither rendered as code nor sent to browsers.
    const view = JSON.stringify(toLabView(lab));
    expect(view).not.toContain('systemctl stop etcd');
    expect(view).not.toContain('etcd-down');
  });

  it('titles a fault by its name when its first line is no comment', () => {
    const { lab } = parse(`## One\n\n${CHECKED}\n\`\`\`fault a-b host0\nfalse\n\`\`\`\n\n\`\`\`repair a-b host0\ntrue\n\`\`\`\n`);
    expect(lab.faults[0]?.title).toBe('a-b');
  });

  it('reports each mistake with its line', () => {
    const one = `## One\n\n${CHECKED}\n`; // lines 5-14
    expect(errors(`${one}\`\`\`fault Bad_Name host0\nx\n\`\`\`\n`)).toEqual([[15, expect.stringContaining('fault name "Bad_Name": expected lower-case letters, digits and dashes')]]);
    expect(errors(`${one}\`\`\`fault down host7\nx\n\`\`\`\n\n\`\`\`repair down host7\ny\n\`\`\`\n`)).toEqual([
      [15, 'fault block names host "host7", but the lab declares host0, host1'],
      [19, 'repair block names host "host7", but the lab declares host0, host1'],
    ]);
    expect(errors(`${one}\`\`\`fault down host0\nx\n\`\`\`\n`)).toEqual([[15, expect.stringContaining('fault "down" has no ```repair down HOST block')]]);
    expect(errors(`${one}\`\`\`repair down host0\nx\n\`\`\`\n`)).toEqual([[15, 'repair "down" has no ```fault down HOST block']]);
    expect(errors(`${one}\`\`\`fault down host0\nx\n\`\`\`\n\n\`\`\`repair down host0\ny\n\`\`\`\n\n\`\`\`fault down host1\nz\n\`\`\`\n`)).toEqual([[23, 'duplicate fault "down": line 15 already declares it']]);
    expect(errors(`${one}\`\`\`fault down\nx\n\`\`\`\n`)).toEqual([[15, expect.stringContaining('a `fault` block names the fault and one host, e.g. ```fault etcd-down host1; found down')]]);
    expect(errors(`## Read\n\nJust text.\n\n\`\`\`fault down host0\nx\n\`\`\`\n\n\`\`\`repair down host0\ny\n\`\`\`\n`)).toEqual([[9, expect.stringContaining('fault "down" is in step 1, which has no check')]]);
    expect(errors(`\`\`\`fault down host0\nx\n\`\`\`\n\n${one}`)).toEqual([[5, expect.stringContaining('a `fault` block before the first step')]]);
  });

  it('catches a misspelt fault block without taking `default` code for one', () => {
    expect(errors(`## One\n\n${CHECKED}\n\`\`\`faut down host0\nx\n\`\`\`\n`)).toEqual([[15, expect.stringContaining('did you mean `fault`?')]]);
    expect(errors(`## One\n\n${CHECKED}\n\`\`\`default\nx\n\`\`\`\n`)).toEqual([]);
  });
});
