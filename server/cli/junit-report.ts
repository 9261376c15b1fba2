// JUnit XML for `labwright test --junit FILE`, so that any CI system shows each lab as a suite and
// each step as a test: one <testsuite> per lab, a testcase for its lint pass, its hosts, and each step.
import type { LintProblem } from '../../common/lab.ts';
import type { LabTestResult } from '../checks/lab-tester.ts';

/** One lab as the test command saw it: its lint problems and, when lint let it run, its test. */
export interface JunitLab {
  labId: string;
  file: string;
  problems: readonly LintProblem[];
  result?: LabTestResult;
}

/** XML 1.0 cannot carry most control characters (a terminal's escapes); they become U+FFFD. */
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Escapes text for an XML attribute or element. */
export function xmlText(s: string): string {
  return s.replace(NOT_XML, '\uFFFD').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

const secs = (ms: number): string => (ms / 1000).toFixed(3);

interface Case {
  name: string;
  ms: number;
  file: string;
  line?: number;
  failure?: { message: string; text: string };
  skipped?: string;
  out?: string;
}

function caseXml(labId: string, c: Case): string {
  const attrs = `name="${xmlText(c.name)}" classname="${xmlText(labId)}" time="${secs(c.ms)}" file="${xmlText(c.file)}"${c.line === undefined ? '' : ` line="${c.line}"`}`;
  const body = [
    c.failure ? `      <failure message="${xmlText(c.failure.message)}" type="failure">${xmlText(c.failure.text)}</failure>` : '',
    c.skipped ? `      <skipped message="${xmlText(c.skipped)}"/>` : '',
    c.out ? `      <system-out>${xmlText(c.out)}</system-out>` : '',
  ].filter(Boolean);
  return body.length === 0 ? `    <testcase ${attrs}/>` : `    <testcase ${attrs}>\n${body.join('\n')}\n    </testcase>`;
}

/** The testcases of one lab, in the order the tester went. */
function labCases(lab: JunitLab): Case[] {
  const where = (line: number): string => `${lab.file}:${line}`;
  const errors = lab.problems.filter((p) => p.severity === 'error');
  const listed = lab.problems.map((p) => `${p.file}:${p.line}: ${p.severity}: ${p.message}`).join('\n');
  const lint: Case = { name: 'lint', ms: 0, file: lab.file };
  if (errors.length > 0) lint.failure = { message: `${errors.length} lint error${errors.length === 1 ? '' : 's'}: ${where(errors[0]!.line)}: ${errors[0]!.message}`, text: listed };
  else if (listed) lint.out = listed;
  const cases = [lint];
  const r = lab.result;
  if (!r) return cases;
  const provision: Case = { name: 'provision hosts', ms: r.provisionMs, file: lab.file };
  const stepsRan = r.steps.some((s) => s.verdict !== 'not-run');
  if (r.problem && !stepsRan) provision.failure = { message: r.problem, text: `${where(1)}: ${r.problem}` };
  cases.push(provision);
  for (const s of r.steps) {
    const c: Case = { name: s.title, ms: s.timings.beforeMs + s.timings.solveMs + s.timings.afterMs, file: lab.file, line: s.line };
    if (s.verdict === 'not-run') c.skipped = r.problem === 'interrupted' ? 'interrupted' : 'not run: an earlier step failed';
    else if (s.verdict === 'fail') {
      const report = s.after ?? s.before;
      const perHost = (report?.results ?? [])
        .filter((x) => x.status !== 'pass')
        .map((x) => `${x.status === 'fail' ? 'failed' : 'could not check'}: ${x.description === undefined ? '' : `${x.description}: `}${x.message}`);
      const problem = s.problem ?? 'failed';
      c.failure = { message: `${where(s.line)}: ${problem}`, text: [`${where(s.line)}: step ${s.step + 1} "${s.title}": ${problem}`, ...perHost].join('\n') };
    }
    cases.push(c);
  }
  return cases;
}

/** The whole report: a <testsuites> with one <testsuite> per lab. */
export function junitXml(labs: readonly JunitLab[], name = 'labwright test'): string {
  let tests = 0;
  let failures = 0;
  let totalMs = 0;
  const suites = labs.map((lab) => {
    const cases = labCases(lab);
    const f = cases.filter((c) => c.failure).length;
    const skipped = cases.filter((c) => c.skipped).length;
    const ms = cases.reduce((t, c) => t + c.ms, 0);
    tests += cases.length;
    failures += f;
    totalMs += ms;
    const head = `  <testsuite name="${xmlText(lab.labId)}" tests="${cases.length}" failures="${f}" errors="0" skipped="${skipped}" time="${secs(ms)}" file="${xmlText(lab.file)}">`;
    return [head, ...cases.map((c) => caseXml(lab.labId, c)), '  </testsuite>'].join('\n');
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xmlText(name)}" tests="${tests}" failures="${failures}" errors="0" time="${secs(totalMs)}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}
