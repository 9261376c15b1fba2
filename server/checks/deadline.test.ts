import { describe, expect, it } from 'vitest';
import { deadline } from './deadline.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('deadline', () => {
  it('aborts with a TimeoutError once the time is up, as AbortSignal.timeout does', async () => {
    const d = deadline(20);
    expect(d.signal.aborted).toBe(false);
    await sleep(60);
    expect(d.signal.aborted).toBe(true);
    expect(d.signal.reason).toBeInstanceOf(DOMException);
    expect((d.signal.reason as DOMException).name).toBe('TimeoutError');
  });

  it('never fires once cleared: finished work leaves no abort behind', async () => {
    const d = deadline(20);
    let events = 0;
    d.signal.addEventListener('abort', () => events++);
    d.clear();
    await sleep(60);
    expect(d.signal.aborted).toBe(false);
    expect(events).toBe(0);
  });

  it('follows the caller\'s signal too, with its reason', () => {
    const caller = new AbortController();
    const d = deadline(10_000, caller.signal);
    caller.abort(new Error('page closed'));
    expect(d.signal.aborted).toBe(true);
    expect((d.signal.reason as Error).message).toBe('page closed');
    d.clear();
  });
});
