import { parseVariantKey } from '../cache/key.js';
import type { PageCache } from '../cache/page-cache.js';
import type { Site } from '../sites/site.js';
import { freshnessRules } from './freshness-rules.js';

/** One rule of a site, with its cached pages now. */
export interface RuleFreshness {
  /** The rule's glob; null for the default rule. */
  match: string | null;
  maxAgeSeconds: number;
  /** Cached page variants under this rule. */
  pages: number;
  /** Of those, the ones within their maxAge right now. */
  fresh: number;
}

/** Per freshness rule of the site, its cached pages and how many are fresh now; null when it has no rules. */
export async function freshnessReport(site: Site, cache: PageCache, now = Date.now()): Promise<RuleFreshness[] | null> {
  const rules = freshnessRules(site.config);
  if (!rules) return null;
  const report = rules.rules.map((rule) => ({ match: rule.match ?? null, maxAgeSeconds: Math.round(rule.maxAge / 1000), pages: 0, fresh: 0 }));
  for await (const batch of cache.entriesUnder(`${site.origin}${site.basePath}`)) {
    for (const { key, freshSinceMs } of batch) {
      const index = rules.ruleOf(parseVariantKey(key).url);
      const row = report[index];
      const rule = rules.rules[index];
      if (!row || !rule) continue;
      row.pages += 1;
      if (now - freshSinceMs < rule.maxAge) row.fresh += 1;
    }
  }
  return report;
}
