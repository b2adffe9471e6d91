import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.js';
import { managementApi, type JobStatusBody } from '../helpers/management-api.js';
import { startTestService, tempDir } from '../helpers/service.js';
import { pagePath, startChaosOrigin, type ChaosOrigin, type PageMode } from './support/chaos-origin.js';
import { jobPages, lookupPage, waitFor } from './support/chaos-helpers.js';

/**
 * Chaos §5.5: a page cached good, then its origin answers 500, hangs past the render
 * deadline, or answers an empty body when the page is rendered again, by a refresh job
 * and by the background re-render of a stale page. Lookups must still serve the good
 * page, from this process and from a fresh one on the same store; a page whose origin
 * is fine is replaced, so re-rendering really happened.
 */
const TOKEN = 'chaos-failure-token';
const BROKEN: ReadonlyArray<readonly [PageMode, string]> = [
  ['500', 'origin-error'],
  ['hang', 'timeout'],
  ['empty', 'empty-body'],
];

describe('a failed render never replaces a good page', () => {
  let origin: ChaosOrigin;
  const services: RunningService[] = [];

  beforeAll(async () => {
    origin = await startChaosOrigin({ dataDelayMs: 30 });
  });
  afterEach(async () => {
    for (const s of services.splice(0)) await s.stop();
  });
  afterAll(async () => origin?.close());

  /** An embedded-store service over `dir`; the origin's pages `names`, render deadline 2 s. */
  async function start(dir: string, names: readonly string[], extra: Record<string, unknown> = {}) {
    const service = await startTestService({
      cache: { dir, namespace: 'chaos-failures', ...(extra.cache as object | undefined) },
      auth: { tokens: [{ token: TOKEN, user: 'owner' }] },
      api: { rateLimit: { points: 100_000, windowSeconds: 60 } },
      refresh: { maxAttempts: 2, retryBackoffMs: 50 },
      sites: [
        { id: 'chaos', name: 'Chaos', origin: origin.origin, members: { owner: 'Owner' }, render: { deadlineMs: 2000 }, pages: { urls: names.map(pagePath) } },
      ],
    });
    services.push(service);
    return service;
  }
  const key = (name: string) => `${origin.origin}${pagePath(name)}`;
  const docs = (name: string) => origin.hits.get(pagePath(name)) ?? 0;

  it('refresh job: the origin fails on the re-render (500, hang past the deadline, empty body); the good page stays served', async () => {
    const dir = tempDir('rendercache-chaos-failures-');
    const broken = BROKEN.map(([mode]) => `job-${mode}`);
    const names = [...broken, 'job-ok'];
    const service = await start(dir, names);
    const api = managementApi(() => service, { owner: TOKEN });

    origin.setGeneration('good');
    const first = await api.refresh('owner', 'chaos');
    expect(await api.waitForEnd(((await first.json()) as JobStatusBody).id, 'owner', 30_000)).toMatchObject({
      progress: 'succeeded',
      completedCount: names.length,
    });

    origin.setGeneration('new');
    for (const [mode] of BROKEN) origin.setMode(`job-${mode}`, mode);
    const before = new Map(names.map((n) => [n, docs(n)]));
    const second = await api.refresh('owner', 'chaos');
    const jobId = ((await second.json()) as JobStatusBody).id;
    const job = await api.waitForEnd(jobId, 'owner', 60_000);
    expect(job).toMatchObject({ progress: 'failed', pageCount: names.length, completedCount: 1, failedCount: broken.length });
    const pages = await jobPages(service.url, TOKEN, jobId);
    expect(
      pages
        .filter((p) => p.status === 'failed')
        .map((p) => new URL(p.pageUrl).pathname)
        .sort(),
    ).toEqual(broken.map(pagePath).sort());
    // Every broken page was really rendered again (the origin saw its document requested).
    for (const n of broken) expect(docs(n), n).toBeGreaterThan(before.get(n)!);

    // The good page is still served, marked stale; the failure is recorded with its kind.
    for (const [mode, kind] of BROKEN) {
      const served = await lookupPage(service.url, origin.origin, `job-${mode}`);
      expect(served, mode).toMatchObject({ status: 200, cache: 'stale', generation: 'good' });
      expect((await service.cache.lastFailure(key(`job-${mode}`)))?.kind, mode).toBe(kind);
    }
    // A page whose origin is fine was replaced by its new render.
    expect(await lookupPage(service.url, origin.origin, 'job-ok')).toMatchObject({ status: 200, cache: 'hit', generation: 'new' });

    // From the store itself: a fresh process on the same folder serves the good pages too.
    await service.stop();
    const fresh = await start(dir, names);
    for (const [mode] of BROKEN) {
      expect(await lookupPage(fresh.url, origin.origin, `job-${mode}`), mode).toMatchObject({ status: 200, cache: 'stale', generation: 'good' });
    }
    expect(await lookupPage(fresh.url, origin.origin, 'job-ok')).toMatchObject({ status: 200, cache: 'hit', generation: 'new' });
    for (const [mode] of BROKEN) origin.setMode(`job-${mode}`, 'ok');
  }, 120_000);

  it('stale re-render: the background render of a stale page fails (500, hang, empty body); the good page stays served', async () => {
    const dir = tempDir('rendercache-chaos-failures-');
    const broken = BROKEN.map(([mode]) => `stale-${mode}`);
    const names = [...broken, 'stale-ok'];
    // Entries are stale one second after their render.
    const service = await start(dir, names, { cache: { staleAfterSeconds: 1 } });

    origin.setGeneration('good');
    for (const n of names) expect(await lookupPage(service.url, origin.origin, n), n).toMatchObject({ status: 200, cache: 'miss', generation: 'good' });

    origin.setGeneration('new');
    for (const [mode] of BROKEN) origin.setMode(`stale-${mode}`, mode);
    const before = new Map(names.map((n) => [n, docs(n)]));
    const brokeAt = Date.now();

    // Crawlers keep asking; once stale, each page is served at once and rendered again behind the answer.
    for (const n of broken) {
      const served = await waitFor(
        `${n} served stale`,
        async () => {
          const r = await lookupPage(service.url, origin.origin, n);
          return r.cache === 'stale' ? r : null;
        },
        10_000,
        100,
      );
      expect(served, n).toMatchObject({ status: 200, generation: 'good' });
      expect(served.ms, `${n}: a stale page is answered at once, not after its re-render`).toBeLessThan(1000);
    }
    // Each background re-render ends, failed and recorded (the hang at the 2 s deadline).
    for (const [mode, kind] of BROKEN) {
      const failure = await waitFor(
        `the re-render of stale-${mode} to fail`,
        async () => {
          const f = await service.cache.lastFailure(key(`stale-${mode}`));
          return f && Date.parse(f.at) >= brokeAt ? f : null;
        },
        15_000,
        100,
      );
      expect(failure.kind, mode).toBe(kind);
      expect(docs(`stale-${mode}`), mode).toBeGreaterThan(before.get(`stale-${mode}`)!);
    }
    // After the failed re-renders, lookups still serve the good page.
    for (const n of broken) expect(await lookupPage(service.url, origin.origin, n), n).toMatchObject({ status: 200, cache: 'stale', generation: 'good' });
    // The same mechanism replaces a page whose origin is fine: re-rendering was live.
    await waitFor(
      'stale-ok to be replaced by its re-render',
      async () => (await lookupPage(service.url, origin.origin, 'stale-ok')).generation === 'new',
      15_000,
      100,
    );

    // From the store itself, in a fresh process.
    await service.stop();
    const fresh = await start(dir, names, { cache: { staleAfterSeconds: 1 } });
    for (const n of broken) expect(await lookupPage(fresh.url, origin.origin, n), n).toMatchObject({ status: 200, cache: 'stale', generation: 'good' });
    for (const [mode] of BROKEN) origin.setMode(`stale-${mode}`, 'ok');
  }, 120_000);
});
