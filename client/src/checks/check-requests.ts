// Which check report answers the attendee: after a Check press or a Skip, the step's next report is
// the explicit answer ("Checked at …"), otherwise it is the automatic re-check's; a skip whose
// report still fails must say the typed solution did not do it. No DOM: the checks feature shows it.

export interface ReportLabel {
  /** From the automatic re-check, not from a press of Check or Skip. */
  auto: boolean;
  /** The answer to a Skip whose typed solution left the checks failing. */
  skipFellShort: boolean;
}

export class CheckRequests {
  /** Steps with a Check press or skip in flight: their next report is the explicit answer. */
  readonly #explicit = new Set<number>();
  /** Steps whose skip is in flight. */
  readonly #skipping = new Set<number>();
  /** The step whose Check press was sent last: a check-run error is about it. */
  #pendingCheck: number | undefined;

  /** A Check press reached the server (check-run sent). */
  checkSent(step: number): void {
    this.#explicit.add(step);
    this.#pendingCheck = step;
  }

  /** A Skip reached the server (step-skip sent). */
  skipSent(step: number): void {
    this.#explicit.add(step);
    this.#skipping.add(step);
  }

  /** A report arrived: how to label it. */
  report(step: number, passed: boolean): ReportLabel {
    if (this.#pendingCheck === step) this.#pendingCheck = undefined;
    const auto = !this.#explicit.delete(step);
    const skipped = this.#skipping.delete(step);
    return { auto, skipFellShort: skipped && !passed };
  }

  /**
   * The server refused the last check-run (no report follows): returns the step it was for, if
   * any, whose next report is an automatic one again.
   */
  checkRefused(): number | undefined {
    const step = this.#pendingCheck;
    if (step === undefined) return undefined;
    this.#explicit.delete(step);
    this.#pendingCheck = undefined;
    return step;
  }

  /** The server refused a skip: nothing in flight is answered any more. */
  skipRefused(): void {
    this.#explicit.clear();
    this.#skipping.clear();
  }
}
