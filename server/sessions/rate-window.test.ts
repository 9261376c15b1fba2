import { describe, expect, it } from 'vitest';
import { RateWindow, addressKey } from './rate-window.ts';

function window(max: number, maxKeys = 100) {
  let t = 1_000_000;
  const w = new RateWindow({ max, windowMs: 60_000, maxKeys, now: () => t });
  return { w, advance: (ms: number) => (t += ms) };
}

describe('RateWindow', () => {
  it('allows max events per window, then says how long to wait', () => {
    const { w, advance } = window(3);
    for (let i = 0; i < 3; i++) expect(w.take('a')).toBe(0);
    advance(20_000);
    expect(w.take('a')).toBe(40_000);
    advance(40_000);
    expect(w.take('a')).toBe(0);
  });

  it('counts keys apart and remembers a bounded number of them', () => {
    const { w } = window(1, 2);
    expect(w.take('a')).toBe(0);
    expect(w.take('b')).toBe(0);
    expect(w.take('b')).toBeGreaterThan(0);
    expect(w.take('c')).toBe(0);
    expect(w.size).toBe(2);
    // 'a' was forgotten (least recently seen): it starts afresh.
    expect(w.take('a')).toBe(0);
  });
});

describe('addressKey', () => {
  it('keeps IPv4, unwraps IPv4-mapped IPv6 and groups IPv6 by /64', () => {
    expect(addressKey('10.0.0.7')).toBe('10.0.0.7');
    expect(addressKey('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(addressKey('2001:db8:0:1:aaaa::1')).toBe('2001:db8:0:1::/64');
    expect(addressKey('2001:db8:0:1:bbbb:cccc:dddd:eeee')).toBe('2001:db8:0:1::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey(undefined)).toBe('unknown');
  });
});
