import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.js';
import { startFixtureSite, type FixtureSite } from '../fixtures/fixture-site.js';
import { json, type ErrorBody } from '../helpers/json.js';
import { waitFor } from '../helpers/wait-for.js';
import type { JobStatusBody, ListBody, PageItemBody, SiteBody, SiteCacheBody } from '../helpers/management-api.js';
import { BACKENDS } from '../helpers/backends.js';
import { lookupUrl, startTestService } from '../helpers/service.js';

const BASE = '/sites/management/api/v1';
const TOKENS = {
  owner: 'owner-token-123',
  manager: 'manager-token-123',
  contributor: 'contrib-token-123',
  viewer: 'viewer-token-123',
  stranger: 'stranger-token-123',
  admin: 'admin-token-123',
  burst: 'burst-token-1234',
} as const;
type Who = keyof typeof TOKENS;
const OCM_TYPE = 'http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.1';

describe.each(BACKENDS)('Sites Management API on the $name backend', (backend) => {
  let site: FixtureSite;
  let service: RunningService;
  /** Chosen once: a restarted service finds the same store. */
  let backendConfig: Record<string, unknown>;

  const config = () => {
    const members = { owner: 'Owner', manager: 'Manager', contributor: 'Contributor', viewer: 'Viewer', burst: 'Viewer' };
    const urls = ['/page/1', '/page/2', '/page/3', '/page/4'];
    return {
      ...backendConfig,
      auth: { tokens: Object.entries(TOKENS).map(([user, token]) => ({ token, user, admin: user === 'admin' })) },
      api: { rateLimit: { points: 600, windowSeconds: 60 }, maxBodyBytes: 4096 },
      refresh: { retryBackoffMs: 10, siteConcurrency: 2 },
      sites: [
        { id: 'main', name: 'Main Site', origin: site.origin, pages: { urls }, members },
        {
          id: 'broken',
          name: 'Broken',
          origin: site.origin.replace('127.0.0.1', 'localhost'),
          pages: { urls: ['/page/ok', '/error'] },
          members,
          allowPrivateNetwork: true,
        },
        // Its jobs are the ones still running when a test needs one: every page rendered, none
        // kept unchanged in one quick pass of revalidations.
        {
          id: 'slow',
          name: 'Slow',
          origin: `${site.origin}/`,
          pages: { urls: Array.from({ length: 12 }, (_, i) => `/slow?delay=400&n=${i}`) },
          incremental: false,
          members,
        },
        { id: 'offline', name: 'Offline', origin: 'http://127.0.0.1:9/off/', status: 'offline', members },
        { id: 'secure', name: 'Secure', origin: 'http://127.0.0.1:9/sec/', security: 'secure', members },
        { id: 'noprerender', name: 'NoPrerender', origin: 'http://127.0.0.1:9/np/', prerender: false, members },
        { id: 'lifecycle', name: 'Lifecycle', origin: 'http://127.0.0.1:9/lc/', members },
        { id: 'never', name: 'Never', origin: 'http://127.0.0.1:9/nv/', members },
      ],
    };
  };

  const call = (who: Who | null, method: string, path: string, options: { body?: string; headers?: Record<string, string> } = {}) =>
    fetch(`${service.url}${BASE}${path}`, {
      method,
      redirect: 'manual',
      headers: { ...(who ? { authorization: `Bearer ${TOKENS[who]}` } : {}), ...options.headers },
      ...(options.body !== undefined ? { body: options.body } : {}),
    });
  const refresh = (who: Who, id: string, options: { body?: string; query?: string } = {}) =>
    call(who, 'POST', `/sites/${id}/refresh${options.query ?? ''}`, {
      headers: { prefer: 'respond-async', ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(options.body !== undefined ? { body: options.body } : {}),
    });
  /** Until the job has rendered a page and has more to go. */
  const waitUntilRendering = (jobId: string) =>
    waitFor(
      `job ${jobId} rendering`,
      async () => {
        const body = await json<JobStatusBody>(await call('owner', 'GET', `/sites/_status/${jobId}`));
        return body.progress === 'processing' && body.completedCount >= 1 && body.completedCount < body.pageCount;
      },
      20_000,
    );
  async function waitForEnd(jobId: string, who: Who = 'owner'): Promise<JobStatusBody> {
    for (let i = 0; i < 300; i++) {
      const body = await json<JobStatusBody>(await call(who, 'GET', `/sites/_status/${jobId}`));
      if (!['pending', 'processing'].includes(body.progress)) return body;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`job ${jobId} did not end`);
  }
  const expectError = async (res: Response, status: number, code: string) => {
    expect(res.status).toBe(status);
    const body = await json<ErrorBody>(res);
    expect(body).toMatchObject({ status: String(status), 'o:errorCode': code });
    expect(typeof body.title).toBe('string');
    expect(typeof body.detail).toBe('string');
    expect(body.type).toMatch(/^(http:\/\/www\.w3\.org\/Protocols\/rfc2616\/rfc2616-sec10\.html#sec10\.\d+\.\d+|https:\/\/www\.rfc-editor\.org)/);
    return body;
  };

  beforeAll(async () => {
    site = await startFixtureSite();
    backendConfig = backend.serviceConfig('api');
    service = await startTestService(config());
  });

  afterAll(async () => {
    await service?.stop();
    await site?.close();
  });

  describe('the refresh error table', () => {
    it('401 without a token or with an unknown one', async () => {
      await expectError(await call(null, 'POST', '/sites/main/refresh', { headers: { prefer: 'respond-async' } }), 401, 'RENDERCACHE-401');
      const res = await fetch(`${service.url}${BASE}/sites`, { headers: { authorization: 'Bearer nope-nope-nope' } });
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      await expectError(res, 401, 'RENDERCACHE-401');
    });

    it('400 OCE-SITEMGMT-009001 without Prefer: respond-async', async () => {
      const body = await expectError(await call('owner', 'POST', '/sites/main/refresh'), 400, 'OCE-SITEMGMT-009001');
      expect(body.title).toBe('Asynchronous Processing Required');
    });

    it('403 OCE-SITEMGMT-009026 for a role below Manager', async () => {
      for (const who of ['viewer', 'contributor'] as const) {
        const body = await expectError(await refresh(who, 'main'), 403, 'OCE-SITEMGMT-009026');
        expect(body).toEqual({
          type: OCM_TYPE,
          title: 'Site Operation Forbidden',
          status: '403',
          detail: 'You do have a sharing role in this site, but your role does not allow you to use this operation.',
          'o:errorCode': 'OCE-SITEMGMT-009026',
          site: { id: 'main' },
        });
      }
    });

    it('404 OCE-SITEMGMT-009003 for no such site and for a caller with no role', async () => {
      const missing = await expectError(await refresh('owner', 'nosuchsite'), 404, 'OCE-SITEMGMT-009003');
      expect(missing).toMatchObject({ type: OCM_TYPE, title: 'Site Not Found', site: { id: 'nosuchsite' } });
      await expectError(await refresh('stranger', 'main'), 404, 'OCE-SITEMGMT-009003');
      await expectError(await refresh('owner', 'name:No Such Site'), 404, 'OCE-SITEMGMT-009003');
    });

    it('409 OCE-SITEMGMT-009013 for an offline site', async () => {
      const body = await expectError(await refresh('owner', 'offline'), 409, 'OCE-SITEMGMT-009013');
      expect(body).toMatchObject({ type: OCM_TYPE, title: 'Invalid Site Status', site: { id: 'offline' }, runtimeStatus: 'offline', requiredStatus: 'online' });
    });

    it('409 OCE-SITEMGMT-009091 for a secure site', async () => {
      const body = await expectError(await refresh('owner', 'secure'), 409, 'OCE-SITEMGMT-009091');
      expect(body).toMatchObject({ title: 'Site is not a Public Site', site: { id: 'secure' } });
    });

    it('409 OCE-PRE-001001 when the pre-renderer is disabled, with no detail fields', async () => {
      const body = await expectError(await refresh('manager', 'noprerender'), 409, 'OCE-PRE-001001');
      expect(Object.keys(body).sort()).toEqual(['detail', 'o:errorCode', 'status', 'title', 'type']);
    });

    it('413 for an oversized body and for more than 1000 pages', async () => {
      await expectError(await refresh('owner', 'main', { body: JSON.stringify({ pages: ['/x'.repeat(3000)] }) }), 413, 'RENDERCACHE-413');
      const many = Array.from({ length: 1001 }, (_, i) => `/${i}`);
      const bigService = JSON.stringify({ pages: many });
      expect(bigService.length).toBeGreaterThan(4096);
      await expectError(await refresh('owner', 'main', { body: bigService }), 413, 'RENDERCACHE-413');
    });

    it('400 for malformed bodies, queries and ids, never a 500', async () => {
      const bad = [
        await refresh('owner', 'main', { body: '{bad json' }),
        await refresh('owner', 'main', { body: JSON.stringify({ pages: ['/ok'], extra: 1 }) }),
        await refresh('owner', 'main', { body: JSON.stringify({ pages: [] }) }),
        await refresh('owner', 'main', { body: JSON.stringify({ pages: 'x' }) }),
        await refresh('owner', 'main', { body: JSON.stringify({ pages: ['https://elsewhere.example.com/'] }) }),
        await refresh('owner', 'main', { query: '?includeDeleted=maybe' }),
        await refresh('owner', 'main', { query: '?unknown=1' }),
        await call('owner', 'GET', '/sites?limit=-1'),
        await call('owner', 'GET', '/sites?offset=abc'),
        await call('owner', 'GET', '/sites/_status/not-a-job'),
        await call('owner', 'GET', `/sites/${encodeURIComponent('bad id!')}`),
      ];
      for (const res of bad) await expectError(res, 400, 'RENDERCACHE-400');
      const textBody = await call('owner', 'POST', '/sites/main/refresh', {
        headers: { prefer: 'respond-async', 'content-type': 'text/plain' },
        body: 'pages',
      });
      await expectError(textBody, 415, 'RENDERCACHE-415');
    });

    it('429 with Retry-After when a caller sends too many requests', async () => {
      let last: Response | undefined;
      for (let i = 0; i < 601; i++) last = await call('burst', 'GET', '/sites');
      expect(last?.headers.get('retry-after')).toMatch(/^\d+$/);
      await expectError(last as Response, 429, 'RENDERCACHE-429');
    });
  });

  describe('refresh jobs', () => {
    it('202 with an absolute Location, then progress to succeeded and the list of refreshed pages', async () => {
      const res = await refresh('manager', 'main');
      expect(res.status).toBe(202);
      const location = res.headers.get('location') ?? '';
      expect(location).toMatch(new RegExp(`^${service.url}${BASE}/sites/_status/[A-F0-9]{32}$`));
      const accepted = await json<JobStatusBody>(res);
      expect(accepted).toMatchObject({ context: 'main', action: 'refresh', trigger: 'api', completed: false });
      const status = await waitForEnd(accepted.id);
      expect(status).toMatchObject({
        context: 'main',
        action: 'refresh',
        progress: 'succeeded',
        completed: true,
        completedPercentage: 100,
        pageCount: 4,
        completedCount: 4,
        failedCount: 0,
        intervalToPoll: 1000,
        trigger: 'api',
      });
      expect(Date.parse(status.endTime ?? '')).toBeGreaterThanOrEqual(Date.parse(status.startTime));
      const pages = await json<ListBody<PageItemBody>>(await call('viewer', 'GET', `/sites/_status/${accepted.id}/pages?limit=2&offset=1`));
      expect(pages).toMatchObject({ offset: 1, limit: 2, count: 2, hasMore: true, totalResults: 4 });
      expect(pages.items[0]).toMatchObject({ pageUrl: `${site.origin}/page/2`, status: 'complete', httpStatus: 200 });
      expect(pages.items[0]?.bytes).toBeGreaterThan(0);
      expect(pages.items[0]?.renderTimeMs).toBeGreaterThan(0);
      const clamped = await json<ListBody<PageItemBody>>(await call('viewer', 'GET', `/sites/_status/${accepted.id}/pages?limit=1000&links=none`));
      expect(clamped.limit).toBe(250);
      // The refreshed pages are in the bot-facing cache.
      const hit = await fetch(lookupUrl(service, `${site.origin}/page/3`));
      expect(hit.headers.get('x-rendercache-cache')).toBe('hit');
      const info = await json<SiteCacheBody>(await call('viewer', 'GET', '/sites/main/cache'));
      expect(info.refreshedAt).toBe(status.endTime);
      expect(info.trigger).toBe('api');
      expect(Date.parse(info.expiresAt)).toBeGreaterThan(Date.now());
      const cacheStatus = await call('viewer', 'GET', '/sites/main/cache/status');
      expect(cacheStatus.status).toBe(303);
      expect(cacheStatus.headers.get('location')).toBe(location);
    });

    it('refreshes only the pages of the body, by name:<SiteName> too', async () => {
      const res = await refresh('owner', 'name:Main Site', { body: JSON.stringify({ pages: ['/page/9', `${site.origin}/page/8`] }) });
      expect(res.status).toBe(202);
      const status = await waitForEnd((await json<JobStatusBody>(res)).id);
      expect(status).toMatchObject({ progress: 'succeeded', pageCount: 2 });
    });

    it('answers a refresh while one is running with the running job, and starts nothing new', async () => {
      const first = await refresh('owner', 'slow');
      const second = await refresh('manager', 'slow');
      expect(second.status).toBe(202);
      expect(second.headers.get('location')).toBe(first.headers.get('location'));
      const job = await json<JobStatusBody>(first);
      // Cancel it once a page is done: the job ends aborted; pages already rendered stay cached.
      for (let i = 0; i < 200; i++) {
        const now = await json<JobStatusBody>(await call('owner', 'GET', `/sites/_status/${job.id}`));
        if (now.completedCount > 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await expectError(await call('viewer', 'DELETE', `/sites/_status/${job.id}`), 403, 'OCE-SITEMGMT-009026');
      const cancelled = await call('manager', 'DELETE', `/sites/_status/${job.id}`);
      expect(cancelled.status).toBe(200);
      const ended = await waitForEnd(job.id);
      expect(ended.progress).toBe('aborted');
      expect(ended.completed).toBe(false);
      expect(ended.completedCount).toBeGreaterThan(0);
      expect(ended.completedCount).toBeLessThan(12);
      const donePages = await json<ListBody<PageItemBody>>(
        await call('owner', 'GET', `/sites/_status/${job.id}/pages?q=${encodeURIComponent('status eq "complete"')}`),
      );
      for (const page of donePages.items) {
        expect((await fetch(lookupUrl(service, page.pageUrl))).headers.get('x-rendercache-cache')).toBe('hit');
      }
      await expectError(await call('manager', 'DELETE', `/sites/_status/${job.id}`), 409, 'RENDERCACHE-JOB-409');
    });

    it('retries a failing page, then reports it failed and fails the job', async () => {
      const res = await refresh('owner', 'broken');
      const status = await waitForEnd((await json<JobStatusBody>(res)).id);
      expect(status).toMatchObject({ progress: 'failed', completed: false, pageCount: 2, completedCount: 1, failedCount: 1 });
      expect(status.error).toMatchObject({ title: 'Pages Failed', 'o:errorCode': 'RENDERCACHE-JOB-PAGES-FAILED' });
      const failed = await json<ListBody<PageItemBody>>(
        await call('owner', 'GET', `/sites/_status/${status.id}/pages?q=${encodeURIComponent('status eq "failed"')}`),
      );
      expect(failed.totalResults).toBe(1);
      expect(failed.items[0]).toMatchObject({ status: 'failed', error: { title: 'Origin Error' } });
      expect(site.hits.get('/error')).toBe(3);
    });

    it('404 for a job the caller may not see; 204 cache status for a site never refreshed', async () => {
      const res = await refresh('owner', 'main');
      const job = await json<JobStatusBody>(res);
      await expectError(await call('stranger', 'GET', `/sites/_status/${job.id}`), 404, 'RENDERCACHE-JOB-404');
      await expectError(await call('owner', 'GET', `/sites/_status/${'A'.repeat(32)}`), 404, 'RENDERCACHE-JOB-404');
      await waitForEnd(job.id);
      expect((await call('owner', 'GET', '/sites/never/cache/status')).status).toBe(204);
    });
  });

  describe('site lifecycle', () => {
    it('lists and reads sites as the caller may see them', async () => {
      const list = await json<ListBody<SiteBody>>(await call('viewer', 'GET', '/sites?limit=3'));
      expect(list).toMatchObject({ offset: 0, limit: 3, count: 3, hasMore: true, totalResults: 8 });
      expect((await json<ListBody<SiteBody>>(await call('stranger', 'GET', '/sites'))).totalResults).toBe(0);
      const one = await json<SiteBody>(await call('viewer', 'GET', '/sites/name:Main Site?links=none'));
      expect(one).toMatchObject({ id: 'main', name: 'Main Site', runtimeStatus: 'online', isDeleted: false, role: 'Viewer' });
      expect(one.links).toBeUndefined();
    });

    it('deactivate, delete, restore and activate, with the 409 each state forbids, persisted across a restart', async () => {
      await expectError(await call('manager', 'POST', '/sites/lifecycle/deactivate'), 403, 'OCE-SITEMGMT-009026');
      await expectError(await call('owner', 'POST', '/sites/lifecycle/activate'), 409, 'OCE-SITEMGMT-009013');
      await expectError(await call('owner', 'DELETE', '/sites/lifecycle'), 409, 'OCE-SITEMGMT-009013');
      expect((await json<SiteBody>(await call('owner', 'POST', '/sites/lifecycle/deactivate'))).runtimeStatus).toBe('offline');
      await expectError(await call('owner', 'POST', '/sites/lifecycle/deactivate'), 409, 'OCE-SITEMGMT-009013');
      expect((await call('owner', 'DELETE', '/sites/lifecycle')).status).toBe(204);
      await expectError(await call('owner', 'GET', '/sites/lifecycle'), 404, 'OCE-SITEMGMT-009003');
      await expectError(await refresh('owner', 'lifecycle'), 404, 'OCE-SITEMGMT-009003');
      const deleted = await expectError(await refresh('owner', 'lifecycle', { query: '?includeDeleted=true' }), 409, 'OCE-SITEMGMT-009059');
      expect(deleted).toMatchObject({ type: OCM_TYPE, title: 'Site Deleted', site: { id: 'lifecycle' } });
      await expectError(await call('owner', 'DELETE', '/sites/lifecycle?includeDeleted=true'), 409, 'OCE-SITEMGMT-009059');
      expect((await json<ListBody<SiteBody>>(await call('admin', 'GET', '/sites?includeDeleted=true'))).totalResults).toBe(8);

      // The state survives a restart of the service on the same store.
      await service.stop();
      service = await startTestService(config());
      await expectError(await call('owner', 'GET', '/sites/lifecycle'), 404, 'OCE-SITEMGMT-009003');
      expect((await json<SiteBody>(await call('owner', 'GET', '/sites/lifecycle?includeDeleted=true'))).isDeleted).toBe(true);

      expect((await json<SiteBody>(await call('owner', 'POST', '/sites/lifecycle/restore'))).isDeleted).toBe(false);
      await expectError(await call('owner', 'POST', '/sites/lifecycle/restore'), 409, 'RENDERCACHE-SITE-409');
      expect((await json<SiteBody>(await call('owner', 'POST', '/sites/lifecycle/activate'))).runtimeStatus).toBe('online');
    });

    it.runIf(backend.name === 'embedded')('ends a job interrupted by a restart as failed, with a clear error', async () => {
      const res = await refresh('owner', 'slow');
      const job = await json<JobStatusBody>(res);
      await waitUntilRendering(job.id);
      await service.stop();
      service = await startTestService(config());
      const status = await json<JobStatusBody>(await call('owner', 'GET', `/sites/_status/${job.id}`));
      expect(status.progress).toBe('failed');
      expect(status.error).toMatchObject({ title: 'Service Restarted', 'o:errorCode': 'RENDERCACHE-JOB-RESTARTED' });
      // The site can be refreshed again at once.
      expect((await refresh('owner', 'slow')).status).toBe(202);
    });

    it.runIf(backend.name === 'redis')('carries a job on across a restart: its pages wait in Redis', async () => {
      const res = await refresh('owner', 'slow');
      const job = await json<JobStatusBody>(res);
      await waitUntilRendering(job.id);
      await service.stop();
      service = await startTestService(config());
      const status = await waitForEnd(job.id);
      expect(status).toMatchObject({ progress: 'succeeded', pageCount: 12, completedCount: 12, failedCount: 0 });
    });
  });
});
