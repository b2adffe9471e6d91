import ipaddr from 'ipaddr.js';

/**
 * Is this IP address on the public internet? Everything else (private, loopback,
 * link-local with the cloud metadata endpoints, CGNAT, unique-local, multicast,
 * reserved, IPv4-mapped or NAT64 forms of those) is not.
 */
export function isPublicAddress(ip: string): boolean {
  if (!ipaddr.isValid(ip)) return false;
  let addr = ipaddr.parse(ip);
  if (addr.kind() === 'ipv6') {
    const v6 = addr as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) addr = v6.toIPv4Address();
    else {
      const range = v6.range();
      // NAT64 and 6to4 embed an IPv4 address: judge the embedded one.
      if (range === 'rfc6052' || range === 'rfc6145') return isPublicAddress(embeddedIPv4(v6, 12));
      if (range === '6to4') return isPublicAddress(embeddedIPv4(v6, 2));
    }
  }
  return addr.range() === 'unicast';
}

function embeddedIPv4(v6: ipaddr.IPv6, byteOffset: number): string {
  const b = v6.toByteArray();
  return `${b[byteOffset]}.${b[byteOffset + 1]}.${b[byteOffset + 2]}.${b[byteOffset + 3]}`;
}

/** Host of a URL as an IP literal, without IPv6 brackets, or null for a name. */
export function ipLiteral(hostname: string): string | null {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return ipaddr.isValid(bare) ? bare : null;
}
