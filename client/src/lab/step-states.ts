// Which steps a lab page shows open, done or locked, from the server's progress: done steps are
// done, steps up to the current one are open (every step under a soft gate), the rest locked.
import type { LabView } from '../../../common/lab.ts';
import type { ProgressState } from '../../../common/protocol.ts';
import type { StepState } from './step-card.ts';

export function stepStates(view: LabView, progress: ProgressState): StepState[] {
  const done = new Set(progress.done.map((d) => d.step));
  return view.steps.map((s) => {
    if (done.has(s.index)) return 'done';
    if (s.index <= progress.current || view.meta.gate === 'soft') return 'open';
    return 'locked';
  });
}
