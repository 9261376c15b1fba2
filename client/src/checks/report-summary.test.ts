// The sentence above a step's check results: it counts checks, and tells failing from uncheckable.
import { describe, expect, it } from 'vitest';
import type { CheckResult, CheckStatus, StepReport } from '../../../common/checks.ts';
import { reportState, reportSummary } from './report-summary.ts';

const result = (status: CheckStatus): CheckResult => ({ status, kind: 'command', subject: 's', expected: '', actual: '', message: '', durationMs: 1 });
const report = (...statuses: CheckStatus[]): StepReport => ({ step: 0, passed: statuses.every((s) => s === 'pass'), results: statuses.map(result), at: 0 });

describe('reportSummary', () => {
  it('says all pass when the step passed', () => {
    expect(reportSummary(report('pass', 'pass'))).toBe('All checks pass.');
  });

  it('counts the failing checks out of all', () => {
    expect(reportSummary(report('pass', 'fail', 'pass'))).toBe('1 of 3 checks not passing yet.');
    expect(reportSummary(report('fail'))).toBe('1 of 1 check not passing yet.');
  });

  it('counts the checks that could not run apart from the failing ones', () => {
    expect(reportSummary(report('error', 'pass'))).toBe('1 of 2 could not be checked.');
    expect(reportSummary(report('fail', 'error', 'fail'))).toBe('2 of 3 checks not passing yet, 1 could not be checked.');
  });
});

describe('reportState', () => {
  it('is fail when any check failed, error when none failed but one could not run', () => {
    expect(reportState(report('pass'))).toBe('pass');
    expect(reportState(report('error', 'fail'))).toBe('fail');
    expect(reportState(report('error', 'pass'))).toBe('error');
  });
});
