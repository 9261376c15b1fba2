// The words above a step's check results and the state that colours them, from a StepReport.
import type { StepReport } from '../../../common/checks.ts';

/** pass: all passed; fail: some check failed; error: none failed but some could not be checked. */
export type ReportState = 'pass' | 'fail' | 'error';

export function reportState(report: StepReport): ReportState {
  return report.passed ? 'pass' : report.results.some((r) => r.status === 'fail') ? 'fail' : 'error';
}

/** "All checks pass.", "1 of 3 checks not passing yet.", "2 of 2 could not be checked." */
export function reportSummary(report: StepReport): string {
  if (report.passed) return 'All checks pass.';
  const fails = report.results.filter((r) => r.status === 'fail').length;
  const errors = report.results.filter((r) => r.status === 'error').length;
  const parts: string[] = [];
  const of = report.results.length;
  if (fails > 0) parts.push(`${fails} of ${of} check${of === 1 ? '' : 's'} not passing yet`);
  if (errors > 0) parts.push(fails > 0 ? `${errors} could not be checked` : `${errors} of ${of} could not be checked`);
  return `${parts.join(', ')}.`;
}
