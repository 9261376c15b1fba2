// Renders a StepReport under its step: one line per result (✓ pass, ✗ fail, ⚠ could not check),
// with the server's sentence ("host1: unit web@2.service is failed, expected active"); a check
// with a description shows it as its title, with its per-host lines below.
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

/** The worst status of a group: a failure outweighs a check that could not be run. */
const worst = (rs: readonly CheckResult[]): CheckStatus => (rs.some((r) => r.status === 'fail') ? 'fail' : rs.some((r) => r.status === 'error') ? 'error' : 'pass');

/** A described check: its description (plain text) as the title, then one line per host. */
function describedLines(description: string, rs: readonly CheckResult[]): HTMLElement {
  const status = worst(rs);
  return h(
    'li',
    { class: 'check-item check-described', 'data-status': status },
    h('span', { class: 'check-mark', 'aria-label': LABEL[status] }, MARK[status]),
    h('div', { class: 'check-body' }, h('span', { class: 'check-title' }, description), h('ul', { class: 'check-hosts' }, ...rs.map(resultLine))),
  );
}

/** Results in order; consecutive results of one described check are grouped under its description. */
export function resultItems(results: readonly CheckResult[]): HTMLElement[] {
  const items: HTMLElement[] = [];
  for (let i = 0; i < results.length; ) {
    const description = results[i]?.description;
    if (description === undefined) {
      items.push(resultLine(results[i]!));
      i += 1;
      continue;
    }
    let j = i;
    while (j < results.length && results[j]?.description === description) j += 1;
    items.push(describedLines(description, results.slice(i, j)));
    i = j;
  }
  return items;
}

const clock = (at: number): string => new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** The results block for a report; `auto` marks reports from the automatic re-check; `note` goes above it. */
export function renderReport(report: StepReport, auto: boolean, note?: string): HTMLElement {
  return h(
    'div',
    { class: 'check-report', 'data-state': reportState(report) },
    note ? h('p', { class: 'check-note' }, note) : null,
    h('p', { class: 'check-summary' }, reportSummary(report), h('span', { class: 'check-when muted' }, ` ${auto ? 'Checked automatically' : 'Checked'} at ${clock(report.at)}`)),
    h('ul', { class: 'check-list' }, ...resultItems(report.results)),
  );
}
