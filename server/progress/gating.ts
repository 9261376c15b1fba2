// The gating rule of common/gating.ts applied to a lab and its stored progress: which steps an
// attendee may check, what a passing report completes, and the progress a page is sent.
import type { Gate } from '../../common/gating.ts';
import { currentStep as firstNotDone, isStepOpen, passCompletes } from '../../common/gating.ts';
import type { ProgressState } from '../../common/protocol.ts';
import type { LabProgress } from './progress-store.ts';

export interface GatedLab {
  meta: { gate: Gate };
  steps: readonly unknown[];
}

/** The first step not done yet (steps.length once all are done). */
export function currentStep(lab: GatedLab, progress: LabProgress): number {
  return firstNotDone(lab.steps.length, progress.done);
}

/** May this step be checked or skipped now (see isStepOpen)? */
export function isUnlocked(lab: GatedLab, progress: LabProgress, step: number): boolean {
  return isStepOpen(lab.meta.gate, lab.steps.length, progress.done, step);
}

/** Does a passing report of this step mark it done (see passCompletes)? */
export function completesOnPass(lab: GatedLab, progress: LabProgress, step: number): boolean {
  return passCompletes(lab.meta.gate, lab.steps.length, progress.done, step);
}

export function toProgressState(lab: GatedLab, progress: LabProgress): ProgressState {
  return { current: currentStep(lab, progress), done: progress.done.map((d) => ({ step: d.step, at: d.at, skipped: d.skipped })) };
}
