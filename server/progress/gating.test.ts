import { describe, expect, it } from 'vitest';
import { currentStep, isUnlocked, toProgressState } from './gating.ts';
import { MemoryProgressStore } from './progress-store.ts';

const lab = (gate: 'hard' | 'soft', ids = ['a', 'b', 'c']) => ({ meta: { gate }, steps: ids.map((id) => ({ id })) });

describe('gating', () => {
  it('hard gate: only the current step and done ones are open', async () => {
    const store = new MemoryProgressStore();
    let p = await store.get('s', 'etcd');
    expect(isUnlocked(lab('hard'), p, 0)).toBe(true);
    expect(isUnlocked(lab('hard'), p, 1)).toBe(false);
    p = await store.markDone('s', 'etcd', { stepId: 'a', at: 1, skipped: false });
    expect(currentStep(lab('hard'), p)).toBe(1);
    expect(isUnlocked(lab('hard'), p, 1)).toBe(true);
    expect(isUnlocked(lab('hard'), p, 2)).toBe(false);
    expect(isUnlocked(lab('hard'), p, 3)).toBe(false);
  });

  it('soft gate: every step is open, and current is the first not done', async () => {
    const store = new MemoryProgressStore();
    const p = await store.markDone('s', 'etcd', { stepId: 'b', at: 5, skipped: false });
    expect(isUnlocked(lab('soft'), p, 2)).toBe(true);
    expect(toProgressState(lab('soft'), p)).toEqual({ current: 0, done: [{ step: 1, stepId: 'b', at: 5, skipped: false }] });
  });

  it('keys progress by step id: inserted, reordered and removed steps never shift it', async () => {
    const store = new MemoryProgressStore();
    await store.markDone('s', 'etcd', { stepId: 'a', at: 1, skipped: false });
    const p = await store.markDone('s', 'etcd', { stepId: 'b', at: 2, skipped: true });
    // A new step first, b and a swapped, c removed, d added: a and b stay done where they now are.
    const edited = lab('hard', ['new', 'b', 'a', 'd']);
    expect(toProgressState(edited, p)).toEqual({
      current: 0,
      done: [
        { step: 1, stepId: 'b', at: 2, skipped: true },
        { step: 2, stepId: 'a', at: 1, skipped: false },
      ],
    });
    expect(isUnlocked(edited, p, 3)).toBe(false);
    const doneFirst = await store.markDone('s', 'etcd', { stepId: 'new', at: 3, skipped: false });
    expect(currentStep(edited, doneFirst)).toBe(3);
  });

  it('keeps progress per session and lab, and a step done once keeps its first time', async () => {
    const store = new MemoryProgressStore();
    await store.markDone('a', 'etcd', { stepId: 'x', at: 1, skipped: false });
    await store.markDone('a', 'etcd', { stepId: 'x', at: 9, skipped: true });
    await store.recordAttempt('a', 'etcd', 'x', false, 1);
    await store.recordAttempt('a', 'etcd', 'x', true, 2);
    expect(await store.get('a', 'etcd')).toEqual({ done: [{ stepId: 'x', at: 1, skipped: false }], attempts: { x: { count: 2, lastAt: 2, lastPassed: true } } });
    expect(await store.get('b', 'etcd')).toEqual({ done: [], attempts: {} });
    expect(await store.get('a', 'other')).toEqual({ done: [], attempts: {} });
  });
});
