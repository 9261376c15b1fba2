import { describe, expect, it } from 'vitest';
import { MIB_PER_HOST, bootAheadRefusal, keptBootAheadRefusals, machineMemory, reserveMiB } from './boot-ahead-guard.ts';

describe('boot-ahead memory guard', () => {
  const memory = { availableMiB: 4096, totalMiB: 8192 };

  it('lets environments that fit with the reserve left free boot ahead', () => {
    // 40 × 1 host × 64 MiB = 2560 MiB; 4096 − 1024 reserve = 3072 MiB spare.
    expect(bootAheadRefusal({ environments: 40, hostsPerEnvironment: 1, pendingHosts: 0, memory })).toBeUndefined();
  });

  it('refuses what would not fit, naming the need, what the machine has, the reserve and how many would fit', () => {
    // 40 × 3 hosts × 64 MiB = 7680 MiB against 3072 MiB spare: 16 environments of 3 hosts fit.
    const why = bootAheadRefusal({ environments: 40, hostsPerEnvironment: 3, pendingHosts: 0, memory });
    expect(why).toBe(
      `not enough memory to boot 40 environments ahead: they need about 7680 MiB (40 × 3 hosts × ${MIB_PER_HOST} MiB), and this machine has 4096 MiB available, of which 1024 MiB stays free for the server and the attendees' work; about 16 would fit. Create the workshop with fewer seats, or leave the option off (the warm pool still boots a few ahead).`,
    );
  });

  it('counts what other workshops have still to boot ahead', () => {
    // 30 one-host environments fit alone (1920 ≤ 3072), not beside 20 hosts promised elsewhere (1280 MiB).
    expect(bootAheadRefusal({ environments: 30, hostsPerEnvironment: 1, pendingHosts: 0, memory })).toBeUndefined();
    expect(bootAheadRefusal({ environments: 30, hostsPerEnvironment: 1, pendingHosts: 20, memory })).toContain('1280 MiB of it promised to other workshops booting ahead');
  });

  it('at a start, keeps the boot-aheads that still fit in order and refuses the ones after them that do not', () => {
    // 3072 MiB spare = 48 hosts: 30 fit; then 30 more do not (beside 30 promised); then 10 still do (40 of 48).
    const refused = keptBootAheadRefusals(
      [
        { id: 'a', seats: 30, hostsPerEnvironment: 1 },
        { id: 'b', seats: 30, hostsPerEnvironment: 1 },
        { id: 'c', seats: 10, hostsPerEnvironment: 1 },
      ],
      memory,
    );
    expect([...refused.keys()]).toEqual(['b']);
    expect(refused.get('b')).toContain('1920 MiB of it promised to other workshops booting ahead');
  });

  it('keeps at least 1 GiB, or a tenth of the memory on a large machine, free', () => {
    expect(reserveMiB(4096)).toBe(1024);
    expect(reserveMiB(65536)).toBe(6554);
  });

  it('reads this machine’s memory', () => {
    const m = machineMemory();
    expect(m.totalMiB).toBeGreaterThan(0);
    expect(m.availableMiB).toBeGreaterThan(0);
    expect(m.availableMiB).toBeLessThanOrEqual(m.totalMiB);
  });
});
