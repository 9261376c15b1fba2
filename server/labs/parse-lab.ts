// Parses one lab.md into the Lab model of common/lab.ts, collecting every syntax and structure
// problem on the way (with its line) instead of stopping at the first one.
import type { Token } from 'markdown-it';
import type { ContentPart, Lab, LintProblem, SetupBlock, SolveBlock, Step } from '../../common/lab.ts';
import { MAX_PREVIEW_LABEL, MAX_PREVIEW_PORT, MIN_PREVIEW_PORT } from '../../common/lab.ts';
import { FaultCollector } from './fault-blocks.ts';
import { parseCheckBlock } from './check-block.ts';
import { classifyFence } from './fence-info.ts';
import { parseFrontMatter } from './front-matter.ts';
import { createMarkdown } from './markdown.ts';
import { ProblemList } from './problem-list.ts';
import { slugOf, splitHeading } from './step-id.ts';

export interface ParsedLab {
  /** Best effort even when there are problems; trust it only if `problems` holds no error. */
  lab: Lab;
  problems: LintProblem[];
}

export interface LabSource {
  /** Lab id (its folder name under labs/). */
  id: string;
  /** Path of the file, as problems should name it. */
  file: string;
}

const md = createMarkdown();

/** Content being collected for the intro or for one step. */
interface Section {
  step: Step | null;
  parts: ContentPart[];
  runs: number;
  previews: number;
  checkBlocks: number;
}

export function parseLab(source: string, { id, file }: LabSource): ParsedLab {
  const problems = new ProblemList(file);
  const text = source.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  if (text.includes('\0')) {
    problems.error(1, 'the file contains NUL bytes: expected a UTF-8 markdown text file');
  }
  const lines = text.split('\n');
  const { meta, bodyStart, hostsKnown, reset } = parseFrontMatter(lines, problems);
  const scope = { hosts: meta.hosts, known: hostsKnown };
  const env = {};
  const tokens = md.parse(lines.slice(bodyStart).join('\n'), env);
  /** markdown-it maps are 0-based lines of the body; problems and the model use 1-based file lines. */
  const lineOf = (t: Token | undefined): number => (t?.map ? t.map[0] + bodyStart + 1 : bodyStart + 1);

  const intro: Section = { step: null, parts: [], runs: 0, previews: 0, checkBlocks: 0 };
  const sections: Section[] = [intro];
  let current = intro;
  let pending: Token[] = [];
  const faults = new FaultCollector(scope, problems);

  const flush = (): void => {
    if (pending.length === 0) return;
    const html = md.renderer.render(pending, md.options, env);
    if (html.trim() !== '') current.parts.push({ kind: 'html', html });
    pending = [];
  };

  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (!token) continue;
    if (token.type === 'heading_open' && token.tag === 'h2' && token.level === 0) {
      flush();
      const inline = tokens[i + 1];
      const index = sections.length - 1;
      const line = lineOf(token);
      const heading = splitHeading(plainText(inline));
      if (heading.kind === 'invalid') {
        problems.error(line, `invalid step id \`{#${heading.written}}\`: a step id is 1 to 64 lower-case letters, digits and dashes, starting with a letter or digit, e.g. \`{#start-etcd}\``);
      }
      const id = heading.kind === 'explicit' ? heading.id : slugOf(heading.title) || `step-${index + 1}`;
      if (heading.kind === 'derived' && heading.title !== '' && slugOf(heading.title) === '') {
        problems.warning(line, `step ${index + 1}'s title has no letters or digits a-z, 0-9 to make its id from, so it is "${id}" and changes when steps move: give it one, e.g. \`## ${heading.title} {#my-step}\``);
      }
      const step: Step = { index, id, title: heading.title, line, parts: [], checks: [], solves: [], setups: [] };
      current = { step, parts: step.parts, runs: 0, previews: 0, checkBlocks: 0 };
      sections.push(current);
      i += 2; // the inline title and heading_close
      continue;
    }
    if (token.type !== 'fence') {
      pending.push(token);
      continue;
    }
    const info = classifyFence(token.info);
    const line = lineOf(token);
    if (info.kind === 'code') {
      pending.push(token);
      continue;
    }
    if (info.kind === 'near-miss') {
      problems.error(line, `unknown block kind \`${info.word}\`: did you mean \`${info.meant}\`? Lab blocks are run HOST, check, hint, solve HOST, setup HOST, preview HOST:PORT, fault NAME HOST and repair NAME HOST`);
      // A misspelt check is still meant as a check: do not also report the step as having none.
      if (info.meant === 'check') current.checkBlocks += 1;
      pending.push(token);
      continue;
    }
    if (token.level > 0) {
      problems.error(line, `a \`${info.kind}\` block cannot sit inside a list or a quote; start its fence at the beginning of a line`);
      pending.push(token);
      continue;
    }
    flush();
    const code = token.content.replace(/\n$/, '');
    switch (info.kind) {
      case 'run':
      case 'solve':
      case 'setup': {
        const host = info.args[0];
        if (host === undefined || info.args.length > 1) {
          problems.error(line, `a \`${info.kind}\` block names exactly one host, e.g. \`\`\`${info.kind} host0; found ${info.args.length === 0 ? 'none' : info.args.join(' ')}`);
          break;
        }
        if (code.trim() === '') problems.error(line, `empty \`${info.kind}\` block: expected the commands to run on ${host}`);
        if (scope.known && !meta.hosts.includes(host)) {
          problems.error(line, `${info.kind} block names host "${host}", but the lab declares ${meta.hosts.join(', ')}`);
        }
        if (info.kind === 'run') {
          current.runs += 1;
          const prefix = current.step ? `s${current.step.index + 1}` : 'intro';
          current.parts.push({ kind: 'run', id: `${prefix}-r${current.runs}`, host, code });
        } else if (info.kind === 'setup') {
          if (current.step) current.step.setups.push({ host, code, line } satisfies SetupBlock);
          else problems.error(line, 'a `setup` block before the first step: setup runs when a step opens, so it belongs to a step (a `## Title` section)');
        } else if (current.step) {
          current.step.solves.push({ host, code, line } satisfies SolveBlock);
        } else {
          problems.error(line, 'a `solve` block before the first step: solves belong to a step (a `## Title` section)');
        }
        break;
      }
      case 'preview': {
        const part = parsePreviewBlock(info.args, code, line, scope, problems);
        if (part) {
          current.previews += 1;
          const prefix = current.step ? `s${current.step.index + 1}` : 'intro';
          current.parts.push({ kind: 'preview', id: `${prefix}-p${current.previews}`, ...part });
        }
        break;
      }
      case 'check':
      case 'hint':
        if (info.args.length > 0) {
          const where = info.kind === 'check' ? '; a check names its hosts in its fields (`on: host1`)' : '';
          problems.error(line, `a \`${info.kind}\` block takes nothing after its kind; found ${info.args.join(' ')}${where}`);
        }
        if (info.kind === 'hint') {
          current.parts.push({ kind: 'hint', html: md.render(token.content) });
        } else if (current.step) {
          current.checkBlocks += 1;
          current.step.checks.push(...parseCheckBlock(token.content, line + 1, line, scope, problems));
        } else {
          problems.error(line, 'a `check` block before the first step: checks belong to a step (a `## Title` section)');
        }
        break;
      case 'fault':
      case 'repair':
        faults.add(info.kind, info.args, code, line, current.step);
        break;
    }
  }
  flush();

  const steps = sections.flatMap((s) => (s.step ? [s.step] : []));
  checkSteps(sections, problems);
  if (steps.length === 0) {
    problems.error(bodyStart + 1, 'the lab has no steps: each step starts with a `## Step title` line');
  }
  return { lab: { id, file, meta, intro: intro.parts, steps, faults: faults.finish(), ...(reset !== undefined ? { reset } : {}) }, problems: problems.items };
}

/** Rules about steps as a whole: titles, ids, emptiness, solves that cannot be verified. */
function checkSteps(sections: readonly Section[], problems: ProblemList): void {
  const seen = new Map<string, Step>();
  const ids = new Map<string, Step>();
  for (const { step, checkBlocks } of sections) {
    if (!step) continue;
    const name = `step ${step.index + 1}`;
    let titleReported = false;
    if (step.title === '') {
      problems.error(step.line, `${name} has an empty title: expected \`## <what this step does>\``);
    } else {
      const key = step.title.toLowerCase();
      const first = seen.get(key);
      if (first) {
        problems.error(step.line, `duplicate step title "${step.title}": step ${first.index + 1} (line ${first.line}) has the same title`);
        titleReported = true;
      } else {
        seen.set(key, step);
      }
    }
    const sameId = ids.get(step.id);
    if (!sameId) ids.set(step.id, step);
    else if (!titleReported) {
      problems.error(step.line, `duplicate step id "${step.id}": step ${sameId.index + 1} (line ${sameId.line}) has the same id; give one of them its own, e.g. \`## ${step.title || 'Title'} {#${step.id.slice(0, 60)}-2}\``);
    }
    const label = `${name} "${step.title}"`;
    if (step.parts.length === 0 && checkBlocks === 0 && step.solves.length === 0 && step.setups.length === 0) {
      problems.error(step.line, `${label} is empty: expected text, run blocks and a check`);
      continue;
    }
    if (step.solves.length > 0 && checkBlocks === 0) {
      problems.error(step.line, `${label} has a solve block but no check: the lab tester could not tell whether the solve worked`);
    } else if (checkBlocks > 0 && step.solves.length === 0) {
      problems.warning(step.line, `${label} has a check but no solve block: it cannot be skipped or tested automatically`);
    }
  }
}

/**
 * A `preview HOST:PORT` block: the host must be one of the lab's, the port 1–65535; its body is an
 * optional one-line label (plain text, shown on the button).
 */
function parsePreviewBlock(
  args: readonly string[],
  body: string,
  line: number,
  scope: { hosts: readonly string[]; known: boolean },
  problems: ProblemList,
): { host: string; port: number; label: string } | undefined {
  const example = 'e.g. ```preview host1:80';
  if (args.length !== 1) {
    problems.error(line, `a \`preview\` block names exactly one HOST:PORT, ${example}; found ${args.length === 0 ? 'none' : args.join(' ')}`);
    return undefined;
  }
  const m = /^([^:\s]+):([^:\s]*)$/.exec(args[0] ?? '');
  if (!m) {
    problems.error(line, `a \`preview\` block names HOST:PORT, ${example}; found "${args[0] ?? ''}"`);
    return undefined;
  }
  const host = m[1] ?? '';
  const rawPort = m[2] ?? '';
  const port = /^\d{1,5}$/.test(rawPort) ? Number(rawPort) : NaN;
  let ok = true;
  if (!(port >= MIN_PREVIEW_PORT && port <= MAX_PREVIEW_PORT)) {
    problems.error(line, `preview block names port "${rawPort}": a port is a number from ${MIN_PREVIEW_PORT} to ${MAX_PREVIEW_PORT}`);
    ok = false;
  }
  if (scope.known && !scope.hosts.includes(host)) {
    problems.error(line, `preview block names host "${host}", but the lab declares ${scope.hosts.join(', ')}`);
    ok = false;
  }
  const label = body.trim();
  if (label.includes('\n')) {
    problems.error(line, 'a `preview` block holds at most one line: the label shown on its button');
    ok = false;
  } else if (label.length > MAX_PREVIEW_LABEL) {
    problems.error(line, `a preview label is at most ${MAX_PREVIEW_LABEL} characters; this one has ${label.length}`);
    ok = false;
  }
  return ok ? { host, port, label } : undefined;
}

/** The text of an inline token (a heading's title) without markup. */
function plainText(inline: Token | undefined): string {
  if (!inline) return '';
  const children = inline.children ?? [];
  const text = children.length > 0 ? children.map((c) => (c.type === 'text' || c.type === 'code_inline' ? c.content : c.type === 'softbreak' ? ' ' : '')).join('') : inline.content;
  return text.trim();
}
