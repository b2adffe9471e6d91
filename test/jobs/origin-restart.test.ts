import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import type { RunningService } from '../../src/service.js';
import { FAKE_ARCGIS_DEPLOYMENT_ID, FAKE_ARCGIS_PASSWORD, FAKE_ARCGIS_USERNAME, startFakeArcgis, type FakeArcgis } from '../fixtures/fake-arcgis.js';
import { FAKE_CF_APP_GUID, FAKE_CF_CLIENT_ID, FAKE_CF_CLIENT_SECRET, startFakeCloudFoundry, type FakeCloudFoundry } from '../fixtures/fake-cloudfoundry.js';
import { startSickOrigin, type SickOrigin } from '../fixtures/sick-origin.js';
import { managementApi, stepKinds, type JobStatusBody } from '../helpers/management-api.js';
import { BACKENDS, REDIS } from '../helpers/backends.js';
import { lookupUrl, startTestService } from '../helpers/service.js';

const PASSWORD_ENV = 'RC_TEST_JOBS_ARCGIS_PASSWORD';
const CLIENT_SECRET_ENV = 'RC_TEST_JOBS_CF_CLIENT_SECRET';
const TOKENS = { owner: 'restart-jobs-owner-token' };

function arcgisBlock(fake: FakeArcgis, extra: Record<string, unknown> = {}) {
  return {
    adapter: 'arcgis-deployment',
    when: 'on-failure',
    pollIntervalMs: 10,
    deadlineMs: 15_000,
    portalUrl: fake.portalUrl,
    username: FAKE_ARCGIS_USERNAME,
    passwordEnv: PASSWORD_ENV,
    deploymentId: FAKE_ARCGIS_DEPLOYMENT_ID,
    ...extra,
  };
}

function cloudFoundryBlock(fake: FakeCloudFoundry, extra: Record<string, unknown> = {}) {
  return {
    adapter: 'cloudfoundry-restage',
    when: 'before-refresh',
    pollIntervalMs: 10,
    deadlineMs: 15_000,
    apiUrl: fake.url,
    appGuid: FAKE_CF_APP_GUID,
    auth: { grant: 'client_credentials', clientId: FAKE_CF_CLIENT_ID, clientSecretEnv: CLIENT_SECRET_ENV },
    ...extra,
  };
}

const site = (id: string, origin: string, urls: string[], restart?: Record<string, unknown>) => ({
  id,
  name: id,
  origin,
  pages: { urls },
  members: { owner: 'Owner' },
  ...(restart ? { restart } : {}),
});

describe('site restart blocks at config load', () => {
  const load = (restart: Record<string, unknown>) => parseConfig({ sites: [site('maps', 'https://maps.example.com', ['/'], restart)] });
  const arcgis = {
    adapter: 'arcgis-deployment',
    when: 'on-failure',
    portalUrl: 'https://gis.example.com/portal',
    username: 'admin',
    passwordEnv: 'ARCGIS_PASSWORD',
    deploymentId: 'kvyxph9w5h3o9vgk8dixn',
  };

  it('accepts a good block of each adapter, with the defaults applied', () => {
    expect(load(arcgis).sites[0]?.restart).toMatchObject({ adapter: 'arcgis-deployment', failureThresholdPercent: 50, async: true, waitForStatus: true });
    const { deploymentId: _deploymentId, ...allServices } = arcgis;
    expect(load({ ...allServices, adapter: 'arcgis-all-services', when: 'manual' }).sites[0]?.restart).toMatchObject({
      adapter: 'arcgis-all-services',
      when: 'manual',
    });
    const cf = { adapter: 'cloudfoundry-restage', when: 'before-refresh', apiUrl: 'https://api.sys.example.com', appGuid: FAKE_CF_APP_GUID };
    expect(load({ ...cf, auth: { grant: 'password', username: 'u', passwordEnv: 'CF_PASSWORD' } }).sites[0]?.restart).toMatchObject({ mode: 'v2-restage' });
    expect(
      load({ ...cf, mode: 'v3-rolling', auth: { grant: 'client_credentials', clientId: 'c', clientSecret: 'inline-secret' } }).sites[0]?.restart,
    ).toMatchObject({ mode: 'v3-rolling', auth: { clientSecret: 'inline-secret' } });
    // No block at all: no restart.
    expect(parseConfig({ sites: [site('plain', 'https://p.example.com', ['/'])] }).sites[0]?.restart).toBeUndefined();
  });

  it('stops start-up on a bad block, naming the field and never the secret', () => {
    const { deploymentId: _deploymentId, ...withoutId } = arcgis;
    expect(() => load(withoutId)).toThrow(ConfigError);
    expect(() => load(withoutId)).toThrow(/sites\[0\]\.restart\.deploymentId: /);
    expect(() => load({ ...arcgis, when: 'sometimes' })).toThrow(/sites\[0\]\.restart\.when: /);
    expect(() => load({ ...arcgis, failureThresholdPercent: 150 })).toThrow(/sites\[0\]\.restart\.failureThresholdPercent: /);
    expect(() => load({ ...arcgis, portalUrl: 'http://gis.example.com/portal' })).toThrow(/sites\[0\]\.restart\.portalUrl: must use https/);
    expect(() => load({ ...arcgis, deploymentTypo: 'x' })).toThrow(/sites\[0\]\.restart: Unrecognized key: "deploymentTypo"/);
    let message = '';
    try {
      load({ ...arcgis, password: 'Inline-Pa55word-Value' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/sites\[0\]\.restart\.password: give either password or passwordEnv, not both/);
    expect(message).not.toContain('Inline-Pa55word-Value');
  });

  it('names the known adapters when the adapter is unknown', () => {
    expect(() => load({ ...arcgis, adapter: 'heroku-restart' })).toThrow(
      /sites\[0\]\.restart\.adapter: unknown restart adapter "heroku-restart"; known adapters: arcgis-all-services, arcgis-deployment, cloudfoundry-restage/,
    );
  });
});

describe.each(BACKENDS)('origin restarts in refresh jobs on the $name backend', (backend) => {
  let service: RunningService;
  const api = managementApi(() => service, TOKENS);
  const origins: SickOrigin[] = [];
  const platforms: Array<FakeArcgis | FakeCloudFoundry> = [];
  // The end-to-end case: an origin answering 503 until the platform's restart completes.
  let sick: SickOrigin;
  let healer: FakeArcgis;
  // Failures under the threshold, and failures that are not the origin's.
  let partlySick: SickOrigin;
  let sickAtThreshold: SickOrigin;
  let notOriginSide: SickOrigin;
  let untouched: FakeArcgis;
  let atThreshold: FakeArcgis;
  // before-refresh.
  let healthy: SickOrigin;
  let healthyToo: SickOrigin;
  let restager: FakeCloudFoundry;
  let hitsWhenRestaged = -1;
  let failingPlatform: FakeArcgis;

  const origin = async (options: { sick?: boolean } = {}) => {
    const started = await startSickOrigin(options);
    origins.push(started);
    return started;
  };
  const totalHits = (o: SickOrigin) => [...o.hits.values()].reduce((a, b) => a + b, 0);

  beforeAll(async () => {
    process.env[PASSWORD_ENV] = FAKE_ARCGIS_PASSWORD;
    process.env[CLIENT_SECRET_ENV] = FAKE_CF_CLIENT_SECRET;
    sick = await origin();
    partlySick = await origin();
    sickAtThreshold = await origin();
    notOriginSide = await origin();
    healthy = await origin({ sick: false });
    healthyToo = await origin({ sick: false });
    healer = await startFakeArcgis({ onRestarted: () => sick.heal() });
    untouched = await startFakeArcgis();
    atThreshold = await startFakeArcgis();
    restager = await startFakeCloudFoundry({
      onRestarted: () => {
        hitsWhenRestaged = totalHits(healthy);
      },
    });
    failingPlatform = await startFakeArcgis({ jobStatuses: ['SUBMITTED', 'EXECUTING', 'FAILED'], jobMessages: ['Pod web-0 failed readiness probe'] });
    platforms.push(healer, untouched, atThreshold, restager, failingPlatform);
    service = await startTestService({
      ...backend.serviceConfig('restart-jobs'),
      auth: { tokens: [{ token: TOKENS.owner, user: 'owner' }] },
      api: { rateLimit: { points: 10_000, windowSeconds: 60 } },
      refresh: { retryBackoffMs: 10, maxAttempts: 2, siteConcurrency: 4 },
      sites: [
        site('sick', sick.origin, ['/p/1', '/p/2', '/p/3', '/p/4', '/p/5', '/p/6'], arcgisBlock(healer, { failureThresholdPercent: 50 })),
        site('partly', partlySick.origin, ['/p/1', '/ok/1', '/ok/2', '/ok/3'], arcgisBlock(untouched, { failureThresholdPercent: 50 })),
        site('at-threshold', sickAtThreshold.origin, ['/p/x', '/ok/a', '/ok/b', '/ok/c'], arcgisBlock(atThreshold, { failureThresholdPercent: 25 })),
        site('not-origin-side', notOriginSide.origin, ['/away/1', '/empty/1', '/missing/1'], arcgisBlock(untouched, { failureThresholdPercent: 10 })),
        site('before', healthy.origin, ['/ok/1', '/ok/2', '/ok/3'], cloudFoundryBlock(restager)),
        site('before-fails', healthyToo.origin, ['/ok/1', '/ok/2'], arcgisBlock(failingPlatform, { when: 'before-refresh' })),
      ],
    });
  });

  afterAll(async () => {
    await service?.stop();
    await Promise.all([...origins, ...platforms].map((server) => server.close()));
    delete process.env[PASSWORD_ENV];
    delete process.env[CLIENT_SECRET_ENV];
  });

  async function refreshToEnd(siteId: string): Promise<JobStatusBody> {
    const res = await api.refresh('owner', siteId);
    expect(res.status).toBe(202);
    return api.waitForEnd(((await res.json()) as JobStatusBody).id, 'owner');
  }

  it('on-failure: an origin answering 503 is restarted, its failed pages render again in the same job, and it succeeds', async () => {
    const status = await refreshToEnd('sick');

    expect(status).toMatchObject({ action: 'refresh', progress: 'succeeded', completed: true, pageCount: 6, completedCount: 6, failedCount: 0 });
    expect(status.error).toBeUndefined();
    expect(healer.state.refreshes).toBe(1);
    expect(sick.sick).toBe(false);
    const kinds = stepKinds(status);
    expect(kinds.slice(0, 2)).toEqual(['token', 'submitted']);
    expect(kinds).toContain('polled');
    expect(kinds.slice(-2)).toEqual(['healthy', 'pages-requeued']);
    expect(status.restartSteps?.at(-1)?.detail).toContain('6 failed pages set back to pending');
    // Every page failed twice (maxAttempts) while sick, then rendered once after the restart.
    for (let n = 1; n <= 6; n++) expect(sick.hits.get(`/p/${n}`)).toBe(3);
    for (let n = 1; n <= 6; n++) {
      const lookup = await fetch(lookupUrl(service, `${sick.origin}/p/${n}`), { headers: { 'user-agent': 'Googlebot/2.1' } });
      expect(lookup.status).toBe(200);
      expect(lookup.headers.get('x-rendercache-cache')).toBe('hit');
      expect(await lookup.text()).toContain(`page ${n}`);
    }
    const pages = (await (await api.call('owner', 'GET', `/sites/_status/${status.id}/pages`)).json()) as {
      items: Array<{ status: string; httpStatus: number }>;
    };
    expect(pages.items.map((page) => `${page.status} ${page.httpStatus}`)).toEqual(Array(6).fill('complete 200'));
  });

  it('on-failure: no restart while origin-side failures stay below the threshold', async () => {
    const status = await refreshToEnd('partly');
    expect(status).toMatchObject({ progress: 'failed', pageCount: 4, completedCount: 3, failedCount: 1 });
    expect(status.error?.title).toBe('Pages Failed');
    expect(status.restartSteps).toBeUndefined();
    expect(untouched.calls).toHaveLength(0);
  });

  it('on-failure: the same share of failures at the threshold does restart (then ends by the failure rule)', async () => {
    const status = await refreshToEnd('at-threshold');
    expect(atThreshold.state.refreshes).toBe(1);
    expect(stepKinds(status)).toContain('healthy');
    expect(stepKinds(status).at(-1)).toBe('pages-requeued');
    // The origin is still sick after this restart: the page fails again, and the job fails.
    expect(status).toMatchObject({ progress: 'failed', pageCount: 4, completedCount: 3, failedCount: 1 });
    expect(sickAtThreshold.hits.get('/p/x')).toBe(4);
  });

  it("on-failure: no restart for failures that are not the origin's (navigation refused, empty page; a 404 is no failure)", async () => {
    const status = await refreshToEnd('not-origin-side');
    expect(status).toMatchObject({ progress: 'failed', pageCount: 3, completedCount: 1, failedCount: 2 });
    expect(status.restartSteps).toBeUndefined();
    expect(untouched.calls).toHaveLength(0);
    const failed = (await (await api.call('owner', 'GET', `/sites/_status/${status.id}/pages`)).json()) as {
      items: Array<{ pageUrl: string; status: string; httpStatus: number | null; error?: { title: string } }>;
    };
    expect(failed.items.map((page) => [page.pageUrl.replace(notOriginSide.origin, ''), page.status, page.httpStatus ?? page.error?.title])).toEqual([
      ['/away/1', 'failed', 'Navigation Refused'],
      ['/empty/1', 'failed', 'Empty Page'],
      ['/missing/1', 'complete', 404],
    ]);
  });

  it('before-refresh: the origin is restarted first, then its pages are rendered', async () => {
    const status = await refreshToEnd('before');
    expect(status).toMatchObject({ action: 'refresh', progress: 'succeeded', pageCount: 3, completedCount: 3 });
    expect(restager.state.restages).toBe(1);
    const kinds = stepKinds(status);
    expect(kinds[0]).toBe('token');
    expect(kinds).toContain('submitted');
    expect(kinds.at(-1)).toBe('healthy');
    expect(kinds).not.toContain('pages-requeued');
    // Not a page was fetched before the platform reported the app running again.
    expect(hitsWhenRestaged).toBe(0);
    expect(totalHits(healthy)).toBeGreaterThanOrEqual(3);
    const pages = (await (await api.call('owner', 'GET', `/sites/_status/${status.id}/pages`)).json()) as { items: Array<{ renderedAt: string }> };
    const restartedAt = Date.parse(status.restartSteps?.at(-1)?.at ?? '');
    for (const page of pages.items) expect(Date.parse(page.renderedAt)).toBeGreaterThanOrEqual(restartedAt);
  });

  it("before-refresh: when the restart fails, the job fails with the adapter's reason and renders nothing", async () => {
    const status = await refreshToEnd('before-fails');
    expect(status).toMatchObject({ action: 'refresh', progress: 'failed', completed: false, pageCount: 0 });
    expect(status.error).toMatchObject({ title: 'Origin Restart Failed', 'o:errorCode': 'RENDERCACHE-JOB-ORIGIN-RESTART-FAILED' });
    expect(status.error?.detail).toContain('ArcGIS job FAILED');
    expect(status.error?.detail).toContain('Pod web-0 failed readiness probe');
    expect(stepKinds(status).at(-1)).toBe('failed');
    expect(totalHits(healthyToo)).toBe(0);
    // The site is free again: the next refresh starts (and fails the same way).
    expect((await api.refresh('owner', 'before-fails')).status).toBe(202);
  });
});

describe('on-failure restart with two instances sharing one Redis', () => {
  let a: RunningService;
  let b: RunningService;
  let sick: SickOrigin;
  let healer: FakeArcgis;
  const PAGES = 16;

  beforeAll(async () => {
    process.env[PASSWORD_ENV] = FAKE_ARCGIS_PASSWORD;
    sick = await startSickOrigin();
    healer = await startFakeArcgis({ onRestarted: () => sick.heal() });
    const config = {
      ...REDIS.serviceConfig('restart-two'),
      auth: { tokens: [{ token: TOKENS.owner, user: 'owner' }] },
      render: { concurrency: 3 },
      refresh: { retryBackoffMs: 10, maxAttempts: 2 },
      sites: [
        site(
          'sick',
          sick.origin,
          Array.from({ length: PAGES }, (_, n) => `/p/${n}`),
          arcgisBlock(healer),
        ),
      ],
    };
    [a, b] = await Promise.all([startTestService(config), startTestService(config)]);
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await Promise.all([sick?.close(), healer?.close()]);
    delete process.env[PASSWORD_ENV];
  });

  it('restarts the origin once, whichever instances finish the last pages, and the job succeeds', async () => {
    const api = managementApi(() => a, TOKENS);
    const res = await api.refresh('owner', 'sick');
    expect(res.status).toBe(202);
    const status = await managementApi(() => b, TOKENS).waitForEnd(((await res.json()) as JobStatusBody).id, 'owner');
    expect(status).toMatchObject({ progress: 'succeeded', pageCount: PAGES, completedCount: PAGES, failedCount: 0 });
    expect(healer.state.refreshes).toBe(1);
    expect(stepKinds(status).filter((kind) => kind === 'healthy')).toHaveLength(1);
    expect(stepKinds(status).at(-1)).toBe('pages-requeued');
    for (let n = 0; n < PAGES; n++) expect(sick.hits.get(`/p/${n}`)).toBe(3);
  });
});
