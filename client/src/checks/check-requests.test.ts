// How a step's check report is labelled: the answer to a Check press or a Skip, or the automatic
// re-check's, and whether a skip fell short; a refused request leaves no stale "explicit" behind.
import { describe, expect, it } from 'vitest';
import { CheckRequests } from './check-requests.ts';

describe('CheckRequests', () => {
  it('labels a report automatic unless Check was pressed for its step', () => {
    const r = new CheckRequests();
    expect(r.report(0, false)).toEqual({ auto: true, skipFellShort: false });
    r.checkSent(1);
    expect(r.report(0, true)).toEqual({ auto: true, skipFellShort: false });
    expect(r.report(1, false)).toEqual({ auto: false, skipFellShort: false });
    // Only the next report answers the press.
    expect(r.report(1, false)).toEqual({ auto: true, skipFellShort: false });
  });

  it('a skip’s report is explicit, and says the solution fell short when it still fails', () => {
    const r = new CheckRequests();
    r.skipSent(2);
    expect(r.report(2, false)).toEqual({ auto: false, skipFellShort: true });
    r.skipSent(3);
    expect(r.report(3, true)).toEqual({ auto: false, skipFellShort: false });
  });

  it('a refused check names the step it was for, whose next report is automatic again', () => {
    const r = new CheckRequests();
    expect(r.checkRefused()).toBeUndefined();
    r.checkSent(4);
    expect(r.checkRefused()).toBe(4);
    expect(r.checkRefused()).toBeUndefined();
    expect(r.report(4, true)).toEqual({ auto: true, skipFellShort: false });
  });

  it('a report of the pressed step ends the wait for a check-run answer; another step’s does not', () => {
    const r = new CheckRequests();
    r.checkSent(0);
    r.report(1, true);
    expect(r.checkRefused()).toBe(0);
    r.checkSent(0);
    r.report(0, true);
    expect(r.checkRefused()).toBeUndefined();
  });

  it('a refused skip forgets every request in flight', () => {
    const r = new CheckRequests();
    r.skipSent(0);
    r.checkSent(1);
    r.skipRefused();
    expect(r.report(0, false)).toEqual({ auto: true, skipFellShort: false });
    expect(r.report(1, false)).toEqual({ auto: true, skipFellShort: false });
  });
});
