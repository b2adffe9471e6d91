import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from './build.js';
import { CONSOLE_CSP } from '../../src/api/console-routes.js';
import { visibleText } from '../../src/api/routes/inspect.js';
import { percentile } from '../../src/api/routes/site-stats.js';
import type { RunningService } from '../../src/service.js';
import { startFixtureSite, type FixtureSite } from '../fixtures/fixture-site.js';
import { json } from '../helpers/json.js';
import { API_BASE, managementApi, type JobStatusBody } from '../helpers/management-api.js';
import { startTestService } from '../helpers/service.js';

const TOKENS = { owner: 'owner-token-123', viewer: 'viewer-token-123', stranger: 'stranger-token-1' };

interface ProgressEvent extends JobStatusBody {
  pagesPerSecond: number;
  secondsLeft: number | null;
}

/** Reads an SSE answer to its end: the events in order. */
async function readEvents(res: Response): Promise<Array<{ event: string; data: unknown }>> {
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('event:'))
    .map((block) => {
      const lines = block.split('\n');
      return { event: lines[0]!.slice(6).trim(), data: JSON.parse(lines[1]!.slice(5).trim()) as unknown };
    });
}

describe('the console routes (server side)', () => {
  let site: FixtureSite;
  let service: RunningService;
  let assets: string[];
  const api = managementApi(() => service, TOKENS);

  beforeAll(async () => {
    ({
      manifest: { assets },
    } = await buildConsole());
    site = await startFixtureSite();
    service = await startTestService({
      auth: { tokens: Object.entries(TOKENS).map(([user, token]) => ({ token, user })) },
      refresh: { maxAttempts: 1 },
      sites: [
        {
          id: 'con',
          name: 'Console',
          origin: site.origin,
          pages: { urls: ['/page/c1', '/page/c2', '/page/c3', '/error'] },
          members: { owner: 'Owner', viewer: 'Viewer' },
        },
      ],
    });
  });
  afterAll(async () => {
    await service?.stop();
    await site?.close();
  });

  it('redirects / to /console and serves index.html with the CSP, not cached', async () => {
    const root = await fetch(`${service.url}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/console');
    for (const path of ['/console', '/console/sites/con', '/console/sites/con/inspect']) {
      const res = await fetch(`${service.url}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/html');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
      const html = await res.text();
      expect(html).not.toMatch(/<script>|<script [^>]*>[^<]/);
      for (const asset of assets) expect(html).toContain(`/console/${asset}`);
    }
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toContain('unsafe-inline');
  });

  it('serves only the hashed assets of the build, immutable', async () => {
    expect(assets.some((a) => /^assets\/app\.[A-Z0-9]+\.js$/.test(a))).toBe(true);
    expect(assets.some((a) => /^assets\/style\.[A-Z0-9]+\.css$/.test(a))).toBe(true);
    for (const asset of assets) {
      const res = await fetch(`${service.url}/console/${asset}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('content-type')).toMatch(asset.endsWith('.js') ? /javascript/ : /text\/css/);
    }
    for (const path of [
      '/console/assets/nope.js',
      '/console/assets/..%2fmanifest.json',
      '/console/assets/../manifest.json',
      '/console/manifest.json/../assets/x',
    ]) {
      const res = await fetch(`${service.url}${path}`);
      expect(res.headers.get('cache-control')).not.toContain('immutable');
      if (res.status === 200) expect(await res.text()).toContain('<div id="app">');
      else expect(res.status).toBe(404);
    }
    expect((await fetch(`${service.url}/console`, { method: 'POST' })).status).toBe(405);
  });

  it('streams a job as Server-Sent Events until it ends', async () => {
    const started = await json<JobStatusBody>(await api.refresh('owner', 'con'));
    const res = await api.call('viewer', 'GET', `/sites/_status/${started.id}/events`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = await readEvents(res);
    expect(events.at(-1)?.event).toBe('end');
    const progress = events.filter((e) => e.event === 'progress').map((e) => e.data as ProgressEvent);
    expect(progress.length).toBeGreaterThan(0);
    const last = progress.at(-1)!;
    expect(last).toMatchObject({
      id: started.id,
      progress: 'failed',
      pageCount: 4,
      completedCount: 3,
      failedCount: 1,
      completedPercentage: 100,
      secondsLeft: 0,
    });
    expect(last.pagesPerSecond).toBeGreaterThan(0);
    // Events only on a change: no two in a row the same.
    for (let i = 1; i < progress.length; i++) expect(progress[i]).not.toEqual(progress[i - 1]);
    expect((await api.call('stranger', 'GET', `/sites/_status/${started.id}/events`)).status).toBe(404);
    expect((await api.call(null, 'GET', `/sites/_status/${started.id}/events`)).status).toBe(401);
  });

  it('answers the site figures: counts, freshness, render times per job', async () => {
    const res = await api.call('viewer', 'GET', '/sites/con/stats');
    expect(res.status).toBe(200);
    const stats = await json<{
      lastRefresh: string | null;
      nextRefresh: string;
      pagesCached: number;
      pagesFailed: number;
      freshness: { share: number; pagesRead: number; sampled: boolean };
      jobs: Array<{ pageCount: number; renderMsP50: number; renderMsP95: number }>;
    }>(res);
    expect(stats).toMatchObject({ pagesCached: 3, pagesFailed: 1, freshness: { share: 0.75, pagesRead: 4, sampled: false } });
    expect(Date.parse(stats.nextRefresh)).toBeGreaterThan(Date.now());
    expect(stats.jobs.at(-1)).toMatchObject({ pageCount: 4 });
    expect(stats.jobs.at(-1)!.renderMsP95).toBeGreaterThanOrEqual(stats.jobs.at(-1)!.renderMsP50);
    expect((await api.call('stranger', 'GET', '/sites/con/stats')).status).toBe(404);
  });

  it('inspects a cached page beside the raw origin; 400 for a URL off the site', async () => {
    const res = await api.call('viewer', 'GET', `/sites/con/inspect?url=${encodeURIComponent('/page/c1')}`);
    expect(res.status).toBe(200);
    const body = await json<{
      url: string;
      cached: { status: number; etag: string; state: string; html: string; textLength: number; bytes: number };
      origin: { status: number; textLength: number; error: string | null };
    }>(res);
    expect(body.url).toBe(`${site.origin}/page/c1`);
    expect(body.cached).toMatchObject({ status: 200, state: 'fresh' });
    expect(body.cached.html).toContain('page-c1');
    expect(body.cached.bytes).toBe(Buffer.byteLength(body.cached.html));
    expect(body.origin).toMatchObject({ status: 200, error: null });
    // The fixture's /page/* fill themselves in with JavaScript: the raw origin says "Loading…".
    expect(body.cached.textLength).toBe('page-c1'.length);
    expect(body.origin.textLength).toBe('Loading…'.length);
    const off = await api.call('viewer', 'GET', `/sites/con/inspect?url=${encodeURIComponent('https://elsewhere.example.com/x')}`);
    expect(off.status).toBe(400);
    expect((await api.call('viewer', 'GET', '/sites/con/inspect')).status).toBe(400);
    const missing = await json<{ cached: unknown }>(await api.call('viewer', 'GET', `/sites/con/inspect?url=${encodeURIComponent('/page/never')}`));
    expect(missing.cached).toBeNull();
  });

  it('visible text leaves out scripts, styles and tags; percentiles by nearest rank', () => {
    expect(
      visibleText('<html><head><title>T</title><style>p{}</style></head><body><script>x=1</script><p>Hello&nbsp;<b>w</b>&#33;</p><!-- c --></body></html>'),
    ).toBe('Hello w !');
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(percentile([1, 2, 3, 4], 0.95)).toBe(4);
  });

  it('ends an open event stream when the service stops', async () => {
    site.setVersion('slow');
    const own = await startTestService({
      auth: { tokens: [{ token: TOKENS.owner, user: 'owner' }] },
      sites: [{ id: 'stop', name: 'Stop', origin: site.origin, pages: { urls: ['/slow?delay=20000'] }, members: { owner: 'Owner' } }],
    });
    const started = await json<JobStatusBody>(
      await fetch(`${own.url}${API_BASE}/sites/stop/refresh`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKENS.owner}`, prefer: 'respond-async' },
      }),
    );
    const res = await fetch(`${own.url}${API_BASE}/sites/_status/${started.id}/events`, { headers: { authorization: `Bearer ${TOKENS.owner}` } });
    const reading = res.text();
    const t0 = Date.now();
    await own.stop();
    const text = await reading;
    expect(text).toContain('event: end');
    expect(Date.now() - t0).toBeLessThan(15_000);
  });
});
