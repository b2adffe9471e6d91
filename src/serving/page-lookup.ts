import { InvalidPageUrlError, normalizePageUrl } from '../cache/key.js';
import type { ServableEntry } from '../cache/entry.js';
import type { CacheState, PageCache } from '../cache/page-cache.js';
import { SingleFlight } from '../cache/single-flight.js';
import { ApiError, errors } from '../api/errors.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { PRIORITY, QueueFullError, type RenderQueue, type RenderTaskResult } from '../engine/render-queue.js';
import type { Site } from '../sites/site.js';
import type { SiteRegistry } from '../sites/site-registry.js';

export interface ServedPage {
  entry: ServableEntry;
  state: CacheState;
}

/** Is this site's cache served to crawlers right now? */
export type ServingGate = (site: Site) => boolean;

/**
 * A crawler's lookup: the cached page when there is one (stale ones are refreshed in
 * the background), else a render now, shared by every concurrent caller of that URL.
 * Throws ApiError for answers that are not a page.
 */
export class PageLookup {
  private readonly flights = new SingleFlight<RenderTaskResult>();

  constructor(
    private readonly sites: SiteRegistry,
    private readonly isServed: ServingGate,
    private readonly cache: PageCache,
    private readonly queue: RenderQueue,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  /** Validates a lookup target: its cache key and site, or an ApiError (400/404). */
  resolve(target: string): { key: string; site: Site } {
    if (target === '')
      throw errors.malformedPageUrl('The lookup carries no page URL: use /render?url=<absolute URL>, /render/<absolute URL> or /<absolute URL>.');
    let key: string;
    try {
      key = normalizePageUrl(target);
    } catch (err) {
      if (err instanceof InvalidPageUrlError) throw errors.malformedPageUrl(err.message);
      throw err;
    }
    const site = this.sites.forUrl(key);
    if (!site) throw errors.unknownSite(`${new URL(key).origin} is not the origin of a configured site; it is not rendered.`, { url: key });
    if (!this.isServed(site)) {
      throw errors.siteNotServed(`Site ${site.id} is offline, deleted, secure or has the pre-renderer disabled.`, { site: { id: site.id } });
    }
    return { key, site };
  }

  async lookup(target: string): Promise<ServedPage> {
    const { key, site } = this.resolve(target);
    const cached = await this.cache.get(key);
    if (cached) {
      const state = this.cache.stateOf(cached);
      this.metrics.countLookup(state, key);
      if (state === 'stale') this.revalidate(key, site);
      return { entry: cached, state };
    }
    this.metrics.countLookup('miss', key);
    const result = await this.renderShared(key, site, PRIORITY.lookup, 'lookup');
    if (result.ok) {
      const entry = result.entry ?? (await this.cache.get(key));
      if (entry) return { entry, state: 'miss' };
      throw errors.renderFailed('The page was rendered but could not be read back from the cache.');
    }
    this.metrics.countLookup('error', key);
    const detail = `Rendering ${key} failed (${result.failure.kind}): ${result.failure.detail}`;
    throw result.failure.kind === 'timeout' ? errors.renderTimeout(detail) : errors.renderFailed(detail);
  }

  private renderShared(key: string, site: Site, priority: number, trigger: 'lookup' | 'revalidate'): Promise<RenderTaskResult> {
    return this.flights.run(key, async () => {
      try {
        return await this.queue.submit({ url: key, siteId: site.id, source: { trigger } }, priority);
      } catch (err) {
        if (err instanceof QueueFullError) {
          throw errors.renderQueueFull('Every renderer is busy and the queue is full; try again later.', {}, { 'retry-after': String(err.retryAfterSeconds) });
        }
        throw err;
      }
    });
  }

  /** Stale-while-revalidate: the old page is served now, a new one rendered behind it. */
  private revalidate(key: string, site: Site): void {
    if (this.flights.has(key)) return;
    this.renderShared(key, site, PRIORITY.revalidate, 'revalidate').catch((err: unknown) => {
      if (!(err instanceof ApiError)) this.logger.warn({ url: key, err: String(err) }, 'background revalidation failed');
    });
  }
}
