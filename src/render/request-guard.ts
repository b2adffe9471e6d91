import dns from 'node:dns/promises';
import { LRUCache } from 'lru-cache';
import { ipLiteral, isPublicAddress } from './address-policy.js';

export type GuardVerdict = { allow: true } | { allow: false; reason: string };

export type HostResolver = (hostname: string) => Promise<string[]>;

const systemResolver: HostResolver = async (hostname) =>
  (await dns.lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

/** Schemes that never touch the network and may load as subresources. */
const INERT_SUBRESOURCE_SCHEMES = new Set(['data:', 'blob:', 'about:']);

/**
 * Decides whether Chromium may make one request while rendering a page of a site.
 * The site's own origin is always allowed; anything else must be http(s) to a host
 * whose every address is public, unless the site allows its private network.
 */
export class RequestGuard {
  private readonly verdicts = new LRUCache<string, Promise<GuardVerdict>>({ max: 2000, ttl: 30_000 });

  constructor(private readonly resolve: HostResolver = systemResolver) {}

  async check(rawUrl: string, policy: { siteOrigin: string; allowPrivateNetwork: boolean; isNavigation: boolean }): Promise<GuardVerdict> {
    let url: URL;
    try {
      url = new URL(rawUrl);
    } catch {
      return { allow: false, reason: 'malformed URL' };
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      if (!policy.isNavigation && INERT_SUBRESOURCE_SCHEMES.has(url.protocol)) return { allow: true };
      return { allow: false, reason: `${url.protocol} URLs are never followed` };
    }
    if (url.origin === policy.siteOrigin) return { allow: true };
    if (policy.allowPrivateNetwork) return { allow: true };
    const host = url.hostname;
    let verdict = this.verdicts.get(host);
    if (!verdict) {
      verdict = this.judgeHost(host);
      this.verdicts.set(host, verdict);
    }
    return verdict;
  }

  private async judgeHost(host: string): Promise<GuardVerdict> {
    const literal = ipLiteral(host);
    let addresses: string[];
    if (literal) addresses = [literal];
    else {
      try {
        addresses = await this.resolve(host);
      } catch (err) {
        return { allow: false, reason: `cannot resolve ${host}: ${(err as NodeJS.ErrnoException).code ?? 'error'}` };
      }
    }
    const blocked = addresses.find((a) => !isPublicAddress(a));
    if (addresses.length === 0) return { allow: false, reason: `${host} has no address` };
    if (blocked) return { allow: false, reason: `${host} resolves to non-public address ${blocked}` };
    return { allow: true };
  }
}
