import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../../src/service.js';
import { startFixtureSite, type FixtureSite } from '../../fixtures/fixture-site.js';
import { json } from '../../helpers/json.js';
import type { JobStatusBody, SiteBody } from '../../helpers/management-api.js';
import { lookupUrl, REDIS_URL, startTestService, uniqueNamespace } from '../../helpers/service.js';
import { onRedis } from '../../helpers/redis-backend.js';
import { waitFor } from '../../helpers/wait-for.js';

/**
 * What each instance keeps in memory (hot tier, site state, request budgets) stays
 * true when another instance of the cluster changes it.
 */
const BASE = '/sites/management/api/v1';
const TOKEN = 'shared-owner-token';

describe('two instances sharing one Redis', () => {
  let site: FixtureSite;
  let a: RunningService;
  let b: RunningService;

  beforeAll(async () => {
    site = await startFixtureSite();
    const namespace = uniqueNamespace('shared');
    const config = {
      ...onRedis(REDIS_URL),
      cache: { namespace },
      auth: { tokens: [{ token: TOKEN, user: 'owner' }] },
      api: { rateLimit: { points: 10, windowSeconds: 60 } },
      render: { concurrency: 2 },
      sites: [
        { id: 'shared', name: 'Shared', origin: site.origin, members: { owner: 'Owner' }, pages: { urls: ['/version'] }, variants: ['desktop', 'mobile'] },
      ],
    };
    [a, b] = await Promise.all([startTestService(config), startTestService(config)]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await site?.close();
  });

  const call = (service: RunningService, method: string, path: string) =>
    fetch(`${service.url}${BASE}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, prefer: 'respond-async' } });

  it("drops a page from every instance's hot tier when one instance re-renders it", async () => {
    site.setVersion('first');
    const first = await fetch(lookupUrl(a, `${site.origin}/version`));
    expect(await first.text()).toContain('first');
    // b reads it into its own hot tier.
    const cached = await fetch(lookupUrl(b, `${site.origin}/version`));
    expect(cached.headers.get('x-rendercache-cache')).toBe('hit');
    expect(await cached.text()).toContain('first');

    site.setVersion('second');
    const started = await call(a, 'POST', '/sites/shared/refresh');
    expect(started.status).toBe(202);
    expect(await a.refresh.whenDone((await json<JobStatusBody>(started)).id)).toMatchObject({ progress: 'succeeded' });
    // b learns of a's write over pub/sub: until then its hot tier holds the first version.
    for (const service of [a, b]) {
      const res = await waitFor(
        'the second version on every instance',
        async () => {
          const answer = await fetch(lookupUrl(service, `${site.origin}/version`));
          const text = await answer.text();
          return text.includes('second') ? { cache: answer.headers.get('x-rendercache-cache'), text } : null;
        },
        5000,
      );
      expect(res.cache).toBe('hit');
    }
  });

  it('renders every variant of a page as page jobs over BullMQ, and every instance serves each crawler its variant', async () => {
    site.setVersion('third');
    const started = await call(b, 'POST', '/sites/shared/refresh');
    expect(started.status).toBe(202);
    const { id } = await json<JobStatusBody>(started);
    expect(await b.refresh.whenDone(id)).toMatchObject({ progress: 'succeeded', pageCount: 2, completedCount: 2 });
    expect((await a.refresh.pages(id, { offset: 0, limit: 10 })).items.map((p) => `${p.variant} ${p.status}`)).toEqual(['desktop complete', 'mobile complete']);
    const smartphone =
      'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.204 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
    for (const service of [a, b]) {
      for (const ua of ['Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', smartphone]) {
        const res = await waitFor(
          'the third version of each variant on every instance',
          async () => {
            const answer = await fetch(lookupUrl(service, `${site.origin}/version`), { headers: { 'user-agent': ua } });
            return (await answer.text()).includes('third') ? answer : null;
          },
          5000,
        );
        expect(res.headers.get('x-rendercache-cache')).toBe('hit');
        expect(res.headers.get('vary')).toContain('X-Rendercache-Device');
      }
    }
  });

  it('stops serving crawlers on every instance when one deactivates the site', async () => {
    expect((await fetch(lookupUrl(b, `${site.origin}/version`))).status).toBe(200);
    expect((await call(a, 'POST', '/sites/shared/deactivate')).status).toBe(200);
    await waitFor('b to stop serving the site', async () => (await fetch(lookupUrl(b, `${site.origin}/version`))).status === 404, 5000);
    expect((await json<SiteBody>(await call(b, 'GET', '/sites/shared'))).runtimeStatus).toBe('offline');
    expect((await call(b, 'POST', '/sites/shared/activate')).status).toBe(200);
    await waitFor('a to serve the site again', async () => (await fetch(lookupUrl(a, `${site.origin}/version`))).status === 200, 5000);
  });

  it("shares each caller's request budget across instances", async () => {
    // 10 per minute in all; earlier tests spent some. Alternate instances until refused.
    let accepted = 0;
    let refused: Response | undefined;
    for (let i = 0; i < 12 && !refused; i++) {
      const res = await call(i % 2 === 0 ? a : b, 'GET', '/sites/shared/cache');
      if (res.status === 429) refused = res;
      else accepted++;
    }
    expect(refused?.status).toBe(429);
    expect(Number(refused?.headers.get('retry-after'))).toBeGreaterThan(0);
    // Per-instance budgets would have allowed 10 on each: far more than this.
    expect(accepted).toBeLessThan(10);
  });
});
