import { describe, expect, it } from 'vitest';
import type { WorkshopInfo } from '../../../common/workshop.ts';
import { bootAheadText } from './boot-ahead-controls.ts';

const workshop = { bootAhead: true } as WorkshopInfo;

describe('the dashboard line of hosts booted ahead', () => {
  it('says how many of how many, and when they are all ready', () => {
    expect(bootAheadText({ workshop, bootAhead: { ready: 12, of: 40 } })).toBe('Hosts booted ahead: 12 of 40 (booting…)');
    expect(bootAheadText({ workshop, bootAhead: { ready: 40, of: 40 } })).toBe('Hosts booted ahead: 40 of 40 — ready, the class can join at once.');
    expect(bootAheadText({ workshop, bootAhead: { ready: 0, of: 0 } })).toBe('Hosts booted ahead: every seat has its hosts.');
    expect(bootAheadText({ workshop: {} as WorkshopInfo })).toBeUndefined();
  });

  it('says why when the server turned the option off at start, and nothing once it is on again', () => {
    const why = 'Boot hosts ahead was turned off when the server started: not enough memory to boot 40 environments ahead';
    expect(bootAheadText({ workshop: {} as WorkshopInfo, bootAheadStopped: why })).toBe(why);
    expect(bootAheadText({ workshop, bootAhead: { ready: 1, of: 40 }, bootAheadStopped: why })).toBe('Hosts booted ahead: 1 of 40 (booting…)');
  });
});
