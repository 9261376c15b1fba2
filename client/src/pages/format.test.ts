// The lab facts and the dashboard's clocks as people read them.
import { describe, expect, it } from 'vitest';
import { duration, formatDuration, plural } from './format.ts';

describe('plural', () => {
  it('adds an s except for exactly one', () => {
    expect([0, 1, 2].map((n) => plural(n, 'host'))).toEqual(['0 hosts', '1 host', '2 hosts']);
  });
});

describe('formatDuration', () => {
  it('says minutes under an hour, hours and the rest above', () => {
    expect(formatDuration(45)).toBe('45 min');
    expect(formatDuration(60)).toBe('1 h');
    expect(formatDuration(90)).toBe('1 h 30 min');
    expect(formatDuration(125)).toBe('2 h 5 min');
  });
});

describe('duration', () => {
  it('counts seconds, then minutes and seconds, then hours and minutes, with two-digit parts', () => {
    expect(duration(0)).toBe('0s');
    expect(duration(59_999)).toBe('59s');
    expect(duration(60_000)).toBe('1m 00s');
    expect(duration(3 * 60_000 + 7_000)).toBe('3m 07s');
    expect(duration(3_600_000 + 5 * 60_000 + 59_000)).toBe('1h 05m');
  });

  it('never shows a negative time (a countdown past zero, a clock a little ahead)', () => {
    expect(duration(-5_000)).toBe('0s');
  });
});
