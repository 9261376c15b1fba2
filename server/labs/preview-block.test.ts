// The `preview HOST:PORT` block: what it becomes in the lab view, and each mistake lint reports with its line.
import { describe, expect, it } from 'vitest';
import { parseLab } from './parse-lab.ts';

const lab = (blocks: string): string =>
  `---\ntitle: Previews\nhosts: [host0, host1]\n---\n## Serve a page\n\nStart nginx.\n\n${blocks}\n\`\`\`check\nhttp: { from: host0, url: "http://host1/", status: 200 }\n\`\`\`\n\n\`\`\`solve host1\nsystemctl start nginx\n\`\`\`\n`;

const parse = (blocks: string) => parseLab(lab(blocks), { id: 'p', file: 'labs/p/lab.md' });

describe('preview blocks', () => {
  it('become a preview part with host, port and label, in the step where they stand', () => {
    const { lab: l, problems } = parse('```preview host1:80\nThe nginx welcome page\n```\n\n```preview host0:8080\n```\n');
    expect(problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(l.steps[0]?.parts.filter((p) => p.kind === 'preview')).toEqual([
      { kind: 'preview', id: 's1-p1', host: 'host1', port: 80, label: 'The nginx welcome page' },
      { kind: 'preview', id: 's1-p2', host: 'host0', port: 8080, label: '' },
    ]);
  });

  it.each([
    ['```preview host9:80\n```', 'preview block names host "host9", but the lab declares host0, host1'],
    ['```preview host1:0\n```', 'preview block names port "0": a port is a number from 1 to 65535'],
    ['```preview host1:70000\n```', 'port "70000"'],
    ['```preview host1:http\n```', 'port "http"'],
    ['```preview host1\n```', 'a `preview` block names HOST:PORT, e.g. ```preview host1:80; found "host1"'],
    ['```preview\n```', 'a `preview` block names exactly one HOST:PORT'],
    ['```preview host1:80 host0:80\n```', 'names exactly one HOST:PORT'],
    ['```preview host1:80\none\ntwo\n```', 'at most one line'],
    ['```previwe host1:80\n```', 'did you mean `preview`?'],
  ])('%s → an error at its line', (block, message) => {
    const { problems } = parse(block);
    const errors = problems.filter((p) => p.severity === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.line).toBe(9);
    expect(errors[0]?.message).toContain(message);
  });
});
