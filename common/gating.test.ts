import { describe, expect, it } from 'vitest';
import { currentStep, isStepOpen, passCompletes, stepGates } from './gating.ts';

const done = (...steps: number[]) => steps.map((step) => ({ step, skipped: false }));

describe('the gating rule', () => {
  it('current is the first step not done, whatever is done after it', () => {
    expect(currentStep(3, [])).toBe(0);
    expect(currentStep(3, done(0, 2))).toBe(1);
    expect(currentStep(3, done(2, 1, 0))).toBe(3);
    expect(currentStep(0, [])).toBe(0);
  });

  it('hard gate: done steps and the current one are open, later ones locked', () => {
    expect(stepGates('hard', 4, [{ step: 0, skipped: false }, { step: 1, skipped: true }])).toEqual(['done', 'skipped', 'current', 'locked']);
    expect([0, 1, 2, 3].map((s) => isStepOpen('hard', 4, done(0, 1), s))).toEqual([true, true, true, false]);
  });

  it('soft gate: steps after the current one are open, not locked, and done ones out of order stay done', () => {
    expect(stepGates('soft', 4, done(2))).toEqual(['current', 'open', 'done', 'open']);
    expect([0, 1, 2, 3].map((s) => isStepOpen('soft', 4, done(2), s))).toEqual([true, true, true, true]);
  });

  it('no step outside the lab is open, under either gate', () => {
    for (const gate of ['hard', 'soft'] as const) {
      expect(isStepOpen(gate, 2, [], -1)).toBe(false);
      expect(isStepOpen(gate, 2, [], 2)).toBe(false);
      expect(isStepOpen(gate, 2, [], 0.5)).toBe(false);
    }
  });

  it('a pass completes only the current step under a hard gate, any step not done under a soft one', () => {
    expect(passCompletes('hard', 3, done(0), 1)).toBe(true);
    expect(passCompletes('hard', 3, done(0), 2)).toBe(false);
    expect(passCompletes('hard', 3, done(0), 0)).toBe(false);
    expect(passCompletes('soft', 3, done(0), 2)).toBe(true);
    expect(passCompletes('soft', 3, done(0, 2), 2)).toBe(false);
    expect(passCompletes('soft', 3, [], 3)).toBe(false);
  });
});
