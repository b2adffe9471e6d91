import { describe, expect, it } from 'vitest';
import { newJobId } from '../../src/jobs/refresh-service.js';
import type { JobRecord, JobStore } from '../../src/jobs/types.js';
import { RedisStore } from '../../src/stores/redis-store.js';
import { SqliteStore } from '../../src/stores/sqlite-store.js';
import { REDIS_URL, tempDir, uniqueNamespace } from '../helpers/service.js';

const job = (siteId: string, startTime = new Date().toISOString()): JobRecord => ({
  id: newJobId(), siteId, action: 'refresh', trigger: 'api', progress: 'pending', requestedBy: 'u', startTime, endTime: null,
  pageCount: 0, completedCount: 0, failedCount: 0, error: null, restartSteps: [],
});

describe.each([
  ['embedded', () => SqliteStore.open(tempDir())],
  ['redis', async () => new RedisStore(REDIS_URL, uniqueNamespace('jobs'))],
] as const)('job store (%s)', (_name, open: () => Promise<JobStore>) => {
  it('holds a job of 100,000 pages, pages through it and updates one page without rewriting the job', async () => {
    const store = await open();
    const big = job('big');
    await store.createJob(big);
    const urls = Array.from({ length: 100_000 }, (_, i) => `https://s.test/p/${i}`);
    expect(await store.addPages(big.id, urls)).toBe(100_000);
    const page = await store.listPages(big.id, { offset: 99_990, limit: 250 });
    expect(page.total).toBe(100_000);
    expect(page.items.map((p) => p.seq)).toEqual(Array.from({ length: 10 }, (_, i) => 99_990 + i));
    await store.updatePage(big.id, 5, 'pending', { status: 'processing' });
    await store.updatePage(big.id, 5, 'processing', { status: 'failed', attempts: 3, error: { title: 'Origin Error', detail: 'origin answered 503' } });
    await store.updatePage(big.id, 6, 'pending', { status: 'complete', httpStatus: 200, bytes: 10, renderTimeMs: 5, renderedAt: new Date().toISOString(), renderedBy: 'x' });
    const failed = await store.listPages(big.id, { offset: 0, limit: 50, status: 'failed' });
    expect(failed.total).toBe(1);
    expect(failed.items[0]).toMatchObject({ seq: 5, status: 'failed', attempts: 3, error: { title: 'Origin Error' } });
    const record = await store.getJob(big.id);
    expect(record).toMatchObject({ pageCount: 100_000, completedCount: 1, failedCount: 1 });
    expect(await store.pageSeqs(big.id, 'pending', 3)).toEqual([0, 1, 2]);
    await store.close();
  });

  it('gives a site one running slot, lists its jobs newest first and prunes old ones', async () => {
    const store = await open();
    const site = `s${Math.random().toString(36).slice(2, 8)}`;
    const a = job(site, '2026-01-01T00:00:00.000Z');
    const b = job(site, '2026-01-02T00:00:00.000Z');
    expect(await store.claimSiteSlot(site, a.id)).toBeNull();
    expect(await store.claimSiteSlot(site, b.id)).toBe(a.id);
    await store.releaseSiteSlot(site, b.id); // not the holder: no effect
    expect(await store.claimSiteSlot(site, b.id)).toBe(a.id);
    await store.releaseSiteSlot(site, a.id);
    expect(await store.claimSiteSlot(site, b.id)).toBeNull();
    await store.createJob(a);
    await store.createJob(b);
    expect((await store.unfinishedJobs()).map((j) => j.id)).toEqual(expect.arrayContaining([a.id, b.id]));
    await store.updateJob(a.id, { progress: 'succeeded', endTime: new Date().toISOString() });
    await store.updateJob(b.id, { progress: 'failed', endTime: new Date().toISOString(), error: { title: 'T', detail: 'D' } });
    expect((await store.jobsOfSite(site, 10)).map((j) => j.id)).toEqual([b.id, a.id]);
    expect(await store.pruneJobs(site, 1)).toBe(1);
    expect(await store.getJob(a.id)).toBeUndefined();
    expect((await store.getJob(b.id))?.error).toEqual({ title: 'T', detail: 'D' });
    await store.close();
  });
});
