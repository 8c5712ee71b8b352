/**
 * Which IP addresses an outbound request may connect to. Everything that is not a public unicast
 * address is refused: loopback, private (RFC 1918), carrier-grade NAT, link-local (cloud metadata
 * at 169.254.169.254 included), unique-local and site-local IPv6, multicast, unspecified,
 * reserved and documentation ranges. An IPv4 address carried inside IPv6 (mapped `::ffff:a.b.c.d`,
 * NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) is judged as the IPv4 address it reaches. Networks an
 * operator lists explicitly (tests' 127.0.0.1, an internal EHR) are allowed; none by default.
 */
import { BlockList, isIP } from 'node:net';
import { GalenError } from '../core/index.js';

/** [network, prefix length, why it is refused]. */
const REFUSED_V4: readonly (readonly [string, number, string])[] = [
  ['0.0.0.0', 8, 'an unspecified ("this network") address'],
  ['10.0.0.0', 8, 'a private address'],
  ['100.64.0.0', 10, 'a carrier-grade NAT address'],
  ['127.0.0.0', 8, 'a loopback address'],
  ['169.254.0.0', 16, 'a link-local address'],
  ['172.16.0.0', 12, 'a private address'],
  ['192.0.0.0', 24, 'an IETF protocol address'],
  ['192.0.2.0', 24, 'a documentation address'],
  ['192.88.99.0', 24, 'a 6to4 relay address'],
  ['192.168.0.0', 16, 'a private address'],
  ['198.18.0.0', 15, 'a benchmarking address'],
  ['198.51.100.0', 24, 'a documentation address'],
  ['203.0.113.0', 24, 'a documentation address'],
  ['224.0.0.0', 4, 'a multicast address'],
  ['240.0.0.0', 4, 'a reserved or broadcast address'],
];

const REFUSED_V6: readonly (readonly [string, number, string])[] = [
  ['::', 96, 'an unspecified, loopback or IPv4-compatible address'],
  ['100::', 64, 'a discard address'],
  ['2001::', 32, 'a Teredo address'],
  ['2001:db8::', 32, 'a documentation address'],
  ['fc00::', 7, 'a unique-local address'],
  ['fe80::', 10, 'a link-local address'],
  ['fec0::', 10, 'a site-local address'],
  ['ff00::', 8, 'a multicast address'],
];

/** The eight 16-bit groups of an IPv6 address (a dotted IPv4 tail and a zone id allowed). */
function ipv6Groups(address: string): number[] {
  let text = address.split('%')[0]!;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  return [...left, ...new Array<number>(Math.max(0, 8 - left.length - right.length)).fill(0), ...right];
}

const dottedOf = (hi: number, lo: number): string => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;

/** The IPv4 address an IPv6 address reaches (mapped, NAT64, 6to4), if it carries one. */
function embeddedIpv4(address: string): string | undefined {
  const g = ipv6Groups(address);
  const zero = (from: number, to: number): boolean => g.slice(from, to).every((x) => x === 0);
  if (zero(0, 5) && g[5] === 0xffff) return dottedOf(g[6]!, g[7]!);
  if (g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6)) return dottedOf(g[6]!, g[7]!);
  if (g[0] === 0x2002) return dottedOf(g[1]!, g[2]!);
  return undefined;
}

/** Adds `network` ("a.b.c.d", "a.b.c.d/n", "v6" or "v6/n") to `list`; throws `invalid_input` when it is none. */
function addNetwork(list: BlockList, network: string, what: string): void {
  const [address = '', prefix] = network.trim().split('/');
  const family = isIP(address);
  const bits = prefix === undefined ? (family === 6 ? 128 : 32) : Number(prefix);
  if (family === 0 || !Number.isInteger(bits) || bits < 0 || bits > (family === 6 ? 128 : 32)) {
    throw new GalenError(
      'invalid_input',
      `${what} ${JSON.stringify(network)} is not an IP address or CIDR network (e.g. "127.0.0.1", "10.1.0.0/16", "::1")`,
    );
  }
  list.addSubnet(address, bits, family === 6 ? 'ipv6' : 'ipv4');
}

/** The verdict on one address: allowed, or refused with the kind of address it is. */
export type AddressVerdict = { allowed: true } | { allowed: false; kind: string };

/** Judges addresses: public unicast, or explicitly allowed. */
export class AddressPolicy {
  private readonly refused = new Map<string, BlockList>();
  private readonly allowed = new BlockList();

  /** `allowNetworks`: addresses and CIDR networks that may be reached although not public. */
  constructor(allowNetworks: readonly string[] = []) {
    for (const [ranges, family] of [
      [REFUSED_V4, 'ipv4'],
      [REFUSED_V6, 'ipv6'],
    ] as const) {
      for (const [network, bits, kind] of ranges) {
        const list = this.refused.get(kind) ?? new BlockList();
        list.addSubnet(network, bits, family);
        this.refused.set(kind, list);
      }
    }
    for (const network of allowNetworks)
      addNetwork(this.allowed, network, 'outbound.allowPrivateNetworks entry');
  }

  /** Whether `address` (an IP literal) may be connected to. Anything that is not an IP is refused. */
  judge(address: string): AddressVerdict {
    const plain = address.split('%')[0]!;
    const family = isIP(plain);
    if (family === 0) return { allowed: false, kind: 'not an IP address' };
    // An IPv6 form of an IPv4 address reaches that IPv4 address: judge (and allow) it as such.
    const v4 = family === 4 ? plain : embeddedIpv4(plain);
    const [target, type] = v4 === undefined ? [plain, 'ipv6' as const] : [v4, 'ipv4' as const];
    if (this.allowed.check(target, type)) return { allowed: true };
    for (const [kind, list] of this.refused) if (list.check(target, type)) return { allowed: false, kind };
    return { allowed: true };
  }
}
