// IPv4 address and CIDR arithmetic for the overlay check (lease inside network, leases disjoint,
// interface address inside its own lease) and for the http check's address allow-list.

export interface Cidr {
  /** Network base address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
  text: string;
}

/** Parses dotted-quad IPv4 into an unsigned 32-bit number; undefined when it is not one. */
export function parseIpv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text.trim());
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  if (octets.some((o) => o > 255)) return undefined;
  return octets.reduce((acc, o) => acc * 256 + o, 0);
}

const mask = (prefix: number): number => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

/** Parses `a.b.c.d/n`; the base is normalised to the network address. */
export function parseCidr(text: string): Cidr | undefined {
  const [addr, len, extra] = text.trim().split('/');
  if (addr === undefined || len === undefined || extra !== undefined || !/^\d{1,2}$/.test(len)) return undefined;
  const ip = parseIpv4(addr);
  const prefix = Number(len);
  if (ip === undefined || prefix > 32) return undefined;
  return { base: (ip & mask(prefix)) >>> 0, prefix, text: text.trim() };
}

export const cidrContainsIp = (c: Cidr, ip: number): boolean => ((ip & mask(c.prefix)) >>> 0) === c.base;

/** Whether `inner` lies entirely inside `outer`. */
export const cidrInside = (inner: Cidr, outer: Cidr): boolean => inner.prefix >= outer.prefix && cidrContainsIp(outer, inner.base);

export const cidrsOverlap = (a: Cidr, b: Cidr): boolean => cidrInside(a, b) || cidrInside(b, a);

/** Whether a host part of a URL is loopback (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  const ip = parseIpv4(h);
  return ip !== undefined && ip >>> 24 === 127;
}
