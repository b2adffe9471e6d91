import path from 'node:path';
import sqlite3 from 'sqlite3';
import { describe, expect, it } from 'vitest';
import { newJobRecord } from '../../src/jobs/refresh-service.js';
import type { JobRecord } from '../../src/jobs/types.js';
import { EMBEDDED, storeBackends } from '../helpers/backends.js';
import { tempDir } from '../helpers/service.js';

const job = (siteId: string, startTime = new Date().toISOString()): JobRecord => ({
  ...newJobRecord(siteId, 'refresh', { trigger: 'api', requestedBy: 'u' }),
  startTime,
});

const desktop = (urls: string[]) => urls.map((url) => ({ url, variant: 'desktop' }));

describe.each(storeBackends())('job store on the $name backend', (backend) => {
  const open = () => backend.openJobStore('jobs');
  it('holds a job of 100,000 pages, pages through it and updates one page without rewriting the job', async () => {
    const store = await open();
    const big = job('big');
    await store.createJob(big);
    // 50,000 URLs, each in two device variants.
    const pages = Array.from({ length: 100_000 }, (_, i) => ({ url: `https://s.test/p/${Math.floor(i / 2)}`, variant: i % 2 ? 'mobile' : 'desktop' }));
    expect(await store.addPages(big.id, pages)).toBe(100_000);
    const page = await store.listPages(big.id, { offset: 99_990, limit: 250 });
    expect(page.total).toBe(100_000);
    expect(page.items.map((p) => p.seq)).toEqual(Array.from({ length: 10 }, (_, i) => 99_990 + i));
    expect(page.items.slice(0, 2)).toMatchObject([
      { pageUrl: 'https://s.test/p/49995', variant: 'desktop' },
      { pageUrl: 'https://s.test/p/49995', variant: 'mobile' },
    ]);
    await store.updatePage(big.id, 5, 'pending', { status: 'processing' });
    await store.updatePage(big.id, 5, 'processing', { status: 'failed', attempts: 3, error: { title: 'Origin Error', detail: 'origin answered 503' } });
    await store.updatePage(big.id, 6, 'pending', {
      status: 'complete',
      httpStatus: 200,
      bytes: 10,
      renderTimeMs: 5,
      renderedAt: new Date().toISOString(),
      renderedBy: 'x',
    });
    const failed = await store.listPages(big.id, { offset: 0, limit: 50, status: 'failed' });
    expect(failed.total).toBe(1);
    expect(failed.items[0]).toMatchObject({ seq: 5, status: 'failed', attempts: 3, error: { title: 'Origin Error' } });
    const record = await store.getJob(big.id);
    expect(record).toMatchObject({ pageCount: 100_000, completedCount: 1, failedCount: 1 });
    expect(await store.pageSeqs(big.id, 'pending', 3)).toEqual([0, 1, 2]);
    await store.close();
  });

  it('searches a job of 1,200 pages by URL, ignoring case, alone or with a status, page by page', async () => {
    const store = await open();
    const j = job('search');
    await store.createJob(j);
    // Every 100th page is a product page; more than two read batches of pages in all.
    const urls = Array.from({ length: 1200 }, (_, i) => (i % 100 === 7 ? `https://s.test/Products/${i}` : `https://s.test/p/${i}`));
    await store.addPages(j.id, desktop(urls));
    await store.updatePage(j.id, 107, 'pending', { status: 'processing' });
    await store.updatePage(j.id, 107, 'processing', { status: 'failed', attempts: 1, error: { title: 'Origin Error', detail: 'origin answered 503' } });
    const products = await store.listPages(j.id, { offset: 0, limit: 5, urlContains: 'PRODUCTS/' });
    expect(products.total).toBe(12);
    expect(products.items.map((p) => p.seq)).toEqual([7, 107, 207, 307, 407]);
    expect((await store.listPages(j.id, { offset: 10, limit: 5, urlContains: 'products/' })).items.map((p) => p.seq)).toEqual([1007, 1107]);
    const failed = await store.listPages(j.id, { offset: 0, limit: 50, status: 'failed', urlContains: 'products' });
    expect(failed).toMatchObject({ total: 1, items: [{ seq: 107, status: 'failed' }] });
    // Nothing in the searched text is a pattern.
    expect((await store.listPages(j.id, { offset: 0, limit: 5, urlContains: '%' })).total).toBe(0);
    expect((await store.listPages(j.id, { offset: 0, limit: 5, urlContains: '_' })).total).toBe(0);
    await store.close();
  });

  it('moves a page only from the state it is in (a compare-and-set): of racing callers exactly one records it', async () => {
    const store = await open();
    const j = job('cas');
    await store.createJob(j);
    await store.addPages(j.id, desktop(['https://s.test/a']));
    expect(await store.updatePage(j.id, 0, 'processing', { status: 'complete' })).toBe(false);
    expect(await store.getPage(j.id, 0)).toMatchObject({ status: 'pending' });
    expect(await store.updatePage(j.id, 0, 'pending', { status: 'processing' })).toBe(true);
    const racing = await Promise.all(
      Array.from({ length: 6 }, (_, i) => store.updatePage(j.id, 0, 'processing', { status: i % 2 ? 'complete' : 'failed', attempts: i + 1 })),
    );
    expect(racing.filter(Boolean)).toHaveLength(1);
    const record = await store.getJob(j.id);
    expect((record?.completedCount ?? 0) + (record?.failedCount ?? 0)).toBe(1);
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

  it('counts the pages kept unchanged among the complete ones, and forgets them when a page is rendered again', async () => {
    const store = await open();
    const j = job('unchanged');
    await store.createJob(j);
    await store.addPages(j.id, [
      { url: 'https://s.test/a', variant: 'desktop', lastmod: 1_700_000_000_000 },
      ...desktop(['https://s.test/b', 'https://s.test/c']),
    ]);
    expect(await store.getPage(j.id, 0)).toMatchObject({ lastmod: 1_700_000_000_000, outcome: null });
    expect((await store.getPage(j.id, 1))?.lastmod).toBeNull();
    const done = { httpStatus: 200, bytes: 10, renderTimeMs: 5, renderedAt: new Date().toISOString(), renderedBy: 'x' };
    await store.updatePage(j.id, 0, 'pending', { status: 'complete', ...done, outcome: 'unchanged' });
    await store.updatePage(j.id, 1, 'pending', { status: 'complete', ...done, outcome: 'rendered' });
    await store.updatePage(j.id, 2, 'pending', { status: 'failed', attempts: 1, error: { title: 'T', detail: 'D' }, outcome: 'failed' });
    expect(await store.getJob(j.id)).toMatchObject({ completedCount: 2, unchangedCount: 1, failedCount: 1 });
    expect((await store.listPages(j.id, { offset: 0, limit: 10 })).items.map((p) => p.outcome)).toEqual(['unchanged', 'rendered', 'failed']);
    // Back to pending (a restart's retry), then rendered: no longer counted unchanged.
    await store.updatePage(j.id, 0, 'complete', { status: 'pending', outcome: null });
    await store.updatePage(j.id, 0, 'pending', { status: 'complete', ...done, outcome: 'rendered' });
    expect(await store.getJob(j.id)).toMatchObject({ completedCount: 2, unchangedCount: 0 });
    await store.close();
  });

  it("keeps why a page failed, and lets one caller claim a job's origin restart", async () => {
    const store = await open();
    const j = job('claims');
    await store.createJob(j);
    await store.addPages(j.id, desktop(['https://s.test/a', 'https://s.test/b']));
    await store.updatePage(j.id, 0, 'pending', {
      status: 'failed',
      attempts: 2,
      error: { title: 'Origin Error', detail: 'origin answered 503' },
      failureKind: 'origin-error',
    });
    expect((await store.getPage(j.id, 0))?.failureKind).toBe('origin-error');
    expect((await store.getPage(j.id, 1))?.failureKind).toBeNull();
    // Rendered but not stored: a failed attempt of its own kind, never a complete page.
    await store.updatePage(j.id, 1, 'pending', {
      status: 'failed',
      attempts: 3,
      error: { title: 'Cache Write Failed', detail: 'rendered, but not stored' },
      failureKind: 'store-error',
    });
    expect(await store.getPage(j.id, 1)).toMatchObject({ status: 'failed', failureKind: 'store-error', error: { title: 'Cache Write Failed' } });
    expect((await store.getJob(j.id))?.completedCount).toBe(0);
    await store.updatePage(j.id, 1, 'failed', { status: 'pending', error: null, failureKind: null, attempts: 0 });
    await store.updatePage(j.id, 0, 'failed', { status: 'pending', error: null, failureKind: null, attempts: 0 });
    expect(await store.getPage(j.id, 0)).toMatchObject({ status: 'pending', failureKind: null, error: null });
    // Instances racing for the claim: exactly one wins, and no later caller does.
    const claims = await Promise.all(Array.from({ length: 8 }, () => store.claimOriginRestart(j.id)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await store.claimOriginRestart(j.id)).toBe(false);
    await store.close();
  });
});

describe('embedded job store written by an older version', () => {
  it('gains the failure_kind and variant columns on open and keeps its pages, as desktop', async () => {
    const dir = tempDir();
    const db = new sqlite3.Database(path.join(dir, 'jobs.sqlite'));
    await new Promise<void>((resolve, reject) =>
      db.exec(
        `CREATE TABLE pages (job_id TEXT NOT NULL, seq INTEGER NOT NULL, url TEXT NOT NULL, status TEXT NOT NULL,
         http_status INTEGER, rendered_at TEXT, render_time_ms INTEGER, bytes INTEGER, attempts INTEGER NOT NULL DEFAULT 0,
         rendered_by TEXT, error TEXT, PRIMARY KEY (job_id, seq));
       INSERT INTO pages (job_id, seq, url, status) VALUES ('OLD', 0, 'https://s.test/old', 'failed');`,
        (err) => (err ? reject(err) : resolve()),
      ),
    );
    await new Promise<void>((resolve) => db.close(() => resolve()));
    const store = await EMBEDDED.openJobStore('old-jobs', { dir });
    expect(await store.getPage('OLD', 0)).toMatchObject({ pageUrl: 'https://s.test/old', variant: 'desktop', status: 'failed', failureKind: null });
    await store.updatePage('OLD', 0, 'failed', { status: 'failed', failureKind: 'timeout' });
    expect((await store.getPage('OLD', 0))?.failureKind).toBe('timeout');
    await store.close();
  });
});
