// Which steps a lab page shows open, done or locked, from the server's progress, by the one gating
// rule (common/gating.ts): done and skipped steps are done, the current one and (soft gate) later
// ones are open, and a hard gate locks the rest.
import { stepGates } from '../../../common/gating.ts';
import type { LabView } from '../../../common/lab.ts';
import type { ProgressState } from '../../../common/protocol.ts';
import type { StepState } from './step-card.ts';

export function stepStates(view: LabView, progress: ProgressState): StepState[] {
  return stepGates(view.meta.gate, view.steps.length, progress.done).map((g) => (g === 'done' || g === 'skipped' ? 'done' : g === 'locked' ? 'locked' : 'open'));
}
