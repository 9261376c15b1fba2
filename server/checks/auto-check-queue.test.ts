import { describe, expect, it } from 'vitest';
import { AutoCheckQueue } from './auto-check-queue.ts';

/** A run that finishes when the test says so, recording when it started. */
function gated(log: string[], name: string) {
  let finish = (): void => undefined;
  const done = new Promise<void>((r) => (finish = r));
  return { run: () => (log.push(name), done), finish: () => finish() };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('auto-check queue', () => {
  it('never runs more than its concurrency at once, and starts the rest in order of arrival as slots free', async () => {
    const q = new AutoCheckQueue({ concurrency: 2 });
    const log: string[] = [];
    const runs = ['a', 'b', 'c', 'd', 'e'].map((n) => gated(log, n));
    for (const r of runs) q.add(r.run);
    expect(log).toEqual(['a', 'b']);
    expect(q.waiting).toBe(3);
    runs[1]?.finish();
    await settle();
    expect(log).toEqual(['a', 'b', 'c']);
    runs[0]?.finish();
    runs[2]?.finish();
    await settle();
    expect(log).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(q.peak).toBe(2);
  });

  it('a cancelled run never starts; a failing run frees its slot', async () => {
    const q = new AutoCheckQueue({ concurrency: 1 });
    const log: string[] = [];
    q.add(() => (log.push('fails'), Promise.reject(new Error('boom'))));
    const cancel = q.add(() => (log.push('cancelled'), Promise.resolve()));
    q.add(() => (log.push('runs'), Promise.resolve()));
    cancel();
    await settle();
    await settle();
    expect(log).toEqual(['fails', 'runs']);
    expect(q.running).toBe(0);
  });

  it('refuses a concurrency below one', () => {
    expect(() => new AutoCheckQueue({ concurrency: 0 })).toThrow(RangeError);
  });
});
