import { fetch } from 'undici';
import type { EgressProxy } from '../../render/egress/egress-proxy.js';
import { readLimited } from '../../render/egress/read-limited.js';

export interface FetchPolicy {
  siteOrigin: string;
  allowPrivateNetwork: boolean;
  userAgent: string;
  timeoutMs: number;
  maxBytes: number;
}

/** A fetched document: the URL it came from after redirects, and its whole body. */
export interface FetchedDocument {
  status: number;
  url: string;
  body: Buffer;
  contentType: string;
}

/**
 * A fetch for discovery (sitemaps, robots.txt, crawl). Every connection, redirects
 * included, goes through the egress proxy under the site's policy, like the renderer's.
 */
export async function guardedFetch(url: string, egress: EgressProxy, policy: FetchPolicy): Promise<FetchedDocument> {
  const dispatcher = egress.dispatcherFor(policy);
  let current = url;
  for (let hop = 0; hop <= 5; hop++) {
    const protocol = new URL(current).protocol;
    if (protocol !== 'http:' && protocol !== 'https:') throw new Error(`refused to fetch ${current}: ${protocol} URLs are never followed`);
    const res = await fetch(current, {
      redirect: 'manual',
      dispatcher,
      headers: { 'user-agent': policy.userAgent, 'x-prerender': '1' },
      signal: AbortSignal.timeout(policy.timeoutMs),
    }).catch((err: Error & { cause?: Error }) => {
      throw new Error(`could not fetch ${current}: ${err.cause?.message ?? err.message}`);
    });
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      current = new URL(location, current).href;
      continue;
    }
    const body = await readLimited(res.body, policy.maxBytes);
    return { status: res.status, url: current, body, contentType: res.headers.get('content-type') ?? '' };
  }
  throw new Error(`too many redirects from ${url}`);
}
