import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../../src/service.js';
import { startFixtureSite, type FixtureSite } from '../../fixtures/fixture-site.js';
import { json } from '../../helpers/json.js';
import type { JobStatusBody } from '../../helpers/management-api.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis-server.js';
import { lookupUrl, startTestService, uniqueNamespace } from '../../helpers/service.js';
import { onRedis } from '../../helpers/redis-backend.js';

async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const start = Date.now();
  const value = await work;
  return { value, ms: Date.now() - start };
}

describe('Redis going away and coming back', () => {
  let site: FixtureSite;
  let service: RunningService;
  // A Redis of this test's own, so that it can be killed and brought back.
  let redis: TestRedis;

  beforeAll(async () => {
    site = await startFixtureSite();
    redis = await startTestRedis();
    service = await startTestService({
      ...onRedis(redis.url),
      cache: { namespace: uniqueNamespace('outage'), commandTimeoutMs: 300 },
      auth: { tokens: [{ token: 'outage-token-123', user: 'owner' }] },
      sites: [{ id: 'fixture', name: 'Fixture', origin: site.origin, members: { owner: 'Owner' }, pages: { urls: ['/page/r1', '/page/r2'] } }],
    });
  });
  afterAll(async () => {
    await service?.stop();
    await redis?.close();
    await site?.close();
  });

  it('keeps answering while Redis is down (readiness false, misses logged, no hang) and recovers on its own', async () => {
    expect((await fetch(lookupUrl(service, `${site.origin}/page/before`))).status).toBe(200);
    expect((await fetch(`${service.url}/readyz`)).status).toBe(200);

    // No wait: the first readiness check after the kill already fails fast.
    await redis.kill();

    const ready = await timed(fetch(`${service.url}/readyz`));
    expect(ready.value.status).toBe(503);
    expect(await ready.value.json()).toMatchObject({ ready: false, cache: false, queue: false });
    expect(ready.ms).toBeLessThan(3000);

    // A page never cached: the store read is a miss, and this instance renders it itself.
    const miss = await timed(fetch(lookupUrl(service, `${site.origin}/page/during`)));
    expect(miss.value.status).toBe(200);
    expect(miss.value.headers.get('x-rendercache-cache')).toBe('miss');
    expect(await miss.value.text()).toContain('page-during');
    expect(miss.ms).toBeLessThan(10_000);

    // The management API does not hang. A read of the site's cache state needs no Redis (the
    // site state is in memory, the rate limit falls back to this instance's): 200.
    const api = await timed(fetch(`${service.url}/sites/management/api/v1/sites/fixture/cache`, { headers: { authorization: 'Bearer outage-token-123' } }));
    expect(api.value.status).toBe(200);
    expect(await api.value.json()).toMatchObject({ refreshedAt: null, trigger: null });
    expect(api.ms).toBeLessThan(3000);
    // What needs Redis (starting a refresh) answers 503 with Retry-After, not 500.
    const refresh = await timed(
      fetch(`${service.url}/sites/management/api/v1/sites/fixture/refresh`, {
        method: 'POST',
        headers: { authorization: 'Bearer outage-token-123', prefer: 'respond-async' },
      }),
    );
    expect(refresh.value.status).toBe(503);
    expect(refresh.value.headers.get('retry-after')).toBe('5');
    expect(await refresh.value.json()).toMatchObject({ status: '503', 'o:errorCode': 'RENDERCACHE-503' });
    expect(refresh.ms).toBeLessThan(10_000);

    // Redis returns (empty, as after a crash): the instance recovers without a restart.
    await redis.restart();
    let readyAgain = false;
    for (let i = 0; i < 60 && !readyAgain; i++) {
      readyAgain = (await fetch(`${service.url}/readyz`)).status === 200;
      if (!readyAgain) await new Promise((r) => setTimeout(r, 250));
    }
    expect(readyAgain).toBe(true);
    const after = await fetch(lookupUrl(service, `${site.origin}/page/after`));
    expect(after.status).toBe(200);
    // Refresh jobs run again: the queue's workers reconnected.
    const started = await fetch(`${service.url}/sites/management/api/v1/sites/fixture/refresh`, {
      method: 'POST',
      headers: { authorization: 'Bearer outage-token-123', prefer: 'respond-async' },
    });
    expect(started.status).toBe(202);
    const job = await service.refresh.whenDone((await json<JobStatusBody>(started)).id);
    expect(job).toMatchObject({ progress: 'succeeded', completedCount: 2 });
  });
});
