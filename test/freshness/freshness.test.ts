import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toStoredEntry } from '../../src/cache/entry.js';
import { HotTier } from '../../src/cache/hot-tier.js';
import { variantKey } from '../../src/cache/key.js';
import { PageCache } from '../../src/cache/page-cache.js';
import { createKeyvStore } from '../../src/cache/store.js';
import { parseConfig } from '../../src/config/load.js';
import { CrawlerDemand } from '../../src/freshness/crawler-demand.js';
import { freshnessRules } from '../../src/freshness/freshness-rules.js';
import { RefreshPagePlanner } from '../../src/freshness/page-planner.js';
import { newJobRecord } from '../../src/jobs/refresh-service.js';
import { createLogger } from '../../src/observability/logger.js';
import type { RunningService } from '../../src/service.js';
import { toSite } from '../../src/sites/site.js';
import { json } from '../helpers/json.js';
import { managementApi, type ListBody, type PageItemBody } from '../helpers/management-api.js';
import { lookupUrl, startTestService, tempDir } from '../helpers/service.js';

const RULES = [{ match: '/news/*', maxAge: '10m' }, { match: '/archive/**', maxAge: '7d' }, { maxAge: '1h' }];
const site = (extra: Record<string, unknown> = {}) => ({ id: 's', name: 'S', origin: 'https://s.test', ...extra });

describe('freshness rules in the config', () => {
  it('match in order on the path, the last the default; durations in milliseconds', () => {
    const config = parseConfig({ sites: [site({ freshness: RULES })] });
    const rules = freshnessRules(config.sites[0]!)!;
    expect(rules.rules.map((r) => r.maxAge)).toEqual([600_000, 7 * 86_400_000, 3_600_000]);
    expect(rules.ruleOf('https://s.test/news/today')).toBe(0);
    // `*` stays in one segment; `**` crosses them.
    expect(rules.ruleOf('https://s.test/news/2026/today')).toBe(2);
    expect(rules.ruleOf('https://s.test/archive/2020/01/a')).toBe(1);
    expect(rules.ruleOf('https://s.test/')).toBe(2);
  });

  it('stop start-up with the field named: a default that is not last, a last rule with a match, a bad pattern or duration', () => {
    const bad = (freshness: unknown, message: RegExp) => expect(() => parseConfig({ sites: [site({ freshness })] })).toThrow(message);
    bad([{ maxAge: '1h' }, { match: '/a/*', maxAge: '1h' }], /sites\[0\]\.freshness\[0\].*only the last rule may leave out "match"/s);
    bad([{ match: '/a/*', maxAge: '1h' }], /sites\[0\]\.freshness\[0\]\.match.*the last rule is the default/s);
    bad([{ match: 'news/*', maxAge: '1h' }, { maxAge: '1h' }], /sites\[0\]\.freshness\[0\]\.match.*starting with "\/"/s);
    bad([{ match: '/news/[a', maxAge: '1h' }, { maxAge: '1h' }], /sites\[0\]\.freshness\[0\]\.match.*not a glob/s);
    bad([{ maxAge: '10 minutes' }], /sites\[0\]\.freshness\[0\]\.maxAge.*a duration such as/s);
  });
});

describe('refresh planning: due pages, and the pages crawlers asked for first', () => {
  const logger = createLogger('silent');
  const NOW = Date.parse('2026-12-01T12:00:00Z');
  const minutes = (n: number) => n * 60_000;
  let cache: PageCache;
  let demand: CrawlerDemand;
  let planner: RefreshPagePlanner;
  const config = parseConfig({ sites: [site({ freshness: RULES })] });
  const theSite = toSite(config.sites[0]!);
  const page = (path: string) => ({ url: `https://s.test${path}`, variant: 'desktop' });

  beforeAll(async () => {
    const keyv = createKeyvStore({ backend: 'embedded', dir: tempDir() }, 'plan');
    cache = new PageCache(keyv, new HotTier(0), { commandTimeoutMs: 1000, staleAfterMs: 3_600_000 }, logger);
    await cache.connect();
    // Rendered at set times before NOW (straight into the store: the hot tier is off).
    const renderedAgo = { '/news/a': minutes(5), '/news/b': minutes(15), '/archive/x/1': minutes(60 * 24), '/about': minutes(30), '/contact': minutes(90) };
    for (const [path, ago] of Object.entries(renderedAgo)) {
      const stored = toStoredEntry(
        { url: page(path).url, status: 200, headers: {}, html: `<p>${path}</p>`, renderTimeMs: 1, source: { trigger: 'api' } },
        new Date(NOW - ago),
      );
      await keyv.set(`page:${page(path).url}`, stored);
    }
    demand = new CrawlerDemand(keyv, { flushEveryMs: 60_000, windowMs: 24 * 3_600_000, commandTimeoutMs: 1000 }, logger);
    planner = new RefreshPagePlanner(cache, demand);
  });
  afterAll(async () => {
    await demand.stop();
    await cache.close();
  });

  const paths = (pages: Array<{ url: string }>) => pages.map((p) => new URL(p.url).pathname);
  const all = ['/news/a', '/news/b', '/archive/x/1', '/about', '/contact', '/never-cached'].map(page);

  it('a scheduled refresh takes only the pages older than their rule, or never cached', async () => {
    const scheduled = newJobRecord('s', 'refresh', { trigger: 'schedule', requestedBy: 'schedule' });
    expect(paths(await planner.plan(theSite, scheduled, all, NOW))).toEqual(['/news/b', '/contact', '/never-cached']);
    // Ten minutes on, the page of five minutes ago is due too; the archive page stays fresh for a week.
    expect(paths(await planner.plan(theSite, scheduled, all, NOW + minutes(10)))).toEqual(['/news/a', '/news/b', '/contact', '/never-cached']);
    // An API refresh renders what it was asked for.
    const manual = newJobRecord('s', 'refresh', { trigger: 'api', requestedBy: 'u' });
    expect(paths(await planner.plan(theSite, manual, all, NOW))).toEqual(paths(all));
  });

  it('puts the pages crawlers asked for within the window first, in discovery order otherwise', async () => {
    demand.record('s', variantKey(page('/contact').url, 'desktop'), NOW - minutes(60));
    demand.record('s', variantKey(page('/about').url, 'desktop'), NOW - minutes(25 * 60)); // outside the 24 h window
    const manual = newJobRecord('s', 'refresh', { trigger: 'api', requestedBy: 'u' });
    expect(paths(await planner.plan(theSite, manual, all, NOW))).toEqual(['/contact', '/news/a', '/news/b', '/archive/x/1', '/about', '/never-cached']);
  });
});

describe('a site with freshness rules, in the running service', () => {
  let origin: http.Server;
  let base: string;
  let service: RunningService;
  const api = managementApi(() => service, { owner: 'owner-token-123' });

  beforeAll(async () => {
    origin = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><title>${req.url}</title><p>${req.url}</p>`);
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
    service = await startTestService({
      auth: { tokens: [{ token: 'owner-token-123', user: 'owner' }] },
      api: { rateLimit: { points: 100_000, windowSeconds: 60 } },
      sites: [
        {
          id: 'news',
          name: 'News',
          origin: base,
          members: { owner: 'Owner' },
          pages: { urls: ['/news/1', '/news/2', '/archive/2020/a', '/about'] },
          freshness: RULES,
        },
      ],
    });
  });
  afterAll(async () => {
    await service?.stop();
    origin?.closeAllConnections();
    await new Promise((resolve) => origin?.close(resolve));
  });

  const start = async (trigger: 'schedule' | 'api') => {
    const { job } = await service.refresh.start(service.sites.registry.byId('news')!, { trigger, requestedBy: trigger });
    return (await service.refresh.whenDone(job.id))!;
  };

  it('a scheduled refresh renders what is due; the next one, nothing; an API refresh, everything', async () => {
    expect(await start('schedule')).toMatchObject({ progress: 'succeeded', pageCount: 4, completedCount: 4 });
    expect(await start('schedule')).toMatchObject({ progress: 'succeeded', pageCount: 0 });
    expect(await start('api')).toMatchObject({ progress: 'succeeded', pageCount: 4 });
  });

  it('GET …/cache reports per rule the cached pages and how many are fresh', async () => {
    const body = await json<{ freshness: unknown[] }>(await api.call('owner', 'GET', '/sites/news/cache'));
    expect(body.freshness).toEqual([
      { match: '/news/*', maxAgeSeconds: 600, pages: 2, fresh: 2 },
      { match: '/archive/**', maxAgeSeconds: 604_800, pages: 1, fresh: 1 },
      { match: null, maxAgeSeconds: 3600, pages: 1, fresh: 1 },
    ]);
  });

  it('renders the pages crawlers looked up first', async () => {
    expect((await fetch(lookupUrl(service, `${base}/about`))).headers.get('x-rendercache-cache')).toBe('hit');
    const started = await api.call('owner', 'POST', '/sites/news/refresh', { headers: { prefer: 'respond-async' } });
    const job = await api.waitForEnd((await json<{ id: string }>(started)).id, 'owner');
    const pages = await json<ListBody<PageItemBody>>(await api.call('owner', 'GET', `/sites/_status/${job.id}/pages`));
    expect(pages.items.map((p) => new URL(p.pageUrl).pathname)).toEqual(['/about', '/news/1', '/news/2', '/archive/2020/a']);
  });
});
