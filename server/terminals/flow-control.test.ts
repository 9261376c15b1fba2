import { describe, expect, it } from 'vitest';
import { FlowControl } from './flow-control.ts';

function make(high = 100, low = 25) {
  const calls: string[] = [];
  const fc = new FlowControl({ pause: () => calls.push('pause'), resume: () => calls.push('resume') }, high, low);
  return { fc, calls };
}

describe('FlowControl', () => {
  it('pauses the source once unacknowledged output reaches the high-water mark', () => {
    const { fc, calls } = make();
    fc.sent(60);
    expect(calls).toEqual([]);
    fc.sent(40);
    expect(calls).toEqual(['pause']);
    expect(fc.paused).toBe(true);
    // More output while paused (the chunk already read) pauses only once.
    fc.sent(30);
    expect(calls).toEqual(['pause']);
    expect(fc.peak).toBe(130);
  });

  it('resumes only once the browser is down to the low-water mark, not just below the high one', () => {
    const { fc, calls } = make();
    fc.sent(120);
    fc.acked(50); // 70 left: still behind
    expect(calls).toEqual(['pause']);
    fc.acked(45); // 25 left
    expect(calls).toEqual(['pause', 'resume']);
    expect(fc.paused).toBe(false);
  });

  it('never lets over-acknowledgement open the window beyond the high-water mark', () => {
    const { fc, calls } = make();
    fc.sent(10);
    fc.acked(1_000_000);
    expect(fc.unacked).toBe(0);
    fc.sent(100);
    expect(calls).toEqual(['pause']);
  });

  it('rejects nonsensical thresholds', () => {
    expect(() => make(10, 10)).toThrow(RangeError);
  });
});
