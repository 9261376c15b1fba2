// The dashboard's fault words: the instructor reads from them whom a fault reached and why not.
import { describe, expect, it } from 'vitest';
import { faultLabel, faultStateText, fireSummary } from './fault-text.ts';

describe('fault text', () => {
  it('labels a fault with its host and step', () => {
    expect(faultLabel({ name: 'x', title: 'Overlay down', host: 'host2', step: 1 })).toBe('Overlay down (host2, step 2)');
  });

  it('says whether a fired fault is still broken or repaired', () => {
    expect(faultStateText({ name: 'x', firedAt: 0, state: 'broken' })).toMatch(/^fired at .* · still broken$/);
    expect(faultStateText({ name: 'x', firedAt: 0, state: 'repaired', repairedAt: 1000 })).toMatch(/· repaired at /);
    expect(faultStateText({ name: 'x', firedAt: 0, state: 'failed', message: 'exit 1' })).toMatch(/could not fire at .*: exit 1/);
  });

  it('names who a fault did not reach and why', () => {
    expect(fireSummary('Overlay down', [{ attendee: 'a', name: 'Ann', ok: true, message: 'fired on host2' }])).toBe('Fired "Overlay down" for 1 of 1 attendee.');
    expect(fireSummary('Overlay down', [
      { attendee: 'a', name: 'Ann', ok: true, message: 'fired' },
      { attendee: 'b', name: 'Bob', ok: false, message: 'they have not finished step 2 yet' },
    ])).toBe('Fired "Overlay down" for 1 of 2 attendees. Not fired — Bob: they have not finished step 2 yet.');
    expect(fireSummary('Overlay down', [])).toBe('"Overlay down": nobody to fire it for yet.');
  });
});
