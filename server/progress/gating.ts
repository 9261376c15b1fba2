// Gating rules: which steps an attendee may check, and what a passing report unlocks. Pure
// functions over the lab's gate mode and the done steps, shared by the gateway module and tests.
import type { ProgressState } from '../../common/protocol.ts';
import type { LabProgress } from './progress-store.ts';

export interface GatedLab {
  meta: { gate: 'hard' | 'soft' };
  steps: readonly unknown[];
}

/** The first step not done yet (steps.length once all are done). */
export function currentStep(lab: GatedLab, progress: LabProgress): number {
  const done = new Set(progress.done.map((d) => d.step));
  let i = 0;
  while (i < lab.steps.length && done.has(i)) i++;
  return i;
}

/**
 * Hard gate: only done steps and the current one are open (checking a done step again is
 * harmless). Soft gate: every step is open; checks are advisory.
 */
export function isUnlocked(lab: GatedLab, progress: LabProgress, step: number): boolean {
  if (step < 0 || step >= lab.steps.length) return false;
  return lab.meta.gate === 'soft' || step <= currentStep(lab, progress);
}

export function toProgressState(lab: GatedLab, progress: LabProgress): ProgressState {
  return { current: currentStep(lab, progress), done: progress.done.map((d) => ({ step: d.step, at: d.at, skipped: d.skipped })) };
}
