// Which steps the lab page opens: the hard gate locks what lies past the current step, the soft
// gate opens everything, and a done step stays done whatever the gate.
import { describe, expect, it } from 'vitest';
import type { LabView } from '../../../common/lab.ts';
import { stepStates } from './step-states.ts';

function lab(steps: number, gate: 'hard' | 'soft'): LabView {
  return {
    id: 'demo',
    meta: { title: 'Demo', summary: '', hosts: ['host0'], services: { etcd: 'none', docker: false }, durationMinutes: null, gate, allowSkip: false },
    intro: [],
    steps: Array.from({ length: steps }, (_, index) => ({ index, id: `step-${index + 1}`, title: `Step ${index + 1}`, parts: [], checkCount: 1, hasHints: false, canSkip: false })),
  };
}

const done = (...steps: number[]): { step: number; stepId: string; at: number; skipped: boolean }[] => steps.map((step) => ({ step, stepId: `step-${step + 1}`, at: 0, skipped: false }));

describe('stepStates', () => {
  it('opens the first step of a fresh lab and locks the rest (hard gate)', () => {
    expect(stepStates(lab(3, 'hard'), { current: 0, done: [] })).toEqual(['open', 'locked', 'locked']);
  });

  it('marks passed steps done and opens the current one', () => {
    expect(stepStates(lab(4, 'hard'), { current: 2, done: done(0, 1) })).toEqual(['done', 'done', 'open', 'locked']);
  });

  it('opens every step under a soft gate, done ones still done', () => {
    expect(stepStates(lab(3, 'soft'), { current: 0, done: done(1) })).toEqual(['open', 'done', 'open']);
  });

  it('is all done when the lab is finished', () => {
    expect(stepStates(lab(2, 'hard'), { current: 2, done: done(0, 1) })).toEqual(['done', 'done']);
  });

  it('a done step past the current one (skipped ahead) shows done, not locked', () => {
    expect(stepStates(lab(3, 'hard'), { current: 0, done: done(2) })).toEqual(['open', 'locked', 'done']);
  });
});
