import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toStoredEntry } from '../../src/cache/entry.js';
import { HotTier } from '../../src/cache/hot-tier.js';
import { PageCache } from '../../src/cache/page-cache.js';
import { createKeyvStore } from '../../src/cache/store.js';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { EgressProxy } from '../../src/render/egress/egress-proxy.js';
import type { InputRecord } from '../../src/render/types.js';
import { InputRevalidator } from '../../src/revalidate/input-revalidator.js';
import type { RunningService } from '../../src/service.js';
import { BACKENDS, REDIS } from '../helpers/backends.js';
import { json } from '../helpers/json.js';
import { waitFor } from '../helpers/wait-for.js';
import { managementApi, type JobStatusBody, type ListBody, type PageItemBody } from '../helpers/management-api.js';
import { lookupUrl, startTestService, tempDir, uniqueNamespace } from '../helpers/service.js';

/**
 * A site whose pages are shells filled by a script and a fetch of their own JSON, every
 * response with an ETag (answered 304 when it matches), except /plain/* which carry none
 * (their bodies are hashed) and /post, whose data is fetched with POST.
 */
interface Origin {
  origin: string;
  /** Data version per page number. */
  versions: Map<number, number>;
  /** The shared script's version. */
  script: { version: number };
  /** Version of the HTML of /p/N (a comment in it). */
  html: Map<number, number>;
  /** Every request: path, and whether it was conditional (If-None-Match). */
  log: Array<{ path: string; conditional: boolean; ua: string }>;
  /** Paths answered 500 while set. */
  broken: Set<string>;
  /** The <lastmod> of /p/N in /sitemap.xml (ISO), when set. */
  lastmod: Map<number, string>;
  /** Unconditional requests (a render's, not a revalidation's) of these paths wait for their release. */
  held: Map<string, Promise<void>>;
  close(): Promise<void>;
}

const etagOf = (text: string) => `"${createHash('sha1').update(text).digest('hex').slice(0, 12)}"`;

async function startOrigin(): Promise<Origin> {
  const versions = new Map<number, number>();
  const script = { version: 1 };
  const html = new Map<number, number>();
  const log: Origin['log'] = [];
  const broken = new Set<string>();
  const lastmod = new Map<number, string>();
  const held = new Map<string, Promise<void>>();
  const serve = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const conditional = req.headers['if-none-match'] !== undefined || req.headers['if-modified-since'] !== undefined;
    log.push({ path, conditional, ua: req.headers['user-agent'] ?? '' });
    if (!conditional) await held.get(path);
    if (broken.has(path)) {
      res.writeHead(500);
      return res.end('broken');
    }
    let body: string;
    let type = 'text/html; charset=utf-8';
    let validators = true;
    // /lm/N and its data carry only Last-Modified, one second per version.
    let lastModified: string | undefined;
    const page = /^\/(p|plain|lm)\/(\d+)$/.exec(path);
    const data = /^\/(data|plaindata|lmdata)\/(\d+)\.json$/.exec(path);
    if (page) {
      validators = page[1] === 'p';
      if (page[1] === 'lm') lastModified = new Date(Date.UTC(2026, 0, 1) + (html.get(Number(page[2])) ?? 1) * 1000).toUTCString();
      const dataPath = { p: '/data', plain: '/plaindata', lm: '/lmdata' }[page[1] as 'p' | 'plain' | 'lm'] + `/${page[2]}.json`;
      body = `<!doctype html><!-- v${html.get(Number(page[2])) ?? 1} --><html><head><title>Page ${page[2]}</title><script src="/app.js"></script></head><body><div id="app">loading</div><script>
fetch('${dataPath}').then(function (r) { return r.json(); }).then(function (d) { document.getElementById('app').textContent = 'page ${page[2]} v' + d.v + ' s' + window.APP; });
</script></body></html>`;
    } else if (data) {
      validators = data[1] === 'data';
      if (data[1] === 'lmdata') lastModified = new Date(Date.UTC(2026, 0, 1) + (versions.get(Number(data[2])) ?? 1) * 1000).toUTCString();
      body = JSON.stringify({ v: versions.get(Number(data[2])) ?? 1 });
      type = 'application/json';
    } else if (path === '/sitemap.xml') {
      const urls = [1, 3].map((n) => `<url><loc>http://${req.headers.host}/p/${n}</loc>${lastmod.has(n) ? `<lastmod>${lastmod.get(n)}</lastmod>` : ''}</url>`);
      body = `<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">${urls.join('')}</urlset>`;
      type = 'application/xml';
      validators = false;
    } else if (path === '/app.js') {
      body = `window.APP = ${script.version};`;
      type = 'application/javascript';
    } else if (path === '/post') {
      body = `<!doctype html><html><body><div id="app">loading</div><script>
fetch('/api/search', { method: 'POST', body: '{}' }).then(function (r) { return r.json(); }).then(function (d) { document.getElementById('app').textContent = 'found ' + d.n; });
</script></body></html>`;
    } else if (path === '/api/search') {
      body = JSON.stringify({ n: 3 });
      type = 'application/json';
    } else {
      res.writeHead(404);
      return res.end();
    }
    const headers: Record<string, string> = { 'content-type': type, 'cache-control': 'no-cache' };
    if (lastModified !== undefined) {
      headers['last-modified'] = lastModified;
      if (req.headers['if-modified-since'] === lastModified) {
        res.writeHead(304, headers);
        return res.end();
      }
    }
    if (validators) {
      const etag = etagOf(body);
      headers['etag'] = etag;
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, headers);
        return res.end();
      }
    }
    res.writeHead(200, headers);
    res.end(body);
  };
  const server = http.createServer((req, res) => void serve(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    versions,
    script,
    html,
    log,
    broken,
    lastmod,
    held,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const TOKENS = { owner: 'owner-token-123' };
const PAGES = ['/p/1', '/p/2', '/p/3', '/plain/4', '/post'];

describe.each(BACKENDS)('incremental refresh on the $name backend: a page whose inputs did not change is kept, not rendered', (backend) => {
  let origin: Origin;
  let service: RunningService;
  const api = managementApi(() => service, TOKENS);

  beforeAll(async () => {
    origin = await startOrigin();
    const other = origin.origin.replace('127.0.0.1', 'localhost');
    service = await startTestService({
      ...backend.serviceConfig('incremental'),
      auth: { tokens: [{ token: TOKENS.owner, user: 'owner' }] },
      api: { rateLimit: { points: 100_000, windowSeconds: 60 } },
      sites: [
        { id: 'inc', name: 'Inc', origin: origin.origin, members: { owner: 'Owner' }, pages: { urls: PAGES } },
        // Its pages from a sitemap with <lastmod>.
        { id: 'dated', name: 'Dated', origin: other, allowPrivateNetwork: true, members: { owner: 'Owner' }, pages: { sitemap: '/sitemap.xml' } },
        // The same pages on a site that turns the skip off.
        {
          id: 'full',
          name: 'Full',
          origin: `${other}/p/`,
          allowPrivateNetwork: true,
          incremental: false,
          members: { owner: 'Owner' },
          pages: { urls: ['/p/2'] },
        },
      ],
    });
  });
  afterAll(async () => {
    await service?.stop();
    await origin?.close();
  });

  async function refresh(siteId: string): Promise<{ job: JobStatusBody; pages: Array<PageItemBody & { outcome: string; variant: string }> }> {
    const started = await api.call('owner', 'POST', `/sites/${siteId}/refresh`, { headers: { prefer: 'respond-async' } });
    expect(started.status).toBe(202);
    const job = await api.waitForEnd((await json<{ id: string }>(started)).id, 'owner');
    const list = await json<ListBody<PageItemBody & { outcome: string; variant: string }>>(
      await api.call('owner', 'GET', `/sites/_status/${job.id}/pages?limit=50`),
    );
    return { job, pages: list.items };
  }
  const outcomes = (pages: Array<{ pageUrl: string; outcome: string }>) => Object.fromEntries(pages.map((p) => [new URL(p.pageUrl).pathname, p.outcome]));
  const rendersSoFar = async () => {
    const text = await (await fetch(`${service.url}/metrics`)).text();
    const count = (outcome: string) => Number(new RegExp(`^rendercache_renders_total\\{outcome="${outcome}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
    return { ok: count('ok'), unchanged: count('unchanged') };
  };
  const content = async (path: string) => {
    const res = await fetch(lookupUrl(service, `${origin.origin}${path}`));
    return {
      state: res.headers.get('x-rendercache-cache'),
      etag: res.headers.get('etag'),
      lastModified: res.headers.get('last-modified'),
      html: await res.text(),
    };
  };

  it('renders every page the first time: each gets a manifest, none is unchanged', async () => {
    const { job, pages } = await refresh('inc');
    expect(job).toMatchObject({ progress: 'succeeded', pageCount: 5, completedCount: 5, unchangedCount: 0 });
    expect(Object.values(outcomes(pages))).toEqual(['rendered', 'rendered', 'rendered', 'rendered', 'rendered']);
    expect((await content('/p/2')).html).toContain('page 2 v1 s1');
  });

  it('keeps every unchanged page on the next refresh without Chromium: conditional requests, a shared script asked once', async () => {
    const before = await content('/p/1');
    const renders = await rendersSoFar();
    origin.log.length = 0;
    const { job, pages } = await refresh('inc');
    // /post fetched its data with POST: it cannot be revalidated, so it is rendered.
    expect(job).toMatchObject({ progress: 'succeeded', pageCount: 5, completedCount: 5, unchangedCount: 4, failedCount: 0 });
    expect(outcomes(pages)).toEqual({ '/p/1': 'unchanged', '/p/2': 'unchanged', '/p/3': 'unchanged', '/plain/4': 'unchanged', '/post': 'rendered' });
    expect(await rendersSoFar()).toEqual({ ok: renders.ok + 1, unchanged: renders.unchanged + 4 });
    // Validators were sent where the inputs had them; the script all four share was asked about once.
    expect(origin.log.filter((r) => r.path === '/data/1.json')).toEqual([expect.objectContaining({ conditional: true })]);
    expect(origin.log.filter((r) => r.path === '/app.js' && r.conditional)).toHaveLength(1);
    // The kept page is a hit with its content's ETag and Last-Modified: crawlers still get 304s.
    const after = await content('/p/1');
    expect(after).toMatchObject({ state: 'hit', etag: before.etag, lastModified: before.lastModified });
    expect(after.html).toContain('page 1 v1 s1');
  });

  it('renders only the pages whose data or document changed, and stops asking about a page at its first changed input', async () => {
    origin.versions.set(2, 2);
    origin.versions.set(4, 7);
    origin.html.set(1, 2);
    origin.log.length = 0;
    const { job, pages } = await refresh('inc');
    expect(job).toMatchObject({ completedCount: 5, unchangedCount: 1 });
    expect(outcomes(pages)).toEqual({ '/p/1': 'rendered', '/p/2': 'rendered', '/p/3': 'unchanged', '/plain/4': 'rendered', '/post': 'rendered' });
    // /p/1's document changed: its data was not asked about (only Chromium's render fetched it, unconditionally).
    expect(origin.log.filter((r) => r.path === '/data/1.json').map((r) => r.conditional)).toEqual([false]);
    expect((await content('/p/2')).html).toContain('page 2 v2 s1');
    expect((await content('/plain/4')).html).toContain('page 4 v7 s1');
    expect((await content('/p/3')).html).toContain('page 3 v1 s1');
  });

  it('re-renders every page that loads a changed shared script', async () => {
    origin.script.version = 2;
    const { job, pages } = await refresh('inc');
    expect(job).toMatchObject({ completedCount: 5, unchangedCount: 0 });
    expect(Object.values(outcomes(pages)).every((o) => o === 'rendered')).toBe(true);
    expect((await content('/p/1')).html).toContain('page 1 v1 s2');
  });

  it('never counts a page unchanged because a revalidation request failed', async () => {
    await refresh('inc'); // all unchanged again but /post
    origin.broken.add('/data/3.json');
    const { pages } = await refresh('inc');
    origin.broken.clear();
    // The render of /p/3 failed on the broken data too, so the page failed; it was never kept.
    expect(outcomes(pages)['/p/3']).not.toBe('unchanged');
    expect(outcomes(pages)['/p/1']).toBe('unchanged');
  });

  it('renders a page whose sitemap <lastmod> is after its render; an older one is no proof, its inputs are asked', async () => {
    origin.lastmod.set(3, '2020-01-01T00:00:00Z');
    await refresh('dated');
    expect(outcomes((await refresh('dated')).pages)).toEqual({ '/p/1': 'unchanged', '/p/3': 'unchanged' });
    // A date after the render (the sitemap's clock is the origin's: an hour ahead is "later" whatever ours says).
    origin.lastmod.set(1, new Date(Date.now() + 3_600_000).toISOString());
    expect(outcomes((await refresh('dated')).pages)).toEqual({ '/p/1': 'rendered', '/p/3': 'unchanged' });
  });

  it('renders every page of a site with incremental: false', async () => {
    await refresh('full');
    const { job } = await refresh('full');
    expect(job).toMatchObject({ completedCount: 1, unchangedCount: 0 });
  });
});

describe('a refresh where few pages changed', () => {
  it('keeps its unchanged pages while a changed one is still rendering: asking needs no browser', async () => {
    const origin = await startOrigin();
    // One render at a time, one page of the site rendering at a time.
    const service = await startTestService({
      render: { concurrency: 1 },
      refresh: { siteConcurrency: 1 },
      sites: [{ id: 'few', name: 'Few', origin: origin.origin, pages: { urls: ['/p/1', '/p/2', '/p/3', '/plain/4'] } }],
    });
    let release = () => {};
    try {
      const refresh = async () => {
        const { job } = await service.refresh.start(service.sites.registry.byId('few')!, { trigger: 'api', requestedBy: 'test' });
        return job.id;
      };
      expect(await service.refresh.whenDone(await refresh())).toMatchObject({ completedCount: 4, unchangedCount: 0 });
      // The first page's data changes, and its render's request of its document waits.
      origin.versions.set(1, 2);
      origin.held.set('/p/1', new Promise<void>((resolve) => (release = resolve)));
      const jobId = await refresh();
      await waitFor('the three unchanged pages kept', async () => (await service.refresh.getJob(jobId))?.unchangedCount === 3, 30_000);
      expect(await service.refresh.getJob(jobId)).toMatchObject({ progress: 'processing', completedCount: 3 });
      release();
      expect(await service.refresh.whenDone(jobId)).toMatchObject({ progress: 'succeeded', completedCount: 4, unchangedCount: 3 });
      expect(await (await fetch(lookupUrl(service, `${origin.origin}/p/1`))).text()).toContain('page 1 v2 s1');
    } finally {
      release();
      await service.stop();
      await origin.close();
    }
  });
});

describe('an origin that sends only Last-Modified', () => {
  it('is asked with If-Modified-Since: kept while it answers 304, rendered once its data moved', async () => {
    const origin = await startOrigin();
    const service = await startTestService({ sites: [{ id: 'lm', name: 'LM', origin: origin.origin, pages: { urls: ['/lm/1', '/lm/2'] } }] });
    try {
      const refresh = async () => {
        const { job } = await service.refresh.start(service.sites.registry.byId('lm')!, { trigger: 'api', requestedBy: 'test' });
        return service.refresh.whenDone(job.id);
      };
      expect(await refresh()).toMatchObject({ completedCount: 2, unchangedCount: 0 });
      origin.log.length = 0;
      expect(await refresh()).toMatchObject({ completedCount: 2, unchangedCount: 2 });
      expect(origin.log.filter((r) => r.path === '/lmdata/1.json')).toEqual([expect.objectContaining({ conditional: true })]);
      origin.versions.set(2, 5);
      expect(await refresh()).toMatchObject({ completedCount: 2, unchangedCount: 1 });
      expect(await (await fetch(lookupUrl(service, `${origin.origin}/lm/2`))).text()).toContain('page 2 v5 s1');
    } finally {
      await service.stop();
      await origin.close();
    }
  });
});

describe('a refresh right after Chromium was recycled', () => {
  it('still keeps its unchanged pages: the User-Agent they are asked with outlives the browser', async () => {
    const origin = await startOrigin();
    // A new browser after every render: between two, none is running.
    const service = await startTestService({
      render: { recycleAfterRenders: 1 },
      sites: [{ id: 'recycled', name: 'Recycled', origin: origin.origin, pages: { urls: ['/p/1', '/p/2', '/p/3', '/plain/4'] } }],
    });
    try {
      for (const unchangedCount of [0, 4]) {
        const { job } = await service.refresh.start(service.sites.registry.byId('recycled')!, { trigger: 'api', requestedBy: 'test' });
        expect(await service.refresh.whenDone(job.id)).toMatchObject({ progress: 'succeeded', completedCount: 4, unchangedCount });
      }
    } finally {
      await service.stop();
      await origin.close();
    }
  });
});

describe('revalidation requests go through the egress guard', () => {
  it('never reaches a private address the site does not allow: the input counts as changed', async () => {
    let reached = 0;
    const secret = http.createServer((_req, res) => {
      reached++;
      res.writeHead(304);
      res.end();
    });
    await new Promise<void>((resolve) => secret.listen(0, '127.0.0.1', resolve));
    const secretUrl = `http://127.0.0.1:${(secret.address() as AddressInfo).port}`;
    const egress = new EgressProxy({ logger: createLogger('silent') });
    const defaults = parseConfig({}).refresh;
    const revalidator = new InputRevalidator(egress, {
      timeoutMs: defaults.discovery.timeoutMs,
      maxBytes: defaults.discovery.maxDocumentBytes,
      concurrencyPerOrigin: 2,
    });
    const policy = { siteOrigin: 'https://public.example', allowPrivateNetwork: false, userAgent: 'test' };
    // A manifest recorded when that address may have been allowed (or forged) is no permission now.
    const inputs: InputRecord[] = [{ u: `${secretUrl}/config.json`, s: 200, e: '"x"' }];
    try {
      expect(await revalidator.unchanged(inputs, 'https://public.example/page', policy, 'job-1')).toBe(false);
      expect(reached).toBe(0);
      // The same input on a site that allows private addresses is asked, and its 304 believed.
      expect(await revalidator.unchanged(inputs, 'https://public.example/page', { ...policy, allowPrivateNetwork: true }, 'job-1')).toBe(true);
      expect(reached).toBe(1);
    } finally {
      await egress.close();
      secret.closeAllConnections();
      await new Promise((resolve) => secret.close(resolve));
    }
  });
});

describe('a revalidation request that times out', () => {
  it('counts as a change (the page is rendered), whether the headers or the body never come', async () => {
    const server = http.createServer((req, res) => {
      // /silent never answers; /stalled sends its headers and part of its body, then nothing.
      if (req.url === '/stalled') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"v":');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const egress = new EgressProxy({ logger: createLogger('silent') });
    const revalidator = new InputRevalidator(egress, { timeoutMs: 300, maxBytes: 1024, concurrencyPerOrigin: 2 });
    const policy = { siteOrigin: base, allowPrivateNetwork: true, userAgent: 'test' };
    try {
      const started = performance.now();
      expect(await revalidator.unchanged([{ u: '/silent', s: 200, e: '"a"' }], `${base}/page`, policy, 'job-t')).toBe(false);
      expect(await revalidator.unchanged([{ u: '/stalled', s: 200, h: 'anything' }], `${base}/page`, policy, 'job-t')).toBe(false);
      // Both were cut by the timeout, not left to hang (the bound is generous: two 300 ms timeouts).
      expect(performance.now() - started).toBeLessThan(10_000);
    } finally {
      await egress.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('refresh.fullRenderAfter', () => {
  it('reads durations, and names the field of one that does not parse', () => {
    expect(parseConfig({}).refresh.fullRenderAfter).toBe(24 * 3_600_000);
    expect(parseConfig({ refresh: { fullRenderAfter: '90m' } }).refresh.fullRenderAfter).toBe(90 * 60_000);
    expect(parseConfig({ refresh: { fullRenderAfter: 30 } }).refresh.fullRenderAfter).toBe(30_000);
    expect(() => parseConfig({ refresh: { fullRenderAfter: '5 minutes' } })).toThrow(/refresh\.fullRenderAfter.*a duration such as 90s, 10m, 24h or 7d/s);
  });

  it('renders a page whose last full render is older, whatever its inputs say', async () => {
    const origin = await startOrigin();
    const service = await startTestService({
      refresh: { fullRenderAfter: '0s' },
      sites: [{ id: 'old', name: 'Old', origin: origin.origin, pages: { urls: ['/p/1'] } }],
    });
    try {
      for (let round = 0; round < 2; round++) {
        const site = service.sites.registry.byId('old');
        const { job } = await service.refresh.start(site!, { trigger: 'api', requestedBy: 'test' });
        expect(await service.refresh.whenDone(job.id)).toMatchObject({ progress: 'succeeded', completedCount: 1, unchangedCount: 0 });
      }
    } finally {
      await service.stop();
      await origin.close();
    }
  });
});

describe('a verified entry', () => {
  it('is a hit again, with the ETag and Last-Modified of its content', async () => {
    const keyv = createKeyvStore({ backend: 'embedded', dir: tempDir() }, 'verified');
    const cache = new PageCache(keyv, new HotTier(1024 * 1024), { commandTimeoutMs: 1000, staleAfterMs: 3_600_000 }, createLogger('silent'));
    await cache.connect();
    try {
      const url = 'https://s.test/old';
      // Rendered two hours ago: stale.
      const stored = toStoredEntry(
        { url, status: 200, headers: {}, html: '<p>old</p>', renderTimeMs: 1, source: { trigger: 'api' } },
        new Date(Date.now() - 2 * 3_600_000),
      );
      await keyv.set(`page:${url}`, stored);
      const entry = (await cache.get(url))!;
      expect(cache.stateOf(entry)).toBe('stale');
      const verified = (await cache.markVerified(url, entry))!;
      expect(cache.stateOf(verified)).toBe('hit');
      expect(verified.stored.etag).toBe(entry.stored.etag);
      expect(verified.lastModified).toBe(entry.lastModified);
      // Durably: read back from the store, not the hot tier.
      const fromStore = (await keyv.get(`page:${url}`)) as { renderedAt?: string; verifiedAt?: string } | undefined;
      expect(fromStore?.renderedAt).toBe(stored.renderedAt);
      expect(Date.parse(fromStore?.verifiedAt ?? '')).toBeGreaterThan(Date.parse(stored.renderedAt));
    } finally {
      await cache.close();
    }
  });

  it('keeps a manifest of 40 inputs compact: well under the size of the entry itself', () => {
    const inputs: InputRecord[] = [
      { u: '/products/blue-widget', s: 200, e: '"5f2a9c0e1b7d"' },
      ...Array.from({ length: 24 }, (_, i): InputRecord => ({
        u: `/static/js/chunk-${i}.3f9a1c7e.js`,
        s: 200,
        e: `W/"${(i * 7919).toString(16)}-18c2a"`,
        l: 'Tue, 01 Dec 2026 09:00:00 GMT',
      })),
      ...Array.from({ length: 15 }, (_, i): InputRecord => ({ u: `/api/catalog/items?page=${i}&size=24`, s: 200, h: 'Zk3n0QxY8sLp2W1a' })),
    ];
    // A product page as rendered: about 30 KB of HTML, each item's text its own (the entry
    // is stored compressed, and repeated text would compress to almost nothing).
    const itemText = (i: number): string => createHash('sha256').update(`item ${i}`).digest('base64');
    const html = `<!doctype html><html><body>${Array.from({ length: 300 }, (_, i) => `<div class="item" data-sku="SKU-${i}"><h2>Product ${i}</h2><p>${itemText(i)}</p></div>`).join('')}</body></html>`;
    const page = { url: 'https://s.test/products/blue-widget', status: 200, headers: {}, html, renderTimeMs: 1, source: { trigger: 'api' as const } };
    const without = JSON.stringify(toStoredEntry(page)).length;
    const withInputs = JSON.stringify(toStoredEntry({ ...page, inputs })).length;
    expect(inputs).toHaveLength(40);
    expect(withInputs - without).toBeLessThan(without);
  });
});

describe('incremental refresh in a cluster', () => {
  it('keeps a page on whichever instance takes it: the manifest another instance recorded is in the shared store', async () => {
    const origin = await startOrigin();
    const namespace = uniqueNamespace('inc-cluster');
    const config = {
      ...REDIS.serviceConfig('inc-cluster', { namespace }),
      sites: [{ id: 'shared', name: 'Shared', origin: origin.origin, pages: { urls: ['/p/1', '/p/2', '/plain/4'] } }],
    };
    const refreshOn = async (service: RunningService) => {
      const { job } = await service.refresh.start(service.sites.registry.byId('shared')!, { trigger: 'api', requestedBy: 'test' });
      return service.refresh.whenDone(job.id);
    };
    let first: RunningService | undefined;
    let second: RunningService | undefined;
    try {
      first = await startTestService(config);
      expect(await refreshOn(first)).toMatchObject({ progress: 'succeeded', completedCount: 3, unchangedCount: 0 });
      await first.stop();
      first = undefined;
      // An instance that rendered none of them, with nothing in its own memory.
      origin.versions.set(2, 2);
      origin.log.length = 0;
      second = await startTestService(config);
      expect(await refreshOn(second)).toMatchObject({ progress: 'succeeded', completedCount: 3, unchangedCount: 2 });
      // It asked the origin with the validators the first instance recorded.
      expect(origin.log.filter((r) => r.path === '/data/1.json')).toEqual([expect.objectContaining({ conditional: true })]);
      const html = await (await fetch(lookupUrl(second, `${origin.origin}/p/2`))).text();
      expect(html).toContain('page 2 v2 s1');
    } finally {
      await first?.stop();
      await second?.stop();
      await origin.close();
    }
  });
});
