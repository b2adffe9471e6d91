import type { Site } from '../../sites/site.js';
import type { FetchedDocument } from './guarded-fetch.js';
import type { PageSet } from './page-set.js';
import type { RobotsRules } from './robots.js';

/** What a source works with while it discovers the pages of one site. */
export interface DiscoveryRun {
  readonly site: Site;
  /** Where found pages go: only the site's, normalised; it takes no more once full. */
  readonly found: PageSet;
  /** Upper bound on the pages of one job (refresh.maxPagesPerJob). */
  readonly maxPages: number;
  /** Sitemaps read in one discovery, indexes included (refresh.discovery.maxSitemaps). */
  readonly maxSitemaps: number;
  /** Bytes of one document, and of a gzip sitemap once inflated (refresh.discovery.maxDocumentBytes). */
  readonly maxDocumentBytes: number;
  /** The user agent whose robots.txt rules apply. */
  readonly userAgent: string;
  /** Fetches a URL through the site's egress listener, within the document size limit. */
  fetch(url: string): Promise<FetchedDocument>;
  /** The site's robots.txt, read anew on each call. */
  robots(): Promise<RobotsRules>;
}

/**
 * Where a site's pages come from: a sitemap, an explicit list, a crawl. The site's `pages`
 * config picks one in `choose-source`; a new kind of source implements this interface and
 * gets a line there.
 */
export interface DiscoverySource {
  /** Adds the site's pages to `run.found`; rejects when the source cannot be read at all. */
  discover(run: DiscoveryRun): Promise<void>;
}

/** A configured path (or absolute URL) on the site, resolved against its base path. */
export function siteUrl(site: Site, pathOrUrl: string): string {
  return new URL(pathOrUrl, site.origin + site.basePath).href;
}
