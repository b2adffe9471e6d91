import path from 'node:path';
import sqlite3 from 'sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStoredEntry, toServable } from '../../src/cache/entry.js';
import { createKeyvStore } from '../../src/cache/store.js';
import { processesPerTest, startServiceProcess, type ServiceProcess } from '../helpers/cluster-process.js';
import { managementApi, type JobStatusBody } from '../helpers/management-api.js';
import { tempDir } from '../helpers/service.js';
import { generationOf, pagePath, startChaosOrigin, type ChaosOrigin } from './support/chaos-origin.js';
import { jobPages, lookupPage, pageNames, refreshUntilPagesComplete, waitFor } from './support/chaos-helpers.js';

/**
 * Chaos §5.2: a real `rendercache serve` on the embedded store (SQLite) is SIGKILLed in
 * mid-job, then started again on the same cache folder. The job reads failed "Service
 * Restarted"; every page the job recorded complete is in the cache (a hit with its
 * content, not rendered again); no stored entry or database file is corrupt.
 */
const PAGES = 50;
const TOKEN = 'chaos-sqlite-token';
const NAMESPACE = 'rendercache';
const names = pageNames('sk', PAGES);

describe('a single process SIGKILLed in mid-job, then restarted on the same cache dir', () => {
  let origin: ChaosOrigin;
  const processes = processesPerTest();
  let current: ServiceProcess;
  const api = managementApi(() => current, { owner: TOKEN });

  beforeAll(async () => {
    origin = await startChaosOrigin({ dataDelayMs: 300 });
  });
  afterAll(async () => origin?.close());

  const start = async (config: Record<string, unknown>) => {
    current = await startServiceProcess(config);
    processes.push(current);
    return current;
  };
  const status = (jobId: string) => api.jobStatus(jobId, 'owner');

  it('fails the job "Service Restarted" and keeps every page it recorded complete, intact', async () => {
    const dir = tempDir('rendercache-chaos-sqlite-');
    const config = {
      cache: { dir, namespace: NAMESPACE },
      auth: { tokens: [{ token: TOKEN, user: 'owner' }] },
      api: { rateLimit: { points: 100_000, windowSeconds: 60 } },
      schedule: { enabled: false },
      sites: [{ id: 'chaos', name: 'Chaos', origin: origin.origin, members: { owner: 'Owner' }, pages: { urls: names.map(pagePath) } }],
    };
    const first = await start(config);
    const { jobId, status: atKill } = await refreshUntilPagesComplete(api, api, 'chaos', 15, 60_000);
    first.kill();
    await waitFor('the killed process to exit', () => first.child.signalCode === 'SIGKILL', 10_000);
    expect(atKill.progress).toBe('processing');
    expect(atKill.completedCount).toBeLessThan(PAGES);

    const second = await start(config);
    // The interrupted job is ended right after start-up (the process listens a moment before).
    const job = await waitFor(
      'the interrupted job to end',
      async () => {
        const body = await status(jobId);
        return body.progress === 'pending' || body.progress === 'processing' ? null : body;
      },
      10_000,
    );
    expect(job.progress).toBe('failed');
    expect(job.error).toMatchObject({ title: 'Service Restarted', 'o:errorCode': 'RENDERCACHE-JOB-RESTARTED' });
    const left = job.pageCount - job.completedCount - job.failedCount;
    expect(job.error?.detail).toContain(`${left} of ${PAGES} pages were not refreshed`);
    expect(job.pageCount).toBe(PAGES);
    // What was recorded complete before the kill is still recorded; the job did not finish.
    expect(job.completedCount).toBeGreaterThanOrEqual(atKill.completedCount);
    expect(left).toBeGreaterThan(0);

    const pages = await jobPages(second.url, TOKEN, jobId);
    const complete = pages.filter((p) => p.status === 'complete').map((p) => new URL(p.pageUrl).pathname.slice('/p/'.length));
    expect(complete).toHaveLength(job.completedCount);

    // Every page reported complete is served from the cache: a hit with its content, not rendered again.
    const docsBefore = new Map(complete.map((n) => [n, origin.hits.get(pagePath(n)) ?? 0]));
    const served = await Promise.all(complete.map((n) => lookupPage(second.url, origin.origin, n)));
    const missing = served.filter((r) => r.status !== 200 || r.cache !== 'hit' || r.generation !== 'g1');
    expect(missing, `pages recorded complete but not served from the cache: ${JSON.stringify(missing)}`).toEqual([]);
    expect(complete.filter((n) => (origin.hits.get(pagePath(n)) ?? 0) !== docsBefore.get(n))).toEqual([]);
    expect(second.logs.filter((l) => l.msg === 'ignoring a malformed cache entry')).toEqual([]);
    expect(second.logs.some((l) => l.msg === 'ended a job interrupted by a restart' && l.jobId === jobId)).toBe(true);

    // No entry in the store is corrupt: every one decodes to a whole page of its own URL.
    const keyv = createKeyvStore({ backend: 'embedded', dir }, NAMESPACE);
    const broken: string[] = [];
    let entries = 0;
    try {
      for await (const [key, value] of keyv.iterator!(NAMESPACE) as AsyncGenerator<[string, unknown]>) {
        if (!String(key).startsWith('page:')) continue;
        entries++;
        try {
          if (!isStoredEntry(value)) throw new Error('not a stored entry');
          const name = new URL(value.url).pathname.slice('/p/'.length);
          if (`page:${value.url}` !== key) throw new Error(`entry of ${value.url} under ${key}`);
          if (generationOf(toServable(value).identity.toString('utf8'), name) !== 'g1') throw new Error('no whole page');
        } catch (err) {
          broken.push(`${key}: ${(err as Error).message}`);
        }
      }
    } finally {
      await keyv.disconnect();
    }
    expect(broken).toEqual([]);
    expect(entries).toBeGreaterThanOrEqual(complete.length);
    for (const file of ['rendercache.sqlite', 'jobs.sqlite']) expect(await integrityCheck(path.join(dir, file))).toBe('ok');

    // The site's slot was freed: it can be refreshed again at once, and then every page is cached.
    const again = await api.refresh('owner', 'chaos');
    expect(again.status).toBe(202);
    const rerun = (await again.json()) as JobStatusBody;
    expect(rerun.id).not.toBe(jobId);
    expect(await api.waitForEnd(rerun.id, 'owner', 60_000)).toMatchObject({ progress: 'succeeded', completedCount: PAGES });
    const all = await Promise.all(names.map((n) => lookupPage(second.url, origin.origin, n)));
    expect(all.filter((r) => r.status !== 200 || r.cache !== 'hit' || r.generation !== 'g1')).toEqual([]);
  }, 150_000);
});

/** PRAGMA integrity_check of a SQLite file, read-only. */
function integrityCheck(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (err) => {
      if (err) return reject(err);
      db.all('PRAGMA integrity_check', (queryErr, rows: Array<{ integrity_check: string }>) => {
        db.close();
        if (queryErr) return reject(queryErr);
        resolve(rows.map((r) => r.integrity_check).join('; '));
      });
    });
  });
}
