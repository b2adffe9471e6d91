import type { IncomingHttpHeaders } from 'node:http';
import { InvalidPageUrlError, normalizePageUrl } from '../cache/key.js';
import type { ServableEntry } from '../cache/entry.js';
import type { CacheState, PageCache } from '../cache/page-cache.js';
import { SingleFlight } from '../cache/single-flight.js';
import { ApiError, errors } from '../api/errors.js';
import type { CrawlerDemand } from '../freshness/crawler-demand.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { PRIORITY, QueueFullError, type RenderQueue, type RenderTaskResult } from '../engine/render-queue.js';
import type { Site } from '../sites/site.js';
import type { SiteRegistry } from '../sites/site-registry.js';
import { pickVariant, variantTarget, type VariantTarget } from './device-variant.js';
import { withoutDeviceParam } from './lookup-target.js';

export interface ServedPage {
  entry: ServableEntry;
  state: CacheState;
  site: Site;
}

/** A valid lookup: the page URL, its site, and the variant it named (null: the request decides). */
export interface ResolvedLookup {
  url: string;
  site: Site;
  device: string | null;
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
    /** Counts which pages crawlers ask for (refreshes render those first). */
    private readonly demand: Pick<CrawlerDemand, 'record'> | null = null,
  ) {}

  /**
   * Validates a lookup target: its normalised page URL (without `_device`), its site, and the
   * variant the lookup named, if any. An ApiError (400/404) otherwise.
   */
  resolve(target: { pageUrl: string; device: string | null }): ResolvedLookup {
    if (target.pageUrl === '')
      throw errors.malformedPageUrl('The lookup carries no page URL: use /render?url=<absolute URL>, /render/<absolute URL> or /<absolute URL>.');
    let normalised: string;
    try {
      normalised = normalizePageUrl(target.pageUrl);
    } catch (err) {
      if (err instanceof InvalidPageUrlError) throw errors.malformedPageUrl(err.message);
      throw err;
    }
    const { url, device } = withoutDeviceParam(normalised);
    const site = this.sites.forUrl(url);
    if (!site) throw errors.unknownSite(`${new URL(url).origin} is not the origin of a configured site; it is not rendered.`, { url });
    if (!this.isServed(site)) {
      throw errors.siteNotServed(`Site ${site.id} is offline, deleted, secure or has the pre-renderer disabled.`, { site: { id: site.id } });
    }
    return { url, site, device: target.device ?? device };
  }

  async lookup(target: { pageUrl: string; device: string | null }, headers: IncomingHttpHeaders): Promise<ServedPage> {
    const resolved = this.resolve(target);
    const { site } = resolved;
    const page = variantTarget(resolved.url, pickVariant(site.config.variants, resolved.device, headers));
    this.demand?.record(site.id, page.key);
    const cached = await this.cache.get(page.key);
    if (cached) {
      const state = this.cache.stateOf(cached);
      this.metrics.countLookup(state, page.key);
      if (state === 'stale') this.revalidate(page, site);
      return { entry: cached, state, site };
    }
    this.metrics.countLookup('miss', page.key);
    const result = await this.renderShared(page, site, PRIORITY.lookup, 'lookup');
    if (result.ok) {
      const entry = result.entry ?? (await this.cache.get(page.key));
      if (entry) return { entry, state: 'miss', site };
      throw errors.renderFailed('The page was rendered but could not be read back from the cache.');
    }
    this.metrics.countLookup('error', page.key);
    const detail = `Rendering ${page.url} (${page.variant}) failed (${result.failure.kind}): ${result.failure.detail}`;
    throw result.failure.kind === 'timeout' ? errors.renderTimeout(detail) : errors.renderFailed(detail);
  }

  private renderShared(page: VariantTarget, site: Site, priority: number, trigger: 'lookup' | 'revalidate'): Promise<RenderTaskResult> {
    return this.flights.run(page.key, async () => {
      try {
        return await this.queue.submit({ url: page.url, variant: page.variant, siteId: site.id, source: { trigger } }, priority);
      } catch (err) {
        if (err instanceof QueueFullError) {
          throw errors.renderQueueFull('Every renderer is busy and the queue is full; try again later.', {}, { 'retry-after': String(err.retryAfterSeconds) });
        }
        throw err;
      }
    });
  }

  /** Stale-while-revalidate: the old page is served now, a new one rendered behind it. */
  private revalidate(page: VariantTarget, site: Site): void {
    if (this.flights.has(page.key)) return;
    this.renderShared(page, site, PRIORITY.revalidate, 'revalidate').catch((err: unknown) => {
      if (!(err instanceof ApiError)) this.logger.warn({ url: page.url, variant: page.variant, err: String(err) }, 'background revalidation failed');
    });
  }
}
