import { describe, expect, it } from 'vitest';
import { ProxyTrust } from './proxy-trust.ts';

describe('ProxyTrust', () => {
  it('trusts nobody unless configured', () => {
    const t = new ProxyTrust([]);
    expect(t.configured).toBe(false);
    expect(t.trusts('127.0.0.1')).toBe(false);
  });

  it('trusts the listed addresses and CIDRs, IPv4-mapped IPv6 included', () => {
    const t = new ProxyTrust(['127.0.0.1', '10.0.0.0/8', 'fd00::/8']);
    for (const a of ['127.0.0.1', '::ffff:127.0.0.1', '10.200.3.4', 'fd12::1']) expect(t.trusts(a)).toBe(true);
    for (const a of ['127.0.0.2', '11.0.0.1', 'fe80::1', '::1', 'garbage', '', undefined]) expect(t.trusts(a)).toBe(false);
  });
});
