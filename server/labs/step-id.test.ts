// Step ids: explicit `{#id}` on a heading (stripped from the title) or a slug of the title, so an
// author who moves or inserts steps keeps every attendee's progress on the right step.
import { describe, expect, it } from 'vitest';
import { parseLab } from './parse-lab.ts';
import { slugOf, splitHeading } from './step-id.ts';

const parse = (body: string) => parseLab(`---\ntitle: T\nhosts: [host0]\n---\n${body}`, { id: 'x', file: 'x/lab.md' });
const step = (title: string) => `## ${title}\n\ntext\n\n`;

describe('step ids', () => {
  it('derives an id from the title: lower-case ASCII letters and digits, anything else one dash', () => {
    expect(slugOf('Set a key on one host, read it on another')).toBe('set-a-key-on-one-host-read-it-on-another');
    expect(slugOf('  Start `etcd` (v3)!  ')).toBe('start-etcd-v3');
    expect(slugOf('Café über naïve')).toBe('cafe-uber-naive');
    expect(slugOf('日本語')).toBe('');
    expect(slugOf('x'.repeat(100))).toHaveLength(64);
    expect(slugOf(`${'a'.repeat(63)} b`)).toBe('a'.repeat(63));
  });

  it('takes an explicit {#id} off the end of the heading and keeps the title without it', () => {
    expect(splitHeading('Start etcd {#etcd-up}')).toEqual({ kind: 'explicit', title: 'Start etcd', id: 'etcd-up' });
    expect(splitHeading('Start etcd {#Etcd Up}')).toEqual({ kind: 'invalid', title: 'Start etcd', written: 'Etcd Up' });
    expect(splitHeading('Use {braces} in text')).toEqual({ kind: 'derived', title: 'Use {braces} in text' });
    const { lab, problems } = parse(step('Start `etcd` {#etcd-up}') + step('Read a key'));
    expect(problems).toEqual([]);
    expect(lab.steps.map((s) => [s.id, s.title])).toEqual([
      ['etcd-up', 'Start etcd'],
      ['read-a-key', 'Read a key'],
    ]);
  });

  it('keeps a step’s id when steps are inserted before it or reordered', () => {
    const before = parse(step('One') + step('Two {#second}') + step('Three')).lab.steps.map((s) => s.id);
    const after = parse(step('Zero') + step('Three') + step('One') + step('Two {#second}')).lab.steps.map((s) => s.id);
    expect(before).toEqual(['one', 'second', 'three']);
    expect(after).toEqual(['zero', 'three', 'one', 'second']);
  });

  it('reports duplicate ids (derived or explicit) with both lines, and invalid explicit ids', () => {
    const dup = parse(step('Set a key') + step('Set a key!')).problems;
    expect(dup.map((p) => [p.line, p.severity])).toEqual([[9, 'error']]);
    expect(dup[0]?.message).toContain('duplicate step id "set-a-key": step 1 (line 5) has the same id');
    const explicit = parse(step('One {#a}') + step('Two {#a}')).problems;
    expect(explicit.map((p) => [p.line, p.severity])).toEqual([[9, 'error']]);
    expect(explicit[0]?.message).toContain('duplicate step id "a"');
    const invalid = parse(step('One {#-a}') + step('Two {#}') + step(`Three {#${'a'.repeat(65)}}`)).problems;
    expect(invalid.map((p) => [p.line, p.severity])).toEqual([
      [5, 'error'],
      [9, 'error'],
      [13, 'error'],
    ]);
    expect(invalid[0]?.message).toContain('invalid step id `{#-a}`');
  });

  it('a title with nothing to make an id from gets a positional one and a warning', () => {
    const { lab, problems } = parse(step('日本語') + step('Two'));
    expect(lab.steps[0]?.id).toBe('step-1');
    expect(problems.map((p) => [p.line, p.severity])).toEqual([[5, 'warning']]);
    expect(problems[0]?.message).toContain('{#my-step}');
  });
});
