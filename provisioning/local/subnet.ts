// IPv4 subnet arithmetic and the choice of one free subnet per environment out of the configured range,
// avoiding subnets other environments hold and any route that already exists on the machine.

export interface Cidr {
  /** Network address as an unsigned 32-bit integer. */
  base: number;
  prefix: number;
}

export function parseIp(s: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) throw new Error(`not an IPv4 address: "${s}"`);
  const parts = m.slice(1, 5).map(Number);
  if (parts.some((p) => p > 255)) throw new Error(`not an IPv4 address: "${s}"`);
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

export function formatIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

const mask = (prefix: number): number => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

export function parseCidr(s: string): Cidr {
  const [ip, p] = s === 'default' ? ['0.0.0.0', '0'] : s.includes('/') ? s.split('/') : [s, '32'];
  const prefix = Number(p);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new Error(`not an IPv4 CIDR: "${s}"`);
  return { base: (parseIp(ip ?? '') & mask(prefix)) >>> 0, prefix };
}

export const formatCidr = (c: Cidr): string => `${formatIp(c.base)}/${c.prefix}`;
export const cidrSize = (c: Cidr): number => 2 ** (32 - c.prefix);

export function overlaps(a: Cidr, b: Cidr): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return ((a.base & mask(p)) >>> 0) === ((b.base & mask(p)) >>> 0);
}

/** Largest host count a subnet of this prefix holds: network, bridge and broadcast addresses are taken. */
export const maxHostsFor = (prefix: number): number => 2 ** (32 - prefix) - 3;

/** Bridge gets the first usable address; host i gets the next ones. */
export function addressesIn(subnet: Cidr, hosts: number): { bridge: string; hosts: string[] } {
  if (hosts > maxHostsFor(subnet.prefix)) throw new Error(`a /${subnet.prefix} holds at most ${maxHostsFor(subnet.prefix)} hosts`);
  return {
    bridge: formatIp(subnet.base + 1),
    hosts: Array.from({ length: hosts }, (_, i) => formatIp(subnet.base + 2 + i)),
  };
}

/**
 * The first /prefix block of `range` that overlaps nothing in `taken` (other environments' subnets and
 * the machine's routes and addresses). Undefined when the range is full.
 */
export function chooseSubnet(range: Cidr, prefix: number, taken: readonly Cidr[], start = 0): Cidr | undefined {
  if (prefix < range.prefix) throw new Error(`subnet prefix /${prefix} is larger than the range /${range.prefix}`);
  const count = 2 ** (prefix - range.prefix);
  const step = 2 ** (32 - prefix);
  // Real routes wider than the range (a default route) never count: they do not make a lab subnet unreachable.
  const relevant = taken.filter((t) => t.prefix >= range.prefix && overlaps(t, range));
  for (let k = 0; k < count; k++) {
    const i = (start + k) % count;
    const candidate: Cidr = { base: (range.base + i * step) >>> 0, prefix };
    if (!relevant.some((t) => overlaps(t, candidate))) return candidate;
  }
  return undefined;
}
