// Renders a StepReport under its step: one line per result (✓ pass, ✗ fail, ⚠ could not check),
// with the server's sentence ("host1: unit web@2.service is failed, expected active").
import type { CheckResult, CheckStatus, StepReport } from '../../../common/checks.ts';
import { h } from '../dom.ts';

const MARK: Record<CheckStatus, string> = { pass: '✓', fail: '✗', error: '⚠' };
const LABEL: Record<CheckStatus, string> = { pass: 'passed', fail: 'failed', error: 'could not be checked' };

function resultLine(r: CheckResult): HTMLElement {
  return h(
    'li',
    { class: 'check-item', 'data-status': r.status, title: `expected: ${r.expected}\nactual: ${r.actual}` },
    h('span', { class: 'check-mark', 'aria-label': LABEL[r.status] }, MARK[r.status]),
    h('span', { class: 'check-msg' }, r.message),
  );
}

function summary(report: StepReport): string {
  if (report.passed) return 'All checks pass.';
  const fails = report.results.filter((r) => r.status === 'fail').length;
  const errors = report.results.filter((r) => r.status === 'error').length;
  const parts: string[] = [];
  const of = report.results.length;
  if (fails > 0) parts.push(`${fails} of ${of} check${of === 1 ? '' : 's'} not passing yet`);
  if (errors > 0) parts.push(fails > 0 ? `${errors} could not be checked` : `${errors} of ${of} could not be checked`);
  return `${parts.join(', ')}.`;
}

const clock = (at: number): string => new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** The results block for a report; `auto` marks reports from the automatic re-check; `note` goes above it. */
export function renderReport(report: StepReport, auto: boolean, note?: string): HTMLElement {
  const state = report.passed ? 'pass' : report.results.some((r) => r.status === 'fail') ? 'fail' : 'error';
  return h(
    'div',
    { class: 'check-report', 'data-state': state },
    note ? h('p', { class: 'check-note' }, note) : null,
    h('p', { class: 'check-summary' }, summary(report), h('span', { class: 'check-when muted' }, ` ${auto ? 'Checked automatically' : 'Checked'} at ${clock(report.at)}`)),
    h('ul', { class: 'check-list' }, ...report.results.map(resultLine)),
  );
}
