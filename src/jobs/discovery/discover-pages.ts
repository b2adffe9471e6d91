import robotsParserModule from 'robots-parser';
import { normalizePageUrl } from '../../cache/key.js';
import type { EgressProxy } from '../../render/egress/egress-proxy.js';
import type { Site } from '../../sites/site.js';
import { guardedFetch, type FetchPolicy } from './guarded-fetch.js';
import { extractLinks } from './links.js';
import { parseSitemap } from './sitemap.js';

interface RobotsRules {
  isAllowed(url: string, ua?: string): boolean | undefined;
  getSitemaps(): string[];
}
// The package's types declare an ES default export; at run time module.exports is the function.
const robotsParser = robotsParserModule as unknown as (url: string, contents: string) => RobotsRules;

export interface DiscoveryOptions {
  /** Upper bound on the pages of one job. */
  maxPages: number;
  /** User agent for robots.txt rules and requests. */
  userAgent: string;
  timeoutMs: number;
}

/** The URLs of a site's pages, normalised, deduplicated, all within the site. */
export class PageDiscovery {
  constructor(private readonly egress: EgressProxy, private readonly options: DiscoveryOptions) {}

  async discover(site: Site): Promise<string[]> {
    const source = site.config.pages;
    const found = new PageSet(site, this.options.maxPages);
    if ('urls' in source) {
      for (const url of source.urls) found.add(new URL(url, site.origin + site.basePath).href);
    } else if ('sitemap' in source) {
      await this.fromSitemaps(site, source.sitemap, found);
    } else {
      await this.crawl(site, source.crawl, found);
    }
    return found.list();
  }

  /** Explicit pages of a refresh request: each must be a page of the site. */
  pagesOf(site: Site, pages: readonly string[]): { urls: string[]; rejected: string[] } {
    const set = new PageSet(site, Number.MAX_SAFE_INTEGER);
    const rejected: string[] = [];
    for (const page of pages) {
      let absolute: string;
      try {
        absolute = new URL(page, site.origin + site.basePath).href;
      } catch {
        rejected.push(page);
        continue;
      }
      if (!set.add(absolute)) rejected.push(page);
    }
    return { urls: set.list(), rejected };
  }

  private policy(site: Site): FetchPolicy {
    return {
      siteOrigin: site.origin,
      allowPrivateNetwork: site.config.allowPrivateNetwork,
      userAgent: this.options.userAgent,
      timeoutMs: this.options.timeoutMs,
      maxBytes: 50 * 1024 * 1024,
    };
  }

  private async robots(site: Site) {
    const robotsUrl = `${site.origin}/robots.txt`;
    try {
      const res = await guardedFetch(robotsUrl, this.egress, this.policy(site));
      return robotsParser(robotsUrl, res.status === 200 ? res.body.toString('utf8') : '');
    } catch {
      return robotsParser(robotsUrl, '');
    }
  }

  /** The configured sitemap (indexes followed, .xml.gz read), else the robots.txt Sitemap: lines. */
  private async fromSitemaps(site: Site, sitemapPath: string, found: PageSet): Promise<void> {
    const first = new URL(sitemapPath, site.origin + site.basePath).href;
    const queue = [first];
    const seen = new Set<string>();
    let usedRobots = false;
    while (queue.length > 0 && !found.full) {
      const url = queue.shift() as string;
      if (seen.has(url) || seen.size >= 1000) continue;
      seen.add(url);
      const res = await guardedFetch(url, this.egress, this.policy(site)).catch((err: Error) => ({ status: 0, error: err }));
      if (res.status !== 200 || !('body' in res)) {
        if (url === first && !usedRobots) {
          usedRobots = true;
          queue.push(...(await this.robots(site)).getSitemaps());
          continue;
        }
        throw new Error(`sitemap ${url} could not be read (${'error' in res ? res.error.message : `HTTP ${res.status}`})`);
      }
      let parsed: ReturnType<typeof parseSitemap>;
      try {
        parsed = parseSitemap(res.body, this.policy(site).maxBytes);
      } catch (err) {
        throw new Error(`sitemap ${url} could not be read (${(err as Error).message})`);
      }
      for (const page of parsed.pages) found.add(page);
      queue.push(...parsed.sitemaps);
    }
  }

  /** Same-origin crawl over plain HTML links, honouring robots.txt for our user agent. */
  private async crawl(site: Site, options: { start: string; maxPages: number; include: string[]; exclude: string[] }, found: PageSet): Promise<void> {
    const robots = await this.robots(site);
    const include = options.include.map(globToRegExp);
    const exclude = options.exclude.map(globToRegExp);
    const wanted = (url: string) => {
      const path = new URL(url).pathname;
      if (include.length > 0 && !include.some((re) => re.test(path))) return false;
      if (exclude.some((re) => re.test(path))) return false;
      return robots.isAllowed(url, this.options.userAgent) !== false;
    };
    const limit = Math.min(options.maxPages, this.options.maxPages);
    const frontier = [new URL(options.start, site.origin + site.basePath).href];
    const visited = new Set<string>();
    while (frontier.length > 0 && found.size < limit) {
      const batch = frontier.splice(0, 4);
      await Promise.all(batch.map(async (url) => {
        let key: string;
        try { key = normalizePageUrl(url); } catch { return; }
        if (visited.has(key) || !wanted(key)) return;
        visited.add(key);
        const res = await guardedFetch(key, this.egress, this.policy(site)).catch(() => null);
        if (!res || res.status >= 400 || !res.contentType.includes('html')) return;
        if (found.size < limit) found.add(key);
        for (const link of extractLinks(res.body.toString('utf8'), res.url)) {
          if (found.belongs(link)) frontier.push(link);
        }
      }));
    }
  }
}

/** Normalised page URLs of one site, in discovery order, without duplicates. */
class PageSet {
  private readonly urls = new Map<string, true>();
  constructor(private readonly site: Site, private readonly max: number) {}

  get size(): number { return this.urls.size; }
  get full(): boolean { return this.urls.size >= this.max; }

  belongs(url: string): boolean {
    try {
      const parsed = new URL(url);
      return parsed.origin === this.site.origin && `${parsed.pathname}/`.startsWith(this.site.basePath);
    } catch {
      return false;
    }
  }

  /** Adds a URL of the site; false when it is not one. */
  add(url: string): boolean {
    if (!this.belongs(url)) return false;
    let key: string;
    try { key = normalizePageUrl(url); } catch { return false; }
    if (!this.full) this.urls.set(key, true);
    return true;
  }

  list(): string[] { return [...this.urls.keys()]; }
}

/** "/blog/*" style patterns over paths; "*" matches anything. */
function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}
