import { describe, expect, it } from 'vitest';
import { cidrContainsIp, cidrInside, cidrsOverlap, isLoopbackHost, parseCidr, parseIpv4 } from './cidr.ts';

const c = (t: string) => {
  const v = parseCidr(t);
  if (!v) throw new Error(`bad cidr ${t}`);
  return v;
};

describe('cidr', () => {
  it('parses addresses and rejects junk', () => {
    expect(parseIpv4('10.2.1.5')).toBe(((10 * 256 + 2) * 256 + 1) * 256 + 5);
    expect(parseIpv4('10.2.1.256')).toBeUndefined();
    expect(parseIpv4('10.2.1')).toBeUndefined();
    expect(parseCidr('10.2.0.0/33')).toBeUndefined();
    expect(parseCidr('10.2.0.0')).toBeUndefined();
  });

  it('tells whether a lease lies inside the network', () => {
    expect(cidrInside(c('10.2.7.0/24'), c('10.2.0.0/16'))).toBe(true);
    expect(cidrInside(c('10.3.7.0/24'), c('10.2.0.0/16'))).toBe(false);
    expect(cidrInside(c('10.2.0.0/15'), c('10.2.0.0/16'))).toBe(false);
  });

  it('detects overlapping leases', () => {
    expect(cidrsOverlap(c('10.2.1.0/24'), c('10.2.1.128/25'))).toBe(true);
    expect(cidrsOverlap(c('10.2.1.0/24'), c('10.2.2.0/24'))).toBe(false);
  });

  it('tells whether an interface address lies in a lease', () => {
    expect(cidrContainsIp(c('10.2.1.0/24'), parseIpv4('10.2.1.1')!)).toBe(true);
    expect(cidrContainsIp(c('10.2.1.0/24'), parseIpv4('10.2.2.1')!)).toBe(false);
    expect(cidrContainsIp(c('0.0.0.0/0'), parseIpv4('8.8.8.8')!)).toBe(true);
  });

  it('recognises loopback hosts only', () => {
    for (const h of ['localhost', '127.0.0.1', '127.9.9.9', '[::1]', '::1']) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ['10.213.0.2', 'example.com', '128.0.0.1', 'localhost.evil.com']) expect(isLoopbackHost(h)).toBe(false);
  });
});
