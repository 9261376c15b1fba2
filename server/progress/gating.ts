// The gating rule of common/gating.ts applied to a lab and its stored progress: which steps an
// attendee may check, what a passing report completes, and the progress a page is sent. Progress
// is stored by step id; gating works on the lab's current order, so ids are mapped to positions
// here, and ids the lab no longer has drop out.
import type { DoneMark, Gate } from '../../common/gating.ts';
import { currentStep as firstNotDone, isStepOpen, passCompletes } from '../../common/gating.ts';
import type { ProgressState } from '../../common/protocol.ts';
import type { LabProgress } from './progress-store.ts';

export interface GatedLab {
  meta: { gate: Gate };
  steps: readonly { id: string }[];
}

/** Done marks by position in this lab (its current order), in step order; unknown ids are left out. */
export function doneMarks(lab: GatedLab, progress: Pick<LabProgress, 'done'>): (DoneMark & { stepId: string; at: number; replayed?: true })[] {
  const position = new Map(lab.steps.map((s, i) => [s.id, i]));
  return progress.done
    .flatMap((d) => {
      const step = position.get(d.stepId);
      return step === undefined ? [] : [{ step, stepId: d.stepId, at: d.at, skipped: d.skipped, ...(d.replayed === true ? { replayed: true as const } : {}) }];
    })
    .sort((a, b) => a.step - b.step);
}

/** The first step not done yet (steps.length once all are done). */
export function currentStep(lab: GatedLab, progress: LabProgress): number {
  return firstNotDone(lab.steps.length, doneMarks(lab, progress));
}

/** May this step be checked or skipped now (see isStepOpen)? */
export function isUnlocked(lab: GatedLab, progress: LabProgress, step: number): boolean {
  return isStepOpen(lab.meta.gate, lab.steps.length, doneMarks(lab, progress), step);
}

/** Does a passing report of this step mark it done (see passCompletes)? */
export function completesOnPass(lab: GatedLab, progress: LabProgress, step: number): boolean {
  return passCompletes(lab.meta.gate, lab.steps.length, doneMarks(lab, progress), step);
}

export function toProgressState(lab: GatedLab, progress: LabProgress): ProgressState {
  const done = doneMarks(lab, progress);
  return { current: firstNotDone(lab.steps.length, done), done };
}
