import type { ServableEntry } from '../cache/entry.js';
import type { PageCache } from '../cache/page-cache.js';
import type { Logger } from '../observability/logger.js';
import type { InputRevalidator, RevalidationPolicy } from './input-revalidator.js';

export interface IncrementalRefreshOptions {
  /** A page whose last full render is older is rendered whatever its inputs say (refresh.fullRenderAfter). */
  fullRenderAfterMs: number;
}

/** One page of a refresh, as incremental refresh sees it. */
export interface RefreshedPage {
  /** Its cache key (URL and variant). */
  key: string;
  url: string;
  /** The refresh job: inputs its pages share are asked about once in it. */
  jobId: string;
  policy: RevalidationPolicy;
  /** The page's sitemap <lastmod> (ms), if any. */
  lastmod?: number;
}

/**
 * Incremental refresh: a page whose inputs all revalidate unchanged keeps its cached HTML,
 * verified from now, and costs no Chromium work. Only a page that may be kept is asked
 * about: it has a manifest, its last render did not fail, and its last full render is
 * younger than `fullRenderAfterMs`, and no sitemap <lastmod> after that render. Anything
 * else, a failed revalidation included, renders.
 */
export class IncrementalRefresh {
  constructor(
    private readonly cache: PageCache,
    private readonly revalidator: InputRevalidator,
    private readonly options: IncrementalRefreshOptions,
    private readonly logger: Logger,
  ) {}

  /** The entry, verified and durably stored, when the page is unchanged; null: render it. */
  async keepIfUnchanged(page: RefreshedPage, now = Date.now()): Promise<ServableEntry | null> {
    const entry = await this.cache.get(page.key);
    if (!entry?.stored.inputs || entry.failedAtMs !== null || now - entry.renderedAtMs >= this.options.fullRenderAfterMs) return null;
    // A sitemap that dates the page after its render is believed; an older date is no proof, so its inputs are still asked.
    if (page.lastmod !== undefined && page.lastmod > entry.renderedAtMs) return null;
    if (!(await this.revalidator.unchanged(entry.stored.inputs, page.url, page.policy, page.jobId))) return null;
    const verified = await this.cache.markVerified(page.key, entry);
    if (verified) this.logger.debug({ url: page.url, key: page.key }, 'inputs unchanged; page kept');
    return verified;
  }
}
