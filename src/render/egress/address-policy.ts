import ipaddr from 'ipaddr.js';

/**
 * Is this IP address on the public internet? Judged against the IANA special-purpose
 * address registries (IPv4 and IPv6): every block whose "Globally Reachable" is not
 * plainly true is refused, as are multicast, the whole IPv4 class E and every IPv6
 * address outside global unicast (2000::/3). Forms that embed an IPv4 address
 * (IPv4-mapped, NAT64 well-known prefix, SIIT, 6to4) are judged by the embedded one.
 * Deliberately conservative: a block that is reachable only in some cases is refused.
 */
export function isPublicAddress(ip: string): boolean {
  if (!ipaddr.isValid(ip)) return false;
  const addr = ipaddr.parse(ip);
  if (addr.kind() === 'ipv4') return !matchesAny(addr, NON_PUBLIC_V4);
  const v6 = addr as ipaddr.IPv6;
  const embedded = embeddedIPv4(v6);
  if (embedded !== null) return isPublicAddress(embedded);
  return v6.match(GLOBAL_UNICAST_V6) && !matchesAny(v6, NON_PUBLIC_V6);
}

/** IPv4 blocks of the IANA IPv4 special-purpose registry that are not globally reachable, plus multicast and limited broadcast. */
const NON_PUBLIC_V4 = cidrs([
  '0.0.0.0/8', // "this network"
  '10.0.0.0/8', // private
  '100.64.0.0/10', // shared address space (CGNAT; Alibaba's metadata service lives here)
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local, with the cloud metadata endpoints
  '172.16.0.0/12', // private
  '192.0.0.0/24', // IETF protocol assignments (incl. DS-Lite, NAT64 discovery)
  '192.0.2.0/24', // documentation TEST-NET-1
  '192.88.99.0/24', // deprecated 6to4 relay anycast
  '192.168.0.0/16', // private
  '198.18.0.0/15', // benchmarking
  '198.51.100.0/24', // documentation TEST-NET-2
  '203.0.113.0/24', // documentation TEST-NET-3
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved (class E), includes 255.255.255.255
]);

/** Only global unicast can be public; the rest of the IPv6 space is reserved or special. */
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3') as [ipaddr.IPv6, number];

/** Blocks inside 2000::/3 that the IANA IPv6 special-purpose registry marks as not globally reachable. */
const NON_PUBLIC_V6 = cidrs([
  '2001::/23', // IETF protocol assignments (Teredo, ORCHIDv2, benchmarking, AMT ...): refused as a whole
  '2001:db8::/32', // documentation
  '3fff::/20', // documentation (2024)
  '2002::/16', // 6to4 without a public embedded address (handled above when it has one)
]);

/**
 * The IPv4 address an IPv6 address stands for, or null. ::/96 (IPv4-compatible,
 * deprecated) and ::ffff:0:0/96 (mapped) reach the embedded IPv4 host on dual-stack
 * machines; 64:ff9b::/96 is the NAT64 well-known prefix; ::ffff:0:0:0/96 is SIIT;
 * 2002::/16 is 6to4. The local-use NAT64 prefix 64:ff9b:1::/48 is outside 2000::/3 and
 * so never public.
 */
function embeddedIPv4(v6: ipaddr.IPv6): string | null {
  const b = v6.toByteArray();
  const fromOffset = (o: number) => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
  if (v6.isIPv4MappedAddress() || v6.match(IPV4_COMPATIBLE) || v6.match(NAT64_WELL_KNOWN) || v6.match(SIIT)) return fromOffset(12);
  if (v6.match(SIX_TO_FOUR)) return fromOffset(2);
  return null;
}

const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96') as [ipaddr.IPv6, number];
const NAT64_WELL_KNOWN = ipaddr.parseCIDR('64:ff9b::/96') as [ipaddr.IPv6, number];
const SIIT = ipaddr.parseCIDR('::ffff:0:0:0/96') as [ipaddr.IPv6, number];
const SIX_TO_FOUR = ipaddr.parseCIDR('2002::/16') as [ipaddr.IPv6, number];

function cidrs<T extends ipaddr.IPv4 | ipaddr.IPv6>(list: string[]): Array<[T, number]> {
  return list.map((c) => ipaddr.parseCIDR(c) as [T, number]);
}

function matchesAny<T extends ipaddr.IPv4 | ipaddr.IPv6>(addr: T, blocks: Array<[T, number]>): boolean {
  return blocks.some((block) => addr.match(block));
}

/** Host of a URL as an IP literal, without IPv6 brackets, or null for a name. */
export function ipLiteral(hostname: string): string | null {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return ipaddr.isValid(bare) ? bare : null;
}
