import { describe, expect, it } from 'vitest';
import { currentStep, isUnlocked, toProgressState } from './gating.ts';
import { MemoryProgressStore } from './progress-store.ts';

const lab = (gate: 'hard' | 'soft') => ({ meta: { gate }, steps: [0, 1, 2] });

describe('gating', () => {
  it('hard gate: only the current step and done ones are open', async () => {
    const store = new MemoryProgressStore();
    let p = await store.get('s', 'etcd');
    expect(isUnlocked(lab('hard'), p, 0)).toBe(true);
    expect(isUnlocked(lab('hard'), p, 1)).toBe(false);
    p = await store.markDone('s', 'etcd', { step: 0, at: 1, skipped: false });
    expect(currentStep(lab('hard'), p)).toBe(1);
    expect(isUnlocked(lab('hard'), p, 1)).toBe(true);
    expect(isUnlocked(lab('hard'), p, 2)).toBe(false);
    expect(isUnlocked(lab('hard'), p, 3)).toBe(false);
  });

  it('soft gate: every step is open, and current is the first not done', async () => {
    const store = new MemoryProgressStore();
    const p = await store.markDone('s', 'etcd', { step: 1, at: 5, skipped: false });
    expect(isUnlocked(lab('soft'), p, 2)).toBe(true);
    expect(toProgressState(lab('soft'), p)).toEqual({ current: 0, done: [{ step: 1, at: 5, skipped: false }] });
  });

  it('keeps progress per session and lab, and a step done once keeps its first time', async () => {
    const store = new MemoryProgressStore();
    await store.markDone('a', 'etcd', { step: 0, at: 1, skipped: false });
    await store.markDone('a', 'etcd', { step: 0, at: 9, skipped: true });
    await store.recordAttempt('a', 'etcd', 0, false, 1);
    await store.recordAttempt('a', 'etcd', 0, true, 2);
    expect(await store.get('a', 'etcd')).toEqual({ done: [{ step: 0, at: 1, skipped: false }], attempts: { 0: { count: 2, lastAt: 2, lastPassed: true } } });
    expect(await store.get('b', 'etcd')).toEqual({ done: [], attempts: {} });
    expect(await store.get('a', 'other')).toEqual({ done: [], attempts: {} });
  });
});
