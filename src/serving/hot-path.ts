import type { IncomingMessage, ServerResponse } from 'node:http';
import { LRUCache } from 'lru-cache';
import type { PageCache } from '../cache/page-cache.js';
import type { CrawlerDemand } from '../freshness/crawler-demand.js';
import type { Metrics } from '../observability/metrics.js';
import { variantKey } from '../cache/key.js';
import { pickVariant } from './device-variant.js';
import type { LookupGate } from './lookup-gate.js';
import { lookupTarget } from './lookup-target.js';
import type { PageLookup, ResolvedLookup, ServingGate } from './page-lookup.js';
import { writeEntry } from './write-entry.js';

/**
 * Serves fresh hits from the hot tier before Koa sees the request: a crawler hit is a
 * map lookup and one write. Anything else (misses, stale pages, errors, other routes)
 * returns false and goes to the Koa app.
 */
export function createHotPath(
  lookup: PageLookup,
  cache: PageCache,
  isServed: ServingGate,
  mayLookUp: LookupGate,
  metrics: Metrics,
  demand: Pick<CrawlerDemand, 'record'> | null = null,
) {
  // Request URL -> page URL and site: skips URL parsing on repeated lookups.
  const resolved = new LRUCache<string, ResolvedLookup>({ max: 10_000 });

  return function serveHot(req: IncomingMessage, res: ServerResponse): boolean {
    // Without a token Koa answers (401 with its body), never the hot path.
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !mayLookUp(req.headers)) return false;
    const requestUrl = req.url ?? '/';
    let target = resolved.get(requestUrl);
    if (!target) {
      const raw = lookupTarget(requestUrl);
      if (raw === null) return false;
      try {
        target = lookup.resolve(raw);
      } catch {
        return false;
      }
      resolved.set(requestUrl, target);
    }
    const { site } = target;
    if (!isServed(site)) return false;
    let key: string;
    try {
      key = variantKey(target.url, pickVariant(site.config.variants, target.device, req.headers));
    } catch {
      return false;
    }
    const entry = cache.peek(key);
    if (!entry || cache.stateOf(entry) !== 'hit') return false;
    metrics.countLookup('hit', key);
    demand?.record(site.id, key);
    writeEntry(req, res, entry, 'hit', site.config.variants.length > 1);
    return true;
  };
}
