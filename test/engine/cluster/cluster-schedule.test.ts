import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bullPrefix, CONTROL_QUEUE } from '../../../src/engine/cluster/queues.js';
import type { JobRecord } from '../../../src/jobs/types.js';
import { siteJitterMs } from '../../../src/schedule/jitter.js';
import type { RunningService } from '../../../src/service.js';
import { RedisStore } from '../../../src/stores/redis-store.js';
import { startFixtureSite, type FixtureSite } from '../../fixtures/fixture-site.js';
import { REDIS_URL, startTestService, uniqueNamespace } from '../../helpers/service.js';

/**
 * Scheduling in a cluster: two in-process instances (each with its own Chromium) share
 * one Redis namespace, as two machines would.
 */
const EVERY_2S = '*/2 * * * * *';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let site: FixtureSite;
let services: RunningService[] = [];

beforeAll(async () => {
  site = await startFixtureSite();
});
afterEach(async () => {
  await Promise.all(services.map((s) => s.stop()));
  services = [];
});
afterAll(async () => site?.close());

const config = (namespace: string, schedule: Record<string, unknown>, sites: Array<Record<string, unknown>>) => ({
  cache: { store: REDIS_URL, namespace },
  schedule,
  render: { concurrency: 2 },
  sites: sites.map((s) => ({ name: String(s.id), origin: site.origin, pages: { urls: ['/page/sched'] }, ...s })),
});

async function jobsOf(namespace: string, siteId: string): Promise<JobRecord[]> {
  const store = new RedisStore(REDIS_URL, namespace);
  try {
    return (await store.jobsOfSite(siteId, 100)).sort((a, b) => a.startTime.localeCompare(b.startTime));
  } finally {
    await store.close();
  }
}

async function schedulerIds(namespace: string): Promise<string[]> {
  const queue = new Queue(CONTROL_QUEUE, { connection: { host: '127.0.0.1', port: 6379 }, prefix: bullPrefix(namespace) });
  try {
    return (await queue.getJobSchedulers()).map((s) => s.key).sort();
  } finally {
    await queue.close();
  }
}

describe('scheduled refresh across instances', () => {
  it('catches up once for the whole cluster when instances start together', async () => {
    const namespace = uniqueNamespace('cl-catchup');
    const cfg = config(namespace, { enabled: true, catchUp: true, jitterSeconds: 0 }, [{ id: 'late', schedule: '0 * * * *' }]);
    services = await Promise.all([startTestService(cfg), startTestService(cfg)]);
    await sleep(4000);
    const jobs = await jobsOf(namespace, 'late');
    expect(jobs.filter((j) => j.trigger === 'startup')).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ progress: 'succeeded', trigger: 'startup' });
    // A later instance finds the site fresh: no second catch-up.
    services.push(await startTestService(cfg));
    await sleep(2000);
    expect((await jobsOf(namespace, 'late')).filter((j) => j.trigger === 'startup')).toHaveLength(1);
  });

  it("starts each tick's refresh at the site's jitter offset, once", async () => {
    const namespace = uniqueNamespace('cl-jitter');
    const id =
      Array.from({ length: 100 }, (_, i) => `cj-${i}`).find((candidate) => {
        const offset = siteJitterMs(candidate, EVERY_2S, 'UTC', 1);
        return offset >= 450 && offset <= 750;
      }) ?? 'none';
    const offset = siteJitterMs(id, EVERY_2S, 'UTC', 1);
    const cfg = config(namespace, { enabled: true, catchUp: false, jitterSeconds: 1 }, [{ id, schedule: EVERY_2S }]);
    services = await Promise.all([startTestService(cfg), startTestService(cfg)]);
    await sleep(7500);
    const jobs = (await jobsOf(namespace, id)).filter((j) => j.trigger === 'schedule');
    expect(jobs.length).toBeGreaterThanOrEqual(2);
    const ticks = jobs.map((j) => Math.floor(Date.parse(j.startTime) / 2000));
    expect(new Set(ticks).size).toBe(ticks.length);
    for (const job of jobs) {
      const sinceTick = Date.parse(job.startTime) % 2000;
      expect(sinceTick).toBeGreaterThanOrEqual(offset);
      expect(sinceTick).toBeLessThan(offset + 700);
    }
  });

  it('keeps one scheduler per configured site in Redis, and removes them all when scheduling is disabled', async () => {
    const namespace = uniqueNamespace('cl-sched');
    const sites = [
      { id: 'a', schedule: '0 * * * *' },
      { id: 'b', schedule: '30 * * * *' },
    ];
    services = [await startTestService(config(namespace, { enabled: true, catchUp: false }, sites))];
    services.push(await startTestService(config(namespace, { enabled: true, catchUp: false }, sites)));
    expect(await schedulerIds(namespace)).toEqual(['refresh:a', 'refresh:b']);
    await Promise.all(services.map((s) => s.stop()));
    // A site removed from the config loses its schedule.
    services = [await startTestService(config(namespace, { enabled: true, catchUp: false }, [sites[0]!]))];
    expect(await schedulerIds(namespace)).toEqual(['refresh:a']);
    await services[0]!.stop();
    services = [await startTestService(config(namespace, { enabled: false }, sites))];
    expect(await schedulerIds(namespace)).toEqual([]);
  });

  it("never overlaps a site's refreshes across instances: a tick while one runs anywhere starts nothing", async () => {
    const namespace = uniqueNamespace('cl-overlap');
    const cfg = config(namespace, { enabled: true, catchUp: false, jitterSeconds: 0 }, [
      { id: 'slowsite', schedule: '* * * * * *', pages: { urls: ['/slow?delay=2500'] } },
    ]);
    services = await Promise.all([startTestService(cfg), startTestService(cfg)]);
    await sleep(9000);
    const jobs = (await jobsOf(namespace, 'slowsite')).filter((j) => j.trigger === 'schedule');
    // Ticks every second, each refresh ~2.5 s: far fewer jobs than ticks, and never two at once.
    expect(jobs.length).toBeGreaterThanOrEqual(2);
    expect(jobs.length).toBeLessThanOrEqual(4);
    const ended = jobs.filter((j) => j.endTime !== null);
    for (let i = 1; i < ended.length; i++) expect(Date.parse(ended[i]!.startTime)).toBeGreaterThanOrEqual(Date.parse(ended[i - 1]!.endTime!));
  });
});
