// Renders a StepReport under its step: one line per result (✓ pass, ✗ fail, ⚠ could not check),
// with the server's sentence ("host1: unit web@2.service is failed, expected active").
import type { CheckResult, CheckStatus, StepReport } from '../../../common/checks.ts';
import { h } from '../dom.ts';
import { reportState, reportSummary } from './report-summary.ts';

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

const clock = (at: number): string => new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** The results block for a report; `auto` marks reports from the automatic re-check; `note` goes above it. */
export function renderReport(report: StepReport, auto: boolean, note?: string): HTMLElement {
  return h(
    'div',
    { class: 'check-report', 'data-state': reportState(report) },
    note ? h('p', { class: 'check-note' }, note) : null,
    h('p', { class: 'check-summary' }, reportSummary(report), h('span', { class: 'check-when muted' }, ` ${auto ? 'Checked automatically' : 'Checked'} at ${clock(report.at)}`)),
    h('ul', { class: 'check-list' }, ...report.results.map(resultLine)),
  );
}
