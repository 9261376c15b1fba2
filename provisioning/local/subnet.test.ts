import { describe, expect, it } from 'vitest';
import { addressesIn, chooseSubnet, formatCidr, maxHostsFor, overlaps, parseCidr } from './subnet.ts';

describe('subnet allocation', () => {
  const range = parseCidr('10.213.0.0/16');

  it('gives the first /27 of an empty range, bridge on .1 and hosts from .2', () => {
    const s = chooseSubnet(range, 27, [])!;
    expect(formatCidr(s)).toBe('10.213.0.0/27');
    expect(addressesIn(s, 3)).toEqual({ bridge: '10.213.0.1', hosts: ['10.213.0.2', '10.213.0.3', '10.213.0.4'] });
  });

  it('never hands out a subnet another environment holds', () => {
    const taken = [parseCidr('10.213.0.0/27'), parseCidr('10.213.0.32/27')];
    expect(formatCidr(chooseSubnet(range, 27, taken)!)).toBe('10.213.0.64/27');
  });

  it('skips blocks that collide with an existing route, including narrower and wider ones', () => {
    const routes = [parseCidr('10.213.0.5/32'), parseCidr('10.213.0.32/28'), parseCidr('10.213.0.64/26')];
    expect(formatCidr(chooseSubnet(range, 27, routes)!)).toBe('10.213.0.128/27');
  });

  it('ignores a default route, which covers everything', () => {
    expect(formatCidr(chooseSubnet(range, 27, [parseCidr('default'), parseCidr('0.0.0.0/0')])!)).toBe('10.213.0.0/27');
  });

  it('reports a full range as undefined rather than reusing a subnet', () => {
    const small = parseCidr('10.213.0.0/26');
    expect(chooseSubnet(small, 27, [parseCidr('10.213.0.0/27'), parseCidr('10.213.0.32/27')])).toBeUndefined();
  });

  it('wraps around from a start index', () => {
    const small = parseCidr('10.213.0.0/26');
    expect(formatCidr(chooseSubnet(small, 27, [parseCidr('10.213.0.32/27')], 1)!)).toBe('10.213.0.0/27');
  });

  it('knows how many hosts fit and refuses more', () => {
    expect(maxHostsFor(27)).toBe(29);
    expect(() => addressesIn(parseCidr('10.0.0.0/29'), 6)).toThrow(/at most 5/);
  });

  it('overlap is symmetric and exact at block edges', () => {
    expect(overlaps(parseCidr('10.0.0.0/27'), parseCidr('10.0.0.31/32'))).toBe(true);
    expect(overlaps(parseCidr('10.0.0.32/32'), parseCidr('10.0.0.0/27'))).toBe(false);
    expect(() => parseCidr('10.0.0.300/27')).toThrow(/IPv4/);
  });
});
