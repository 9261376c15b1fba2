// Which direct peers are reverse proxies whose X-Forwarded-* headers are believed. Anyone else's
// forwarded headers are ignored, so a client cannot pick its own throttle key or fake https.
import { BlockList, isIP } from 'node:net';

export class ProxyTrust {
  readonly #list = new BlockList();
  readonly configured: boolean;

  /** Entries as parsed by the config: addresses or CIDRs, IPv4 or IPv6. */
  constructor(entries: readonly string[]) {
    this.configured = entries.length > 0;
    for (const e of entries) {
      const [addr = '', prefix] = e.split('/');
      const type = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) this.#list.addAddress(addr, type);
      else this.#list.addSubnet(addr, Number(prefix), type);
    }
  }

  /** Whether this peer address is a trusted proxy; IPv4-mapped IPv6 (::ffff:a.b.c.d) counts as IPv4. */
  trusts(address: string | undefined): boolean {
    if (!this.configured || address === undefined) return false;
    const family = isIP(address);
    if (family === 0) return false;
    return this.#list.check(address, family === 6 ? 'ipv6' : 'ipv4');
  }
}
