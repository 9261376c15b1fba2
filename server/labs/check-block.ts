// A ```check block: YAML holding one check (a mapping with its kind as the only key) or a list of
// them, validated against the shared schemas of common/checks.ts, with each problem on its own line.
import { isMap, isScalar, isSeq } from 'yaml';
import type { z } from 'zod';
import { CHECK_KINDS, MAX_CHECK_DESCRIPTION, checkSchemas } from '../../common/checks.ts';
import { compileLinearRegex } from '../../common/linear-regex.ts';
import type { CheckKind, CheckSpec } from '../../common/checks.ts';
import type { ProblemList } from './problem-list.ts';
import { YamlSource } from './yaml-source.ts';

const EXAMPLES: Record<CheckKind, string> = {
  etcd: 'etcd: { key: /message, equals: Hello }',
  overlay: 'overlay: { network: 10.2.0.0/16, on: all }',
  unit: 'unit: { name: web.service, on: host0, state: active }',
  container: 'container: { on: host1, name: db }',
  http: 'http: { from: host0, url: "http://host1:8080/", status: 200 }',
  command: 'command: { on: host0, run: "test -f /tmp/x", exit: 0 }',
  file: 'file: { on: host0, path: /etc/motd, contains: hello }',
  'etcd-cluster': 'etcd-cluster: { running: 2, leader: elected }',
  service: 'service: { name: web, running: 3, per-host-max: 1 }',
  node: 'node: { on: host2, status: down }',
};

type Issue = z.core.$ZodIssue;

/** The hosts a lab declares, and whether that list can be trusted for reporting unknown hosts. */
export interface HostScope {
  hosts: readonly string[];
  known: boolean;
}

/** The key beside a check's kind that holds the attendee's title for it. */
const DESCRIPTION = 'description';

/** Fields holding a regex, which attendees would otherwise see raw in a check's expectation. */
const REGEX_FIELDS = ['matches', 'stdout', 'body'] as const;

/** The fields of a check that name where it runs. */
const HOST_FIELDS = ['on', 'from', 'not-on'] as const;

function isCheckKind(s: string): s is CheckKind {
  return (CHECK_KINDS as string[]).includes(s);
}

/**
 * Parses the text of a check block. `firstLine` is the lab-file line of the block's first YAML line,
 * `fenceLine` the line of its opening fence. Invalid checks are reported and left out.
 */
export function parseCheckBlock(text: string, firstLine: number, fenceLine: number, scope: HostScope, problems: ProblemList): CheckSpec[] {
  if (text.trim() === '') {
    problems.error(fenceLine, `empty check block: expected a check such as \`${EXAMPLES.etcd}\``);
    return [];
  }
  const yaml = new YamlSource(text, firstLine);
  if (!yaml.reportErrors(problems, 'check block')) return [];
  const root = yaml.doc.contents;
  const items: unknown[] = isSeq(root) ? root.items : [root];
  if (isSeq(root) && items.length === 0) {
    problems.error(fenceLine, 'empty list of checks: expected at least one item such as `- etcd: { key: /k }`');
  }
  const specs: CheckSpec[] = [];
  for (const item of items) {
    const spec = parseOneCheck(yaml, item, fenceLine, scope, problems);
    if (spec) specs.push(spec);
  }
  return specs;
}

function parseOneCheck(yaml: YamlSource, item: unknown, fenceLine: number, scope: HostScope, problems: ProblemList): CheckSpec | null {
  const line = yaml.lineOf(item, fenceLine);
  const kinds = CHECK_KINDS.join(', ');
  if (!isMap(item) || item.items.length === 0) {
    problems.error(line, `a check is a mapping with its kind as the key (one of ${kinds}), e.g. \`${EXAMPLES.etcd}\``);
    return null;
  }
  const pairs = item.items;
  const keys = pairs.map((p) => (isScalar(p.key) ? String(p.key.value) : '?'));
  // `description` may stand beside the kind (the same list item); every other key names a kind.
  const descriptionPair = pairs[keys.indexOf(DESCRIPTION)];
  const description = descriptionPair ? parseDescription(yaml, descriptionPair.value, line, problems) : undefined;
  const kindPairs = pairs.filter((_, i) => keys[i] !== DESCRIPTION);
  const kindKeys = keys.filter((k) => k !== DESCRIPTION);
  if (kindPairs.length === 0) {
    problems.error(line, `a check with a \`description\` also needs its kind (one of ${kinds}) beside it, e.g. \`- description: the key is set\` then \`  ${EXAMPLES.etcd}\``);
    return null;
  }
  if (kindPairs.length > 1) {
    const hint = kindKeys.some(isCheckKind) ? 'for several checks, write a YAML list (`- etcd: …` then `- unit: …`)' : `e.g. \`${EXAMPLES.etcd}\``;
    problems.error(line, `a check has exactly one key, its kind (one of ${kinds}), and may have a \`description\`; found ${kindKeys.join(', ')} — ${hint}`);
    return null;
  }
  const [pair] = kindPairs;
  const [kind] = kindKeys;
  if (!pair || kind === undefined) return null;
  if (!isCheckKind(kind)) {
    problems.error(line, `unknown check kind \`${kind}\`; expected one of ${kinds}`);
    return null;
  }
  const fieldsNode = pair.value;
  if (fieldsNode !== null && fieldsNode !== undefined && !isMap(fieldsNode) && !(isScalar(fieldsNode) && fieldsNode.value === null)) {
    problems.error(yaml.lineOf(fieldsNode, line), `\`${kind}\` check needs a mapping of fields, e.g. \`${EXAMPLES[kind]}\``);
    return null;
  }
  const converted = isMap(fieldsNode) ? yaml.toJS(fieldsNode) : ({ ok: true, value: {} } as const);
  if (!converted.ok) {
    problems.error(line, `\`${kind}\` check cannot be read: ${converted.error}`);
    return null;
  }
  const fields = converted.value;
  const result = checkSchemas[kind].safeParse(fields);
  // Host names are checked even when other fields are wrong, so that one pass reports everything.
  const hostsOk = hostsDeclared(yaml, kind, fieldsNode, scope, problems);
  if (!result.success) {
    for (const issue of result.error.issues) {
      reportIssue(yaml, kind, fieldsNode, fields, issue, line, problems);
    }
    return null;
  }
  if (!hostsOk || description === null) return null;
  if (description === undefined) warnIfRaw(kind, result.data, line, problems);
  // The cast joins a kind with the schema output of that same kind, which TypeScript cannot follow through the lookup.
  return (description === undefined ? { kind, line, spec: result.data } : { kind, line, spec: result.data, description }) as CheckSpec;
}

/** A check's `description:`: one line of plain text, or null (reported) when it is not. */
function parseDescription(yaml: YamlSource, node: unknown, checkLine: number, problems: ProblemList): string | null {
  const at = yaml.lineOf(node, checkLine);
  const value = isScalar(node) ? node.value : undefined;
  if (typeof value !== 'string') {
    problems.error(at, `check \`description\` must be text, e.g. \`description: every host runs etcd\`; got ${describe(isScalar(node) ? node.value : isSeq(node) ? [] : isMap(node) ? {} : null)}`);
    return null;
  }
  const text = value.trim();
  if (text === '') {
    problems.error(at, 'check `description` is empty: say in a few words what the check verifies, e.g. `description: every host runs etcd`');
    return null;
  }
  if (/[\r\n]/.test(text)) {
    problems.error(at, 'check `description` must be one line: it is the title of the check in the attendee\'s results');
    return null;
  }
  if (text.length > MAX_CHECK_DESCRIPTION) {
    problems.error(at, `check \`description\` is ${text.length} characters; at most ${MAX_CHECK_DESCRIPTION} (it is a one-line title)`);
    return null;
  }
  return text;
}

/**
 * Warns when a check without a description would show attendees raw lab text: a command check's
 * shell, or a regex (`matches`, `stdout`, `body`) in what it expected.
 */
function warnIfRaw(kind: CheckKind, spec: Record<string, unknown>, line: number, problems: ProblemList): void {
  const regexField = REGEX_FIELDS.find((f) => typeof spec[f] === 'string');
  if (kind !== 'command' && regexField === undefined) return;
  const raw = kind === 'command' ? `its shell command${regexField ? ' and its regex' : ''}` : `its regex (\`${regexField}\`)`;
  problems.warning(line, `${kind} check has no \`description\`: attendees would see ${raw} in their check results; add \`description: <what it verifies>\` beside \`${kind}:\` (as \`- description: …\` then \`  ${kind}: …\`)`);
}

function reportIssue(
  yaml: YamlSource,
  kind: CheckKind,
  fieldsNode: unknown,
  fields: unknown,
  issue: Issue,
  kindLine: number,
  problems: ProblemList,
): void {
  const field = issue.path.map(String).join('.');
  const at = issue.path.length > 0 ? yaml.lineOf(yaml.nodeAt(fieldsNode, issue.path), kindLine) : kindLine;
  const known = Object.keys(checkSchemas[kind].shape).join(', ');
  switch (issue.code) {
    case 'unrecognized_keys':
      for (const key of issue.keys) {
        const keyNode = isMap(fieldsNode) ? (fieldsNode.items).find((p) => isScalar(p.key) && String(p.key.value) === key)?.key : undefined;
        problems.error(yaml.lineOf(keyNode, at), `${kind} check: unknown field \`${key}\`; ${kind} checks take ${known}`);
      }
      return;
    case 'invalid_type': {
      const actual = valueAt(fields, issue.path);
      if (actual === undefined) {
        problems.error(kindLine, `${kind} check: missing required field \`${field}\`, e.g. \`${EXAMPLES[kind]}\``);
      } else {
        problems.error(at, `${kind} check: field \`${field}\` must be ${article(issue.expected)}, got ${describe(actual)}`);
      }
      return;
    }
    case 'invalid_union':
      problems.error(at, `${kind} check: field \`${field}\` must be a host name, \`all\`, \`any\`, or a number of hosts; got ${describe(valueAt(fields, issue.path))}`);
      return;
    case 'invalid_value':
      problems.error(at, `${kind} check: field \`${field}\` must be ${issue.values.map((v) => JSON.stringify(v)).join(' or ')}; got ${describe(valueAt(fields, issue.path))}`);
      return;
    case 'custom': {
      if (field === '') {
        problems.error(kindLine, `${kind} check ${issue.message}`);
        return;
      }
      const value = valueAt(fields, issue.path);
      const reason = typeof value === 'string' ? regexError(value) : null;
      problems.error(at, `${kind} check: field \`${field}\` ${issue.message}${reason ? `: ${reason}` : ''}`);
      return;
    }
    case 'too_small':
    case 'too_big':
    case 'invalid_format':
    case 'not_multiple_of':
    case 'invalid_key':
    case 'invalid_element':
      problems.error(at, `${kind} check: field \`${field || kind}\`: ${issue.message}`);
  }
}

/** Checks that `on:`/`from:` name a declared host, `all`, `any`, `server` (from only) or N ≤ the number of hosts. */
function hostsDeclared(yaml: YamlSource, kind: CheckKind, fieldsNode: unknown, scope: HostScope, problems: ProblemList): boolean {
  if (!isMap(fieldsNode) || !scope.known) return true;
  let ok = true;
  for (const field of HOST_FIELDS) {
    const node = fieldsNode.get(field, true);
    if (!isScalar(node)) continue;
    const value = node.value;
    const line = yaml.lineOf(node);
    const declared = scope.hosts.join(', ');
    if (typeof value === 'number') {
      if (value > scope.hosts.length) {
        problems.error(line, `${kind} check: \`${field}: ${value}\` asks for exactly ${value} hosts, but the lab declares only ${scope.hosts.length} (${declared})`);
        ok = false;
      }
    } else if (typeof value === 'string') {
      const special = field === 'from' ? ['server', 'all', 'any'] : ['all', 'any'];
      if (!special.includes(value) && !scope.hosts.includes(value)) {
        problems.error(line, `${kind} check names host "${value}" in \`${field}\`, but the lab declares ${declared} (or use ${special.join(', ')})`);
        ok = false;
      }
    }
  }
  return ok;
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function describe(value: unknown): string {
  if (value === null) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

/** Why the linear-time engine cannot compile a lab regex (e.g. "invalid or unsupported Perl syntax: `(?=`"). */
function regexError(source: string): string | null {
  const r = compileLinearRegex(source);
  return r.ok ? null : r.error;
}
