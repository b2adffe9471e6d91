import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixtureSite, type FixtureSite } from '../../fixtures/fixture-site.js';
import { clusterInstanceConfig, processesPerTest, startServiceProcess, type ServiceProcess } from '../../helpers/cluster-process.js';
import { uniqueNamespace } from '../../helpers/service.js';
import { waitFor } from '../../helpers/wait-for.js';
import { openRedisStore, REDIS_TOPOLOGIES, useRedisTopology, type TestRedisSettings } from '../../helpers/redis-backend.js';
import { isUnfinished, type JobRecord } from '../../../src/jobs/types.js';

/**
 * Several real `rendercache serve` processes over one real Redis: one shared cache,
 * one job store and one render queue.
 */
const BASE = '/sites/management/api/v1';
const TOKEN = 'cluster-owner-token';
const PAGES = 300;

interface JobStatus {
  id: string;
  progress: string;
  pageCount: number;
  completedCount: number;
  failedCount: number;
  trigger: string;
  startTime: string;
}
interface PageItem {
  pageUrl: string;
  status: string;
  renderedBy: string | null;
}

let site: FixtureSite;
const processes = processesPerTest();

beforeAll(async () => {
  site = await startFixtureSite();
});
afterAll(async () => site?.close());

function clusterConfig(redis: TestRedisSettings, namespace: string, extra: Record<string, unknown> = {}) {
  const big = {
    id: 'big',
    name: 'Big',
    origin: site.origin,
    members: { owner: 'Owner' },
    pages: { urls: Array.from({ length: PAGES }, (_, i) => `/page/c${i}`) },
  };
  return { ...clusterInstanceConfig({ redis, namespace, token: TOKEN, sites: [big] }), ...extra };
}

const api = (p: ServiceProcess, method: string, path: string) =>
  fetch(`${p.url}${BASE}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, prefer: 'respond-async' } });

async function waitForEnd(p: ServiceProcess, jobId: string, timeoutMs = 120_000): Promise<JobStatus> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const job = (await (await api(p, 'GET', `/sites/_status/${jobId}`)).json()) as JobStatus;
    if (job.progress !== 'pending' && job.progress !== 'processing') return job;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`job ${jobId} did not end in ${timeoutMs} ms`);
}

async function allPages(p: ServiceProcess, jobId: string): Promise<PageItem[]> {
  const pages: PageItem[] = [];
  for (let offset = 0; ; offset += 250) {
    const body = (await (await api(p, 'GET', `/sites/_status/${jobId}/pages?offset=${offset}&limit=250`)).json()) as { items: PageItem[] };
    pages.push(...body.items);
    if (body.items.length < 250) return pages;
  }
}

const documentHits = () => Array.from({ length: PAGES }, (_, i) => site.hits.get(`/page/c${i}`) ?? 0);

describe.each(REDIS_TOPOLOGIES)('three instances sharing a $name Redis', (topology) => {
  const redis = useRedisTopology(topology);

  it('refresh a 300-page site together: every page rendered once, spread over instances, served by any', async () => {
    const namespace = uniqueNamespace('cluster');
    processes.push(...(await Promise.all([0, 1, 2].map(() => startServiceProcess(clusterConfig(redis(), namespace))))));
    const before = documentHits();

    const started = await api(processes[0]!, 'POST', '/sites/big/refresh');
    expect(started.status).toBe(202);
    const { id } = (await started.json()) as JobStatus;
    // Progress is the same whichever instance is asked.
    const job = await waitForEnd(processes[2]!, id);
    expect(job).toMatchObject({ progress: 'succeeded', pageCount: PAGES, completedCount: PAGES, failedCount: 0 });
    expect(await (await api(processes[1]!, 'GET', `/sites/_status/${id}`)).json()).toMatchObject({ progress: 'succeeded', completedCount: PAGES });

    const pages = await allPages(processes[1]!, id);
    expect(pages).toHaveLength(PAGES);
    expect(pages.every((p) => p.status === 'complete')).toBe(true);
    const byInstance = new Map<string, number>();
    for (const page of pages) byInstance.set(String(page.renderedBy), (byInstance.get(String(page.renderedBy)) ?? 0) + 1);
    const instances = new Set(processes.map((p) => p.instance));
    expect([...byInstance.keys()].every((who) => instances.has(who))).toBe(true);
    expect(byInstance.size).toBeGreaterThan(1);

    // Each page's document was fetched by Chromium exactly once.
    const after = documentHits();
    expect(after.map((n, i) => n - before[i]!)).toEqual(Array(PAGES).fill(1));

    // Any instance serves any page from the shared cache, whoever rendered it.
    for (const [i, p] of processes.entries()) {
      for (const n of [i, 100 + i, 299 - i]) {
        const res = await fetch(`${p.url}/render?url=${encodeURIComponent(`${site.origin}/page/c${n}`)}`);
        expect(res.status).toBe(200);
        expect(res.headers.get('x-rendercache-cache')).toBe('hit');
        expect(await res.text()).toContain(`page-c${n}`);
      }
    }
    expect(documentHits()).toEqual(after);
  });

  it('loses no page when an instance is killed with SIGKILL in mid-job', async () => {
    const namespace = uniqueNamespace('cluster-kill');
    processes.push(...(await Promise.all([0, 1, 2].map(() => startServiceProcess(clusterConfig(redis(), namespace))))));
    const started = await api(processes[0]!, 'POST', '/sites/big/refresh');
    const { id } = (await started.json()) as JobStatus;

    // Kill the instance that took the request (and its share of renders) once work is under way.
    const victim = processes[0]!;
    for (let i = 0; i < 400; i++) {
      const job = (await (await api(processes[1]!, 'GET', `/sites/_status/${id}`)).json()) as JobStatus;
      if (job.completedCount >= 40) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    victim.kill();
    const atKill = (await (await api(processes[1]!, 'GET', `/sites/_status/${id}`)).json()) as JobStatus;
    expect(atKill.progress).toBe('processing');
    expect(atKill.completedCount).toBeLessThan(PAGES);

    const job = await waitForEnd(processes[1]!, id);
    expect(job).toMatchObject({ progress: 'succeeded', pageCount: PAGES, completedCount: PAGES, failedCount: 0 });
    const pages = await allPages(processes[2]!, id);
    expect(pages.filter((p) => p.status === 'complete')).toHaveLength(PAGES);
    // The survivors finished what the victim left.
    const survivors = new Set([processes[1]!.instance, processes[2]!.instance]);
    expect(pages.some((p) => survivors.has(String(p.renderedBy)))).toBe(true);
  });

  it('starts exactly one refresh per cron tick across three instances', async () => {
    const namespace = uniqueNamespace('cluster-cron');
    const config = clusterConfig(redis(), namespace, {
      schedule: { enabled: true, jitterSeconds: 0, catchUp: false },
      sites: [{ id: 'tiny', name: 'Tiny', origin: site.origin, members: { owner: 'Owner' }, schedule: '*/3 * * * * *', pages: { urls: ['/page/tick'] } }],
    });
    processes.push(...(await Promise.all([0, 1, 2].map(() => startServiceProcess(config)))));
    // Until three scheduled refreshes have ended (a tick may be running when we look: it is
    // counted for uniqueness, and judged once it has ended).
    const store = await openRedisStore(redis(), namespace);
    const scheduledJobs = async () => (await store.jobsOfSite('tiny', 50)).filter((j) => j.trigger === 'schedule');
    const ended = (jobs: JobRecord[]) => jobs.filter((j) => !isUnfinished(j.progress));
    const scheduled = await waitFor(
      'three scheduled refreshes ended',
      async () => {
        const jobs = await scheduledJobs();
        return ended(jobs).length >= 3 ? jobs : null;
      },
      30_000,
      200,
    ).finally(() => store.close());
    expect(ended(scheduled).length).toBeGreaterThanOrEqual(3);
    const ticks = scheduled.map((j) => Math.floor(Date.parse(j.startTime) / 3000));
    // One job per tick: no tick started two.
    expect(new Set(ticks).size).toBe(ticks.length);
    expect(ended(scheduled).map((j) => j.progress)).toEqual(ended(scheduled).map(() => 'succeeded'));
  });

  it('splits serving and rendering: --role api has no Chromium, --role worker serves no crawler', async () => {
    const namespace = uniqueNamespace('cluster-roles');
    const config = clusterConfig(redis(), namespace, {
      sites: [{ id: 'small', name: 'Small', origin: site.origin, members: { owner: 'Owner' }, pages: { urls: ['/page/r1', '/page/r2', '/page/r3'] } }],
    });
    const [apiOnly, worker] = await Promise.all([startServiceProcess(config, 'api'), startServiceProcess(config, 'worker')]);
    processes.push(apiOnly, worker);

    const lookup = await fetch(`${apiOnly.url}/render?url=${encodeURIComponent(`${site.origin}/page/roles`)}`);
    expect(lookup.status).toBe(200);
    expect(await lookup.text()).toContain('page-roles');
    expect((await fetch(`${apiOnly.url}/readyz`)).status).toBe(200);

    const started = await api(apiOnly, 'POST', '/sites/small/refresh');
    const { id } = (await started.json()) as JobStatus;
    expect(await waitForEnd(apiOnly, id)).toMatchObject({ progress: 'succeeded', completedCount: 3 });
    const pages = await allPages(apiOnly, id);
    expect(pages.map((p) => p.renderedBy)).toEqual([worker.instance, worker.instance, worker.instance]);

    // The worker answers health and metrics only.
    expect((await fetch(`${worker.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${worker.url}/render?url=${encodeURIComponent(`${site.origin}/page/r1`)}`)).status).toBe(404);
    // Only the worker launched a Chromium.
    const launched = (p: ServiceProcess) => p.logs.some((l) => l.msg === 'Chromium launched');
    expect(launched(worker)).toBe(true);
    expect(launched(apiOnly)).toBe(false);
  });
});
