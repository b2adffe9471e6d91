import dns from 'node:dns/promises';
import { ipLiteral, isPublicAddress } from './address-policy.js';

/** What one site's renders and fetches may reach. */
export interface EgressPolicy {
  /** Origin of the site: always reachable, wherever it lives. */
  siteOrigin: string;
  /** Private, loopback and link-local addresses are reachable too. */
  allowPrivateNetwork: boolean;
}

/** One name for one policy: the key of its proxy listener and browser context. */
export const egressKey = (policy: EgressPolicy): string => `${policy.siteOrigin} ${policy.allowPrivateNetwork ? 'private' : 'public'}`;

/** Every address of a host name, as the system resolver answers. */
export type HostResolver = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

export const systemResolver: HostResolver = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

/** A connection the policy refused; `reason` is for logs and the refused client. */
export class EgressRefused extends Error {
  override name = 'EgressRefused';
}

/** The one address a connection may use: the address that was checked. */
export interface PinnedAddress {
  address: string;
  family: 4 | 6;
}

/**
 * Resolves `hostname` once and checks every address it has against the policy; the
 * connection must then go to the returned address and nowhere else (no second lookup,
 * so a DNS answer that changes in between cannot move it: DNS rebinding). The site's own
 * origin (scheme, host and port) is reachable wherever it lives.
 */
export async function pinAddress(
  target: { hostname: string; port: number; isSiteOrigin: boolean },
  policy: EgressPolicy,
  resolve: HostResolver,
): Promise<PinnedAddress> {
  const literal = ipLiteral(target.hostname);
  const answers = literal ? [{ address: literal, family: literal.includes(':') ? 6 : 4 }] : await lookup(target.hostname, resolve);
  if (answers.length === 0) throw new EgressRefused(`${target.hostname} has no address`);
  if (!target.isSiteOrigin && !policy.allowPrivateNetwork) {
    const blocked = answers.find((a) => !isPublicAddress(a.address));
    if (blocked) throw new EgressRefused(`${target.hostname}:${target.port} resolves to non-public address ${blocked.address}`);
  }
  const first = answers[0] as { address: string; family: number };
  return { address: first.address, family: first.family === 6 ? 6 : 4 };
}

async function lookup(hostname: string, resolve: HostResolver): Promise<Array<{ address: string; family: number }>> {
  try {
    return await resolve(hostname);
  } catch (err) {
    throw new EgressRefused(`cannot resolve ${hostname}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/** Does host:port on this scheme belong to the site's origin? */
export function isSiteOrigin(policy: EgressPolicy, target: { protocol: 'http:' | 'https:' | 'tunnel'; hostname: string; port: number }): boolean {
  const site = new URL(policy.siteOrigin);
  const sitePort = portOf(site.protocol, site.port);
  if (normaliseHost(site.hostname) !== normaliseHost(target.hostname) || sitePort !== target.port) return false;
  // A CONNECT tunnel carries TLS or plain bytes alike: host and port decide.
  return target.protocol === 'tunnel' || target.protocol === site.protocol;
}

const normaliseHost = (host: string) => (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host).toLowerCase().replace(/\.$/, '');

/** A URL's port, or its scheme's default when it names none. */
export const portOf = (protocol: string, port: string | number | undefined | null): number => Number(port || (protocol === 'https:' ? 443 : 80));

/**
 * Chromium's proxy bypass rule for exactly the site's origin (scheme, host and port): the
 * guard lets the origin through wherever it lives, so Chromium connects to it directly and
 * the guard's piping is spent on third parties only. Every other host, port or scheme, the
 * origin's host on another port included, still goes through the guard.
 */
export function originBypassRule(policy: EgressPolicy): string {
  const site = new URL(policy.siteOrigin);
  return `${site.protocol}//${site.hostname}:${portOf(site.protocol, site.port)}`;
}
