import { siteUrl, type DiscoveryRun, type DiscoverySource } from './discovery-source.js';
import { parseSitemap, type ParsedSitemap } from './sitemap.js';

/**
 * `pages: {sitemap: path}`: the configured sitemap, indexes followed and .xml.gz read. When
 * that sitemap cannot be read, the Sitemap: lines of robots.txt are read instead.
 */
export class SitemapSource implements DiscoverySource {
  constructor(private readonly path: string) {}

  async discover(run: DiscoveryRun): Promise<void> {
    const first = siteUrl(run.site, this.path);
    const queue = [first];
    const seen = new Set<string>();
    let usedRobots = false;
    while (queue.length > 0 && !run.found.full) {
      const url = queue.shift() as string;
      if (seen.has(url) || seen.size >= run.maxSitemaps) continue;
      seen.add(url);
      const read = await fetchSitemap(run, url);
      if ('problem' in read) {
        if (url === first && !usedRobots) {
          usedRobots = true;
          queue.push(...(await run.robots()).getSitemaps());
          continue;
        }
        throw unreadable(url, read.problem);
      }
      for (const page of read.sitemap.pages) run.found.add(page.loc, page.lastmod);
      queue.push(...read.sitemap.sitemaps);
    }
  }
}

/** One sitemap, parsed; or why it could not be fetched (a parse error throws: robots.txt is no remedy for it). */
async function fetchSitemap(run: DiscoveryRun, url: string): Promise<{ sitemap: ParsedSitemap } | { problem: string }> {
  let body: Buffer;
  try {
    const res = await run.fetch(url);
    if (res.status !== 200) return { problem: `HTTP ${res.status}` };
    body = res.body;
  } catch (err) {
    return { problem: (err as Error).message };
  }
  try {
    return { sitemap: parseSitemap(body, run.maxDocumentBytes) };
  } catch (err) {
    throw unreadable(url, (err as Error).message);
  }
}

function unreadable(url: string, problem: string): Error {
  return new Error(`sitemap ${url} could not be read (${problem})`);
}
