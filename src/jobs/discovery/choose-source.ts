import type { SiteConfig } from '../../config/schema.js';
import { CrawlSource } from './crawl-source.js';
import type { DiscoverySource } from './discovery-source.js';
import { ListSource } from './list-source.js';
import { SitemapSource } from './sitemap-source.js';

/** The one place a site's `pages` config picks its discovery source. */
export function chooseSource(pages: SiteConfig['pages']): DiscoverySource {
  if ('urls' in pages) return new ListSource(pages.urls);
  if ('sitemap' in pages) return new SitemapSource(pages.sitemap);
  return new CrawlSource(pages.crawl);
}
