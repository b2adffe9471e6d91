import path from 'node:path';
import { Redis } from 'ioredis';
import sqlite3 from 'sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HotTier } from '../../src/cache/hot-tier.js';
import { PageCache } from '../../src/cache/page-cache.js';
import { createLogger } from '../../src/observability/logger.js';
import type { RunningService } from '../../src/service.js';
import { startFixtureSite, type FixtureSite } from '../fixtures/fixture-site.js';
import { BACKENDS, EMBEDDED, redisBackend, type BackendName, type TestBackend } from '../helpers/backends.js';
import { managementApi } from '../helpers/management-api.js';
import { startTestRedis, type TestRedis } from '../helpers/redis-server.js';
import { lookupUrl, startTestService, tempDir, uniqueNamespace } from '../helpers/service.js';

/**
 * A refresh page is complete only when its entry is in the cache store: a write the
 * store refuses is a failed attempt, retried, and the page ends failed.
 */
const TOKENS = { owner: 'store-writes-owner-token' };
const PAGES = ['/page/w1', '/page/w2', '/page/w3'];

let site: FixtureSite;
let service: RunningService | undefined;
let redis: TestRedis | undefined;
const api = managementApi(() => service!, TOKENS);

beforeAll(async () => {
  site = await startFixtureSite();
});
afterEach(async () => {
  await service?.stop();
  service = undefined;
  await redis?.close();
  redis = undefined;
});
afterAll(async () => site?.close());

/** A service on `backend`; `cacheExtras` name its namespace or folder when the test must know them. */
function config(backend: TestBackend, cacheExtras: Record<string, unknown> = {}) {
  return {
    ...backend.serviceConfig('store-writes', { commandTimeoutMs: 1000, ...cacheExtras }),
    auth: { tokens: [{ token: TOKENS.owner, user: 'owner' }] },
    refresh: { maxAttempts: 2, retryBackoffMs: 50 },
    sites: [{ id: 'w', name: 'W', origin: site.origin, members: { owner: 'Owner' }, pages: { urls: PAGES } }],
  };
}

interface PageItem {
  pageUrl: string;
  status: string;
  error?: { title: string; detail: string };
}

async function refreshToEnd() {
  const started = await api.refresh('owner', 'w');
  expect(started.status).toBe(202);
  const { id } = (await started.json()) as { id: string };
  const job = await api.waitForEnd(id, 'owner', 60_000);
  const pages = ((await (await api.call('owner', 'GET', `/sites/_status/${id}/pages`)).json()) as { items: PageItem[] }).items;
  return { job, pages };
}

const documentHits = () => PAGES.map((p) => site.hits.get(p) ?? 0);

async function expectPagesFailedForStore() {
  const before = documentHits();
  const { job, pages } = await refreshToEnd();
  expect(job).toMatchObject({ progress: 'failed', pageCount: 3, completedCount: 0, failedCount: 3 });
  for (const page of pages) expect(page).toMatchObject({ status: 'failed', error: { title: 'Cache Write Failed' } });
  // Each page was tried again (maxAttempts 2), and a retry renders without asking the origin
  // first (the first attempt found its inputs changed: there was no manifest yet): Chromium
  // fetched its document twice.
  expect(documentHits().map((n, i) => n - before[i]!)).toEqual([2, 2, 2]);
  // A crawler's lookup is still answered: the render is served from memory.
  const res = await fetch(lookupUrl(service!, `${site.origin}/page/w-lookup`));
  expect(res.status).toBe(200);
  expect(await res.text()).toContain('page-w-lookup');
}

function sqliteExec(file: string, sql: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, (err) => {
      if (err) return reject(err);
      db.exec(sql, (execErr) => db.close(() => (execErr ? reject(execErr) : resolve())));
    });
  });
}

/** Starts the service on a store of the backend that refuses every page write: each backend has its own way. */
const startRefusingPageWrites: Partial<Record<BackendName, () => Promise<void>>> = {
  async embedded() {
    const dir = tempDir();
    service = await startTestService(config(EMBEDDED, { dir }));
    // The store itself refuses: a trigger on the cache table aborts every page write.
    await sqliteExec(
      path.join(dir, 'rendercache.sqlite'),
      `
      CREATE TRIGGER refuse_insert BEFORE INSERT ON pages WHEN NEW.key LIKE '%:page:%' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;
      CREATE TRIGGER refuse_update BEFORE UPDATE ON pages WHEN NEW.key LIKE '%:page:%' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;`,
    );
  },

  async redis() {
    redis = await startTestRedis();
    const namespace = uniqueNamespace('refuse');
    // A user that may write every key of the namespace except the cache's pages (the job
    // store's and BullMQ's keys start with their hash tags, {namespace:…}).
    const admin = new Redis(redis.url);
    await admin.call(
      'ACL',
      'SETUSER',
      'rc',
      'on',
      '>rc-pass',
      '+@all',
      'allchannels',
      `~${namespace}:[^p]*`,
      `~{${namespace}:*`,
      `%R~${namespace}:pages::*`,
      `~${namespace}:pages::ready:*`,
    );
    await admin.quit();
    // The service's own Redis, as that user.
    service = await startTestService(config(redisBackend(`redis://rc:rc-pass@127.0.0.1:${redis.port}`), { namespace }));
    expect(service.engine.kind).toBe('cluster');
  },
};

describe.each(BACKENDS)('a cache store on the $name backend that refuses page writes', (backend) => {
  it('the refresh ends with those pages failed, not complete', async () => {
    const start = startRefusingPageWrites[backend.name];
    if (!start) throw new Error(`no refusing store for the ${backend.name} backend: add one to startRefusingPageWrites`);
    await start();
    await expectPagesFailedForStore();
  });
});

describe.each(BACKENDS)('a fresh instance on the $name backend', (backend) => {
  it('stores its very first renders: every page complete is in the shared store', async () => {
    const namespace = uniqueNamespace('fresh');
    const dir = tempDir();
    // One attempt only: a first write lost to a half-open connection would fail the page.
    service = await startTestService({ ...config(backend, { namespace, dir }), refresh: { maxAttempts: 1 }, render: { concurrency: 4 } });
    const { job, pages } = await refreshToEnd();
    expect(job).toMatchObject({ progress: 'succeeded', completedCount: 3, failedCount: 0 });
    expect(pages.map((p) => p.status)).toEqual(['complete', 'complete', 'complete']);
    const reader = new PageCache(
      backend.openKeyv('fresh', { dir, namespace }),
      new HotTier(0),
      { commandTimeoutMs: 1000, staleAfterMs: 60_000 },
      createLogger('silent'),
    );
    await reader.connect();
    for (const page of PAGES) expect((await reader.get(`${site.origin}${page}`))?.identity.toString()).toContain(`page-${page.slice('/page/'.length)}`);
    await reader.close();
  });

  it('reads its first lookups, arriving at once, from the shared store (no false miss while connecting)', async () => {
    const namespace = uniqueNamespace('fresh-read');
    const dir = tempDir();
    const urls = Array.from({ length: 6 }, (_, i) => `${site.origin}/page/fr${i}`);
    const writer = new PageCache(
      backend.openKeyv('fresh-read', { dir, namespace }),
      new HotTier(0),
      { commandTimeoutMs: 1000, staleAfterMs: 3_600_000 },
      createLogger('silent'),
    );
    await writer.connect();
    for (const url of urls)
      await writer.put(url, {
        url,
        status: 200,
        headers: {},
        html: `<html><body>stored ${url}</body></html>`,
        renderTimeMs: 1,
        source: { trigger: 'api', jobId: 'seed' },
      });
    await writer.close();
    service = await startTestService(config(backend, { namespace, dir }));
    const answers = await Promise.all(urls.map((url) => fetch(lookupUrl(service!, url))));
    expect(answers.map((res) => res.headers.get('x-rendercache-cache'))).toEqual(urls.map(() => 'hit'));
    expect(urls.map((url) => site.hits.get(new URL(url).pathname) ?? 0)).toEqual(urls.map(() => 0));
  });
});
