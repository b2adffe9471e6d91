import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.js';
import { managementApi } from '../helpers/management-api.js';
import { startTestService } from '../helpers/service.js';
import { pagePath, startChaosOrigin, type ChaosOrigin } from './support/chaos-origin.js';
import { captureLogs, jobPages, lookupPage, pageNames, sleep, waitFor, type LogEntry, type LookupResult } from './support/chaos-helpers.js';

/**
 * Chaos §5.1: the service's Chromium is SIGKILLed (twice) while a refresh job renders.
 * The job must still end with every page complete, each page served as a fresh hit with
 * the new render, and crawlers must never be served anything but a good page meanwhile.
 */
const PAGES = 40;
const TOKEN = 'chaos-chromium-token';
const names = pageNames('ck', PAGES);

describe('Chromium SIGKILLed in mid-job', () => {
  let origin: ChaosOrigin;
  let service: RunningService;
  let logs: LogEntry[];
  const api = managementApi(() => service, { owner: TOKEN });

  beforeAll(async () => {
    // Each render waits 300 ms for its data: at any moment several renders are in flight.
    origin = await startChaosOrigin({ dataDelayMs: 300 });
    const captured = captureLogs();
    logs = captured.entries;
    service = await startTestService(
      {
        auth: { tokens: [{ token: TOKEN, user: 'owner' }] },
        // The test polls job progress often: the per-token budget must not be what it measures.
        api: { rateLimit: { points: 100_000, windowSeconds: 60 } },
        refresh: { retryBackoffMs: 100 },
        sites: [{ id: 'chaos', name: 'Chaos', origin: origin.origin, members: { owner: 'Owner' }, pages: { urls: names.map(pagePath) } }],
      },
      { logger: captured.logger },
    );
  });
  afterAll(async () => {
    await service?.stop();
    await origin?.close();
  });

  const completed = async (jobId: string) =>
    (await (await api.call('owner', 'GET', `/sites/_status/${jobId}`)).json()) as { completedCount: number; progress: string };

  it('ends the job with every page complete and served as a hit; crawlers only ever get good pages', async () => {
    // Generation 1, cached by a plain refresh.
    const first = await api.refresh('owner', 'chaos');
    expect(first.status).toBe(202);
    expect(await api.waitForEnd(((await first.json()) as { id: string }).id, 'owner', 60_000)).toMatchObject({ progress: 'succeeded', completedCount: PAGES });

    // Generation 2, rendered while Chromium is killed twice.
    origin.setGeneration('g2');
    const docsBefore = names.map((n) => origin.hits.get(pagePath(n)) ?? 0);
    const started = await api.refresh('owner', 'chaos');
    expect(started.status).toBe(202);
    const jobId = ((await started.json()) as { id: string }).id;

    // Crawlers keep looking pages up through the whole job.
    const served: LookupResult[] = [];
    let crawling = true;
    const crawler = (async () => {
      for (let i = 0; crawling; i++) {
        const name = names[i % PAGES]!;
        served.push(
          await lookupPage(service.url, origin.origin, name).catch((err: unknown) => ({ name, status: 0, cache: String(err), generation: null, ms: 0 })),
        );
        await sleep(20); // a crawler's pace, not a wait for anything
      }
    })();
    const killed: number[] = [];
    const atKill: number[] = [];
    let job;
    try {
      for (const threshold of [8, 22]) {
        const progress = await waitFor(
          `${threshold} pages complete`,
          async () => {
            const status = await completed(jobId);
            return status.completedCount >= threshold ? status : null;
          },
          60_000,
        );
        // After a kill, the next render relaunches Chromium: kill the new one, never the same twice.
        const pid = await waitFor(
          'a running Chromium',
          () => {
            const current = service.pool?.browserPid();
            return current !== undefined && !killed.includes(current) ? current : null;
          },
          30_000,
          10,
        );
        process.kill(pid, 'SIGKILL');
        killed.push(pid);
        atKill.push(progress.completedCount);
      }
      job = await api.waitForEnd(jobId, 'owner', 90_000);
    } finally {
      crawling = false;
      await crawler;
    }
    // Both kills landed in mid-job.
    expect(atKill.every((n) => n < PAGES)).toBe(true);
    expect(job).toMatchObject({ progress: 'succeeded', pageCount: PAGES, completedCount: PAGES, failedCount: 0 });
    const pages = await jobPages(service.url, TOKEN, jobId);
    expect(pages.filter((p) => p.status !== 'complete')).toEqual([]);

    // The kills hit renders in flight (they were retried), and Chromium was relaunched each time.
    expect(logs.filter((l) => l.msg === 'Chromium disconnected; relaunching on the next render')).toHaveLength(2);
    expect(logs.some((l) => l.msg === 'Chromium died during a render')).toBe(true);
    const docsDuring = names.map((n, i) => (origin.hits.get(pagePath(n)) ?? 0) - docsBefore[i]!);
    expect(docsDuring.every((n) => n >= 1)).toBe(true);
    expect(docsDuring.reduce((a, b) => a + b, 0)).toBeGreaterThan(PAGES);
    expect(killed).not.toContain(service.pool?.browserPid());

    // While Chromium died, crawlers got the page they asked for, whole (old or new generation).
    expect(served.length).toBeGreaterThan(PAGES);
    const bad = served.filter((r) => r.status !== 200 || (r.generation !== 'g1' && r.generation !== 'g2'));
    expect(bad).toEqual([]);

    // Afterwards every page is a fresh hit with the new render: none was replaced by a broken one.
    const after = await Promise.all(names.map((n) => lookupPage(service.url, origin.origin, n)));
    expect(after.filter((r) => r.status !== 200 || r.cache !== 'hit' || r.generation !== 'g2')).toEqual([]);
    // No failure was left recorded against any page.
    for (const n of names) expect(await service.cache.lastFailure(`${origin.origin}${pagePath(n)}`)).toBeUndefined();
  }, 180_000);
});
