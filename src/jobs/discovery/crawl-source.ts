import { normalizePageUrl } from '../../cache/key.js';
import type { SiteConfig } from '../../config/schema.js';
import { siteUrl, type DiscoveryRun, type DiscoverySource } from './discovery-source.js';
import { extractLinks } from './links.js';

export type CrawlOptions = Extract<SiteConfig['pages'], { crawl: unknown }>['crawl'];

/** Pages fetched at once: quicker than one by one, and still gentle on the origin. */
const PAGES_AT_ONCE = 4;

/**
 * `pages: {crawl: {...}}`: a same-origin crawl over plain HTML links from `start`, honouring
 * robots.txt for our user agent and the include/exclude path patterns, up to `maxPages`.
 */
export class CrawlSource implements DiscoverySource {
  constructor(private readonly options: CrawlOptions) {}

  async discover(run: DiscoveryRun): Promise<void> {
    const wanted = await this.filter(run);
    const limit = Math.min(this.options.maxPages, run.maxPages);
    const frontier = [siteUrl(run.site, this.options.start)];
    const visited = new Set<string>();
    while (frontier.length > 0 && run.found.size < limit) {
      const batch = frontier.splice(0, PAGES_AT_ONCE);
      await Promise.all(
        batch.map(async (url) => {
          let key: string;
          try {
            key = normalizePageUrl(url);
          } catch {
            return;
          }
          if (visited.has(key) || !wanted(key)) return;
          visited.add(key);
          const res = await run.fetch(key).catch(() => null);
          if (!res || res.status >= 400 || !res.contentType.includes('html')) return;
          if (run.found.size < limit) run.found.add(key);
          for (const link of extractLinks(res.body.toString('utf8'), res.url)) {
            if (run.found.belongs(link)) frontier.push(link);
          }
        }),
      );
    }
  }

  /** Whether a page URL may be crawled: its path matches the patterns and robots.txt allows it. */
  private async filter(run: DiscoveryRun): Promise<(url: string) => boolean> {
    const robots = await run.robots();
    const include = this.options.include.map(globToRegExp);
    const exclude = this.options.exclude.map(globToRegExp);
    return (url) => {
      const path = new URL(url).pathname;
      if (include.length > 0 && !include.some((re) => re.test(path))) return false;
      if (exclude.some((re) => re.test(path))) return false;
      return robots.isAllowed(url, run.userAgent) !== false;
    };
  }
}

/** "/blog/*" style patterns over paths; "*" matches anything. */
function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}
