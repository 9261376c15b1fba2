// Collects lint problems for one lab file while it is parsed, so that parsing can go on after an
// error and report every problem at once instead of stopping at the first.
import type { LintProblem } from '../../common/lab.ts';

export class ProblemList {
  readonly items: LintProblem[] = [];

  constructor(readonly file: string) {}

  error(line: number, message: string): void {
    this.items.push({ file: this.file, line: Math.max(1, line), message, severity: 'error' });
  }

  warning(line: number, message: string): void {
    this.items.push({ file: this.file, line: Math.max(1, line), message, severity: 'warning' });
  }

  get hasErrors(): boolean {
    return this.items.some((p) => p.severity === 'error');
  }
}

/** Problems in file order, errors before warnings on the same line: the order an author fixes them in. */
export function sortProblems(problems: readonly LintProblem[]): LintProblem[] {
  return [...problems].sort(
    (a, b) => a.file.localeCompare(b.file) || a.line - b.line || (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1),
  );
}
