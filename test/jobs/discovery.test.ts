import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PageDiscovery } from '../../src/jobs/discovery/discover-pages.js';
import { parseConfig } from '../../src/config/load.js';
import { EgressProxy } from '../../src/render/egress/egress-proxy.js';
import { createLogger } from '../../src/observability/logger.js';
import { toSite } from '../../src/sites/site.js';
import { startFixtureSite, startSecretServer, type FixtureSite } from '../fixtures/fixture-site.js';

let site: FixtureSite;
let secret: Awaited<ReturnType<typeof startSecretServer>>;
const egress = new EgressProxy({ logger: createLogger('silent') });
const discovery = new PageDiscovery(egress, { ...parseConfig({}).refresh.discovery, maxPages: 1000, userAgent: 'rendercache', timeoutMs: 5000 });
const urlsOf = (pages: Array<{ url: string }>) => pages.map((page) => page.url);
const siteWith = (pages: unknown) => toSite(parseConfig({ sites: [{ id: 's', name: 'S', origin: site.origin, pages }] }).sites[0]!);

beforeAll(async () => {
  secret = await startSecretServer();
  site = await startFixtureSite({ secretOrigin: secret.origin });
});
afterAll(async () => {
  await site?.close();
  await secret?.close();
  await egress.close();
});

describe('page discovery', () => {
  it('reads a sitemap index with a .xml.gz child, dedupes by cache key and keeps only the site', async () => {
    const pages = urlsOf(await discovery.discover(siteWith({ sitemap: '/sitemap.xml' })));
    expect(pages).toEqual([`${site.origin}/page/a1`, `${site.origin}/page/a2`, `${site.origin}/page/b1`]);
  });

  it('falls back to the Sitemap: lines of robots.txt when the sitemap is missing', async () => {
    const pages = urlsOf(await discovery.discover(siteWith({ sitemap: '/no-such-sitemap.xml' })));
    expect(pages).toEqual([`${site.origin}/page/a1`, `${site.origin}/page/a2`]);
  });

  it('crawls the same origin, honouring robots.txt, exclude patterns and maxPages', async () => {
    const pages = urlsOf(await discovery.discover(siteWith({ crawl: { start: '/crawl', maxPages: 10, exclude: ['/crawl/skip-*'] } })));
    expect(new Set(pages)).toEqual(new Set([`${site.origin}/crawl`, `${site.origin}/crawl/one`, `${site.origin}/crawl/two`, `${site.origin}/crawl/three`]));
    expect(secret.hits).toEqual([]);
    const limited = await discovery.discover(siteWith({ crawl: { start: '/crawl', maxPages: 2 } }));
    expect(limited).toHaveLength(2);
  });

  it('takes an explicit list, relative or absolute', async () => {
    const pages = urlsOf(await discovery.discover(siteWith({ urls: ['/page/x', `${site.origin}/page/y?b=2&a=1`, '/page/x#again'] })));
    expect(pages).toEqual([`${site.origin}/page/x`, `${site.origin}/page/y?a=1&b=2`]);
  });

  it('rejects requested pages outside the site', () => {
    const result = discovery.pagesOf(siteWith({ urls: ['/'] }), ['/ok', 'https://evil.example.com/', 'http://[bad']);
    expect(result.urls).toEqual([`${site.origin}/ok`]);
    expect(result.rejected).toEqual(['https://evil.example.com/', 'http://[bad']);
  });
});
