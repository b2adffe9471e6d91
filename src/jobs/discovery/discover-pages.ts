import type { EgressProxy } from '../../render/egress/egress-proxy.js';
import type { Site } from '../../sites/site.js';
import { chooseSource } from './choose-source.js';
import { siteUrl, type DiscoveryRun } from './discovery-source.js';
import { guardedFetch, type FetchPolicy } from './guarded-fetch.js';
import { PageSet, type DiscoveredPage } from './page-set.js';
import { readRobots } from './robots.js';

export interface DiscoveryOptions {
  /** Upper bound on the pages of one job. */
  maxPages: number;
  /** User agent for robots.txt rules and requests. */
  userAgent: string;
  /** Time of one request (refresh.discovery.timeoutMs). */
  timeoutMs: number;
  /** Bytes of one document, and of a gzip sitemap inflated (refresh.discovery.maxDocumentBytes). */
  maxDocumentBytes: number;
  /** Sitemaps read in one discovery (refresh.discovery.maxSitemaps). */
  maxSitemaps: number;
}

/** The URLs of a site's pages, normalised, deduplicated, all within the site. */
export class PageDiscovery {
  constructor(
    private readonly egress: EgressProxy,
    private readonly options: DiscoveryOptions,
  ) {}

  /** The pages the site's `pages` config names, through the source it picks (choose-source), with their sitemap <lastmod>. */
  async discover(site: Site): Promise<DiscoveredPage[]> {
    const found = new PageSet(site, this.options.maxPages);
    await chooseSource(site.config.pages).discover(this.runFor(site, found));
    return found.pages();
  }

  /** Explicit pages of a refresh request: each must be a page of the site. */
  pagesOf(site: Site, pages: readonly string[]): { urls: string[]; rejected: string[] } {
    const set = new PageSet(site, Number.MAX_SAFE_INTEGER);
    const rejected: string[] = [];
    for (const page of pages) {
      let absolute: string;
      try {
        absolute = siteUrl(site, page);
      } catch {
        rejected.push(page);
        continue;
      }
      if (!set.add(absolute)) rejected.push(page);
    }
    return { urls: set.list(), rejected };
  }

  /** Every fetch of a discovery goes through the site's egress listener, like its renders. */
  private runFor(site: Site, found: PageSet): DiscoveryRun {
    const policy: FetchPolicy = {
      siteOrigin: site.origin,
      allowPrivateNetwork: site.config.allowPrivateNetwork,
      userAgent: this.options.userAgent,
      timeoutMs: this.options.timeoutMs,
      maxBytes: this.options.maxDocumentBytes,
    };
    const fetch = (url: string) => guardedFetch(url, this.egress, policy);
    return {
      site,
      found,
      maxPages: this.options.maxPages,
      maxSitemaps: this.options.maxSitemaps,
      maxDocumentBytes: this.options.maxDocumentBytes,
      userAgent: this.options.userAgent,
      fetch,
      robots: () => readRobots(site, fetch),
    };
  }
}
