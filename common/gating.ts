// The gating rule, written once: which step is current, which steps are open to check, and what a
// passing check completes — used by the server's check handling, the dashboard rows and the lab page.

/** `hard`: a step opens only once the previous ones are done; `soft`: every step is open, checks are advisory. */
export type Gate = 'hard' | 'soft';

/** What the rule needs to know of a done step. */
export interface DoneMark {
  step: number;
  skipped: boolean;
}

/** Where a step stands: done (or skipped), the current one, open to check, or locked by a hard gate. */
export type StepGate = 'done' | 'skipped' | 'current' | 'open' | 'locked';

/** The first step not done yet (stepCount once all are done). */
export function currentStep(stepCount: number, done: readonly Pick<DoneMark, 'step'>[]): number {
  const marks = new Set(done.map((d) => d.step));
  let i = 0;
  while (i < stepCount && marks.has(i)) i++;
  return i;
}

/** Every step's standing. Hard gate: steps after the current one are locked. Soft gate: they are open. */
export function stepGates(gate: Gate, stepCount: number, done: readonly DoneMark[]): StepGate[] {
  const marks = new Map(done.map((d) => [d.step, d]));
  const current = currentStep(stepCount, done);
  return Array.from({ length: stepCount }, (_, i) => {
    const d = marks.get(i);
    if (d) return d.skipped ? 'skipped' : 'done';
    if (i === current) return 'current';
    return gate === 'soft' ? 'open' : 'locked';
  });
}

/** May this step be checked (or skipped) now? Done steps may be checked again; that is harmless. */
export function isStepOpen(gate: Gate, stepCount: number, done: readonly Pick<DoneMark, 'step'>[], step: number): boolean {
  if (!Number.isInteger(step) || step < 0 || step >= stepCount) return false;
  return gate === 'soft' || step <= currentStep(stepCount, done);
}

/** Does a passing check of this step mark it done? Hard gate: only the current step's. Soft: any step not done yet. */
export function passCompletes(gate: Gate, stepCount: number, done: readonly Pick<DoneMark, 'step'>[], step: number): boolean {
  if (!Number.isInteger(step) || step < 0 || step >= stepCount) return false;
  if (done.some((d) => d.step === step)) return false;
  return gate === 'soft' || step === currentStep(stepCount, done);
}
