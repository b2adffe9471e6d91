import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HotTier } from '../../src/cache/hot-tier.js';
import { PageCache } from '../../src/cache/page-cache.js';
import { openRedisKeyv } from '../helpers/redis-backend.js';
import { createLogger } from '../../src/observability/logger.js';
import { clusterInstanceConfig, processesPerTest, startServiceProcess, type ServiceProcess } from '../helpers/cluster-process.js';
import { managementApi } from '../helpers/management-api.js';
import { uniqueNamespace } from '../helpers/service.js';
import { pagePath, startChaosOrigin, type ChaosOrigin } from './support/chaos-origin.js';
import { jobPages, lookupPage, pageNames, refreshUntilPagesComplete, waitFor, type LookupResult } from './support/chaos-helpers.js';
import { startTestRedis, type TestRedis } from '../helpers/redis-server.js';

/**
 * Chaos §5.3: three `rendercache serve` instances share a redis-server of the test's own;
 * one is SIGKILLed while the job renders. After the job ends, every page of the job must
 * be in Redis: checked by looking each page up on a FRESH instance started afterwards
 * (empty hot tier, so only Redis can make it a hit). CHAOS_CLUSTER_RUNS repeats the run
 * (default 1; e.g. CHAOS_CLUSTER_RUNS=10 npx vitest run test/chaos/cluster-instance-kill.test.ts).
 */
const RUNS = Math.max(1, Number(process.env.CHAOS_CLUSTER_RUNS ?? 1) || 1);
const PAGES = 60;
const TOKEN = 'chaos-cluster-token';
const names = pageNames('cl', PAGES);

describe('a cluster instance SIGKILLed in mid-job', () => {
  let redis: TestRedis;
  let origin: ChaosOrigin;
  // Not a shutdown test: after each test, the whole process group (Chromium included) goes at once.
  const processes = processesPerTest('kill');

  beforeAll(async () => {
    redis = await startTestRedis();
    origin = await startChaosOrigin({ dataDelayMs: 200 });
  });
  afterAll(async () => {
    await redis?.close();
    await origin?.close();
  });

  const clusterConfig = (namespace: string) =>
    clusterInstanceConfig({
      redis: redis.url,
      namespace,
      token: TOKEN,
      sites: [{ id: 'chaos', name: 'Chaos', origin: origin.origin, members: { owner: 'Owner' }, pages: { urls: names.map(pagePath) } }],
    });

  for (let run = 1; run <= RUNS; run++) {
    it(`run ${run}/${RUNS}: the job ends with every page complete, and a fresh instance finds every page in Redis`, async () => {
      const namespace = uniqueNamespace(`chaos-cluster-${run}`);
      const generation = `run${run}`;
      origin.setGeneration(generation);
      const config = clusterConfig(namespace);
      const instances = await Promise.all([0, 1, 2].map(() => startServiceProcess(config)));
      processes.push(...instances);
      const victim = instances[(run - 1) % 3]!;
      const survivors = instances.filter((p) => p !== victim);
      const api = managementApi(() => survivors[0]!, { owner: TOKEN });

      const { jobId, status: atKill } = await refreshUntilPagesComplete(
        managementApi(() => victim, { owner: TOKEN }),
        api,
        'chaos',
        15,
        90_000,
      );
      victim.kill();
      expect(atKill.progress).toBe('processing');
      expect(atKill.completedCount).toBeLessThan(PAGES);

      const job = await api.waitForEnd(jobId, 'owner', 120_000);
      const pages = await jobPages(survivors[1]!.url, TOKEN, jobId);
      const renderedBy = new Map(pages.map((p) => [new URL(p.pageUrl).pathname.slice('/p/'.length), p.renderedBy ?? null]));

      // Read Redis directly first (evidence only): a lookup that misses renders the page again.
      const inRedis = await keysInRedis(redis.url, namespace, origin.origin);

      // A fresh instance (no Chromium, empty hot tier): a hit can only come from Redis. It is
      // looked up once ready, as a load balancer would (readiness connects its store client).
      const fresh = await startServiceProcess(config, 'api');
      processes.push(fresh);
      await waitFor('the fresh instance to be ready', async () => (await fetch(`${fresh.url}/readyz`)).status === 200, 30_000);
      const served = await Promise.all(
        names.map((n) =>
          lookupPage(fresh.url, origin.origin, n, 60_000).catch((err: unknown): LookupResult => ({
            name: n,
            status: 0,
            cache: String(err),
            generation: null,
            ms: 0,
          })),
        ),
      );
      const lost = served.filter((r) => r.status !== 200 || r.cache !== 'hit' || r.generation !== generation);

      // Evidence for the report: where the lost pages were rendered, whether Redis holds them, what the instances logged.
      const evidence = describeLost(lost, renderedBy, inRedis, instances, origin.origin);
      const byInstance = new Map<string, number>();
      for (const who of renderedBy.values()) byInstance.set(String(who), (byInstance.get(String(who)) ?? 0) + 1);
      console.log(
        `chaos cluster run ${run}/${RUNS}: job ${job.progress} ${job.completedCount}/${job.pageCount} complete, ${job.failedCount} failed; ` +
          `victim ${victim.instance} killed at ${atKill.completedCount} complete; rendered by ${JSON.stringify(Object.fromEntries(byInstance))}; ` +
          `pages lost (not a hit on a fresh instance): ${lost.length}${lost.length ? `\n${JSON.stringify(evidence, null, 1)}` : ''}`,
      );

      expect(job).toMatchObject({ progress: 'succeeded', pageCount: PAGES, completedCount: PAGES, failedCount: 0 });
      // The survivors took over what the victim left.
      expect(pages.some((p) => p.renderedBy !== victim.instance)).toBe(true);
      expect(lost, `pages of the job not in Redis: ${JSON.stringify(evidence)}`).toEqual([]);
    }, 240_000);
  }

  it('a fresh instance serves pages already in Redis as hits from its very first lookups', async () => {
    // Pages written one by one with the service's own cache code (no concurrent first calls).
    const namespace = uniqueNamespace('chaos-fresh-reads');
    const seeded = pageNames('fr', 20);
    const writer = redisPageCache(redis.url, namespace);
    try {
      expect(await writer.ping()).toBe(true);
      for (const n of seeded) {
        await writer.put(`${origin.origin}${pagePath(n)}`, {
          url: `${origin.origin}${pagePath(n)}`,
          status: 200,
          headers: {},
          renderTimeMs: 1,
          source: { trigger: 'api' },
          html: `<!doctype html><html><head><title>${n}</title></head><body><h1 id="content">chaos:${n}:seeded</h1></body></html>`,
        });
      }
      // put() only logs a failed write: read every page back from Redis (a fresh reader, so no hot tier).
      const reader = redisPageCache(redis.url, namespace);
      try {
        expect(await reader.ping()).toBe(true);
        for (const n of seeded) expect(await reader.get(`${origin.origin}${pagePath(n)}`), n).toBeDefined();
      } finally {
        await reader.close();
      }
    } finally {
      await writer.close();
    }
    const config = clusterConfig(namespace);
    const fresh = await startServiceProcess({ ...config, sites: [{ ...config.sites[0], pages: { urls: seeded.map(pagePath) } }] });
    processes.push(fresh);
    // Crawlers arrive as soon as the instance listens: a burst of lookups of cached pages.
    const served = await Promise.all(seeded.map((n) => lookupPage(fresh.url, origin.origin, n, 60_000)));
    const misses = served.filter((r) => r.status !== 200 || r.cache !== 'hit' || r.generation !== 'seeded');
    const readErrors = fresh.logs.filter((l) => l.msg === 'cache read failed; answering as a miss').map((l) => ({ key: l.key, err: l.err }));
    expect(
      misses,
      `cached pages answered as misses by a fresh instance; its log: ${JSON.stringify(readErrors.slice(0, 5))} (${readErrors.length} read errors)`,
    ).toEqual([]);
  }, 120_000);
});

/** Which pages of the job have an entry in Redis, read with the service's own cache code. */
async function keysInRedis(url: string, namespace: string, origin: string): Promise<Map<string, boolean>> {
  const cache = redisPageCache(url, namespace);
  try {
    // One call first: concurrent first calls on a fresh client fail ("The client is offline").
    if (!(await cache.ping())) throw new Error('the test cannot read Redis');
    return new Map(await Promise.all(names.map(async (n) => [n, (await cache.get(`${origin}${pagePath(n)}`)) !== undefined] as const)));
  } finally {
    await cache.close();
  }
}

/** For each lost page: who rendered it, whether Redis held it before the check, and what the instances logged about it. */
function describeLost(
  lost: LookupResult[],
  renderedBy: Map<string, string | null>,
  inRedis: Map<string, boolean>,
  instances: ServiceProcess[],
  origin: string,
) {
  const logLines = instances.flatMap((p) =>
    p.logs.filter((l) => Number(l.level) >= 40 && typeof l.url === 'string').map((l) => ({ instance: p.instance, msg: l.msg, url: l.url, err: l.err })),
  );
  return lost.map((r) => ({
    page: r.name,
    lookup: { status: r.status, cache: r.cache, generation: r.generation },
    renderedBy: renderedBy.get(r.name),
    inRedisBeforeLookup: inRedis.get(r.name),
    logs: logLines.filter((l) => l.url === `${origin}${pagePath(r.name)}`),
  }));
}

/** The service's own page cache over the test's Redis, without a hot tier: every read goes to Redis. */
function redisPageCache(url: string, namespace: string): PageCache {
  return new PageCache(openRedisKeyv(url, namespace), new HotTier(0), { commandTimeoutMs: 3000, staleAfterMs: 7_200_000 }, createLogger('silent'));
}
