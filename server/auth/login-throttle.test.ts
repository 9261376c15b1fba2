import { describe, expect, it } from 'vitest';
import { LoginThrottle } from './login-throttle.ts';

function throttle(maxAddresses = 100) {
  let t = 1_000_000;
  const th = new LoginThrottle({ maxFailures: 3, windowMs: 60_000, maxAddresses, now: () => t });
  return { th, advance: (ms: number) => (t += ms) };
}

describe('LoginThrottle', () => {
  it('lets an address fail up to the limit, then refuses it until the oldest failure ages out', () => {
    const { th, advance } = throttle();
    for (let i = 0; i < 3; i++) {
      expect(th.retryAfterMs('1.2.3.4')).toBe(0);
      th.recordFailure('1.2.3.4');
      advance(10_000);
    }
    // Failures at 0, 10 s, 20 s; now 30 s: the first leaves the window at 60 s.
    expect(th.retryAfterMs('1.2.3.4')).toBe(30_000);
    advance(30_000);
    expect(th.retryAfterMs('1.2.3.4')).toBe(0);
  });

  it('keeps addresses apart', () => {
    const { th } = throttle();
    for (let i = 0; i < 3; i++) th.recordFailure('10.0.0.1');
    expect(th.retryAfterMs('10.0.0.1')).toBeGreaterThan(0);
    expect(th.retryAfterMs('10.0.0.2')).toBe(0);
  });

  it('remembers a bounded number of addresses, forgetting the least recent first', () => {
    const { th } = throttle(2);
    for (const a of ['a', 'b', 'c']) for (let i = 0; i < 3; i++) th.recordFailure(a);
    expect(th.retryAfterMs('a')).toBe(0);
    expect(th.retryAfterMs('b')).toBeGreaterThan(0);
    expect(th.retryAfterMs('c')).toBeGreaterThan(0);
  });
});
