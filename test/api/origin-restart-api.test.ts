import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import type { RunningService } from '../../src/service.js';
import { FAKE_ARCGIS_DEPLOYMENT_ID, FAKE_ARCGIS_PASSWORD, FAKE_ARCGIS_USERNAME, startFakeArcgis, type FakeArcgis } from '../fixtures/fake-arcgis.js';
import {
  FAKE_CF_APP_GUID,
  FAKE_CF_CLIENT_ID,
  FAKE_CF_CLIENT_SECRET,
  FAKE_CF_PASSWORD,
  FAKE_CF_USERNAME,
  startFakeCloudFoundry,
  type FakeCloudFoundry,
} from '../fixtures/fake-cloudfoundry.js';
import { startSickOrigin, type SickOrigin } from '../fixtures/sick-origin.js';
import { json } from '../helpers/json.js';
import { managementApi, stepKinds, type JobStatusBody, type ListBody, type PageItemBody } from '../helpers/management-api.js';
import { anyOfType } from '../helpers/matchers.js';
import { waitFor } from '../helpers/wait-for.js';
import { BACKENDS } from '../helpers/backends.js';
import { startTestService } from '../helpers/service.js';

const PASSWORD_ENV = 'RC_TEST_API_ARCGIS_PASSWORD';
const TOKENS = {
  owner: 'restart-owner-token',
  manager: 'restart-manager-token',
  contributor: 'restart-contrib-token',
  viewer: 'restart-viewer-token',
  stranger: 'restart-stranger-token',
} as const;
const MEMBERS = { owner: 'Owner', manager: 'Manager', contributor: 'Contributor', viewer: 'Viewer' };
/** Token values the fakes issue; none may ever be shown or logged. */
const TOKEN_VALUE = /fake-(cf-)?token-\d+-[0-9a-f-]{36}/;

function arcgis(fake: FakeArcgis, extra: Record<string, unknown> = {}) {
  return {
    adapter: 'arcgis-deployment',
    when: 'manual',
    pollIntervalMs: 10,
    deadlineMs: 15_000,
    portalUrl: fake.portalUrl,
    username: FAKE_ARCGIS_USERNAME,
    passwordEnv: PASSWORD_ENV,
    deploymentId: FAKE_ARCGIS_DEPLOYMENT_ID,
    ...extra,
  };
}

function cloudFoundry(fake: FakeCloudFoundry, auth: Record<string, unknown>) {
  return { adapter: 'cloudfoundry-restage', when: 'on-failure', pollIntervalMs: 10, deadlineMs: 15_000, apiUrl: fake.url, appGuid: FAKE_CF_APP_GUID, auth };
}

describe.each(BACKENDS)('POST /sites/{id}/origin/restart on the $name backend', (backend) => {
  let service: RunningService;
  let origin: SickOrigin;
  let gis: FakeArcgis;
  let gisFailing: FakeArcgis;
  let gisSlow: FakeArcgis;
  let cf: FakeCloudFoundry;
  let cfFailing: FakeCloudFoundry;
  const logLines: string[] = [];
  const api = managementApi(() => service, TOKENS);
  const statuses: JobStatusBody[] = [];

  const ended = async (res: Response): Promise<JobStatusBody> => {
    const status = await api.waitForEnd(((await res.json()) as JobStatusBody).id, 'owner');
    statuses.push(status);
    return status;
  };
  const expectError = async (res: Response, status: number, code: string) => {
    expect(res.status).toBe(status);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: String(status), 'o:errorCode': code, title: anyOfType(String), detail: anyOfType(String) });
    return body;
  };

  beforeAll(async () => {
    process.env[PASSWORD_ENV] = FAKE_ARCGIS_PASSWORD;
    origin = await startSickOrigin({ sick: false });
    gis = await startFakeArcgis();
    // A platform that echoes the password in its job messages: it must come out masked.
    gisFailing = await startFakeArcgis({
      jobStatuses: ['SUBMITTED', 'FAILED'],
      jobMessages: [`refresh by ${FAKE_ARCGIS_USERNAME}:${FAKE_ARCGIS_PASSWORD} failed`],
    });
    gisSlow = await startFakeArcgis({ jobStatuses: ['SUBMITTED', 'EXECUTING', 'EXECUTING', 'EXECUTING', 'EXECUTING', 'EXECUTING', 'COMPLETED'] });
    cf = await startFakeCloudFoundry();
    cfFailing = await startFakeCloudFoundry({ stagingResult: 'FAILED' });
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        logLines.push(chunk.toString('utf8'));
        callback();
      },
    });
    const site = (id: string, extra: Record<string, unknown>) => ({
      id,
      name: id,
      origin: `${origin.origin}/${id}/`,
      pages: { urls: ['ok/1'] },
      members: MEMBERS,
      ...extra,
    });
    service = await startTestService(
      {
        ...backend.serviceConfig('restart-api'),
        auth: { tokens: Object.entries(TOKENS).map(([user, token]) => ({ token, user })) },
        api: { rateLimit: { points: 10_000, windowSeconds: 60 } },
        refresh: { retryBackoffMs: 10 },
        sites: [
          site('gis', { restart: arcgis(gis) }),
          site('gis-fails', { restart: arcgis(gisFailing) }),
          site('slow', { restart: arcgis(gisSlow, { when: 'before-refresh', pollIntervalMs: 200 }) }),
          site('cf', { restart: cloudFoundry(cf, { grant: 'client_credentials', clientId: FAKE_CF_CLIENT_ID, clientSecret: FAKE_CF_CLIENT_SECRET }) }),
          site('cf-fails', { restart: cloudFoundry(cfFailing, { grant: 'password', username: FAKE_CF_USERNAME, password: FAKE_CF_PASSWORD }) }),
          site('plain', {}),
          site('offline', { status: 'offline', restart: arcgis(gis) }),
        ],
      },
      { logger: createLogger('debug', sink) },
    );
  });

  afterAll(async () => {
    await service?.stop();
    await Promise.all([origin, gis, gisFailing, gisSlow, cf, cfFailing].map((server) => server?.close()));
    delete process.env[PASSWORD_ENV];
  });

  it('202 with Location; the job shows action "restart", the adapter\'s steps, and succeeds', async () => {
    const res = await api.restart('manager', 'gis');
    expect(res.status).toBe(202);
    const location = res.headers.get('location') ?? '';
    expect(location).toMatch(new RegExp(`^${service.url}/sites/management/api/v1/sites/_status/[A-F0-9]{32}$`));
    const accepted = (await res.clone().json()) as JobStatusBody;
    expect(accepted).toMatchObject({ context: 'gis', action: 'restart', pageCount: 0 });
    expect(location.endsWith(accepted.id)).toBe(true);

    const status = await ended(res);
    expect(status).toMatchObject({ action: 'restart', progress: 'succeeded', completed: true, completedPercentage: 100, pageCount: 0, trigger: 'api' });
    expect(status.error).toBeUndefined();
    expect(stepKinds(status)).toEqual(['token', 'submitted', 'polled', 'polled', 'polled', 'polled', 'polled', 'polled', 'healthy']);
    expect(status.restartSteps?.filter((step) => step.kind === 'polled').map((step) => step.state)).toEqual([
      'SUBMITTED',
      'EXECUTING',
      'COMPLETED',
      'STARTING 0/2',
      'STARTED 1/2',
      'STARTED 2/2',
    ]);
    expect(status.restartSteps?.[1]?.platformJobId).toBe([...gis.state.jobs.keys()][0]);
    expect(gis.state.refreshes).toBe(1);
    // A restart job renders nothing.
    const pages = await json<ListBody<PageItemBody>>(await api.call('viewer', 'GET', `/sites/_status/${status.id}/pages`));
    expect(pages).toMatchObject({ items: [], totalResults: 0 });
    expect(origin.hits.size).toBe(0);
  });

  it('works for any `when` (here on-failure), with Cloud Foundry and an inline client secret', async () => {
    const status = await ended(await api.restart('owner', 'cf'));
    expect(status).toMatchObject({ action: 'restart', progress: 'succeeded' });
    const kinds = stepKinds(status);
    expect(kinds.slice(0, 2)).toEqual(['token', 'submitted']);
    expect(kinds).toContain('polled');
    expect(kinds.at(-1)).toBe('healthy');
    expect(cf.state.restages).toBe(1);
    expect(cf.state.grants).toEqual(['client_credentials']);
  });

  it("ends failed with the adapter's error when the platform job fails, the echoed password masked", async () => {
    const status = await ended(await api.restart('owner', 'gis-fails'));
    expect(status).toMatchObject({ action: 'restart', progress: 'failed', completed: false });
    expect(status.error).toMatchObject({ title: 'ArcGIS job FAILED', 'o:errorCode': 'RENDERCACHE-JOB-ORIGIN-RESTART-FAILED' });
    expect(status.error?.detail).toContain('ended FAILED');
    expect(status.error?.detail).toContain(`refresh by ${FAKE_ARCGIS_USERNAME}:*** failed`);
    expect(stepKinds(status).at(-1)).toBe('failed');
  });

  it('ends failed when Cloud Foundry staging fails', async () => {
    const status = await ended(await api.restart('owner', 'cf-fails'));
    expect(status).toMatchObject({ action: 'restart', progress: 'failed' });
    expect(status.error?.title).toBe('Cloud Foundry staging failed');
    expect(status.error?.detail).toMatch(/StagingError/);
    // The site is free again afterwards.
    expect((await api.restart('owner', 'cf-fails')).status).toBe(202);
  });

  it('answers 401, 403, 404, 400 and 409 as POST refresh does', async () => {
    await expectError(await api.call(null, 'POST', '/sites/gis/origin/restart', { headers: { prefer: 'respond-async' } }), 401, 'RENDERCACHE-401');
    for (const who of ['viewer', 'contributor']) {
      const body = await expectError(await api.restart(who, 'gis'), 403, 'OCE-SITEMGMT-009026');
      expect(body.site).toEqual({ id: 'gis' });
    }
    await expectError(await api.restart('stranger', 'gis'), 404, 'OCE-SITEMGMT-009003');
    await expectError(await api.restart('owner', 'nosuchsite'), 404, 'OCE-SITEMGMT-009003');
    const async = await expectError(await api.call('owner', 'POST', '/sites/gis/origin/restart'), 400, 'OCE-SITEMGMT-009001');
    expect(async.title).toBe('Asynchronous Processing Required');
    await expectError(
      await api.call('owner', 'POST', '/sites/gis/origin/restart', {
        headers: { prefer: 'respond-async', 'content-type': 'application/json' },
        body: JSON.stringify({ pages: ['/x'] }),
      }),
      400,
      'RENDERCACHE-400',
    );
    await expectError(await api.restart('owner', 'offline'), 409, 'OCE-SITEMGMT-009013');
    const plain = await expectError(await api.restart('owner', 'name:plain'), 409, 'RENDERCACHE-RESTART-409');
    expect(plain).toMatchObject({ title: 'Origin Restart Not Configured', site: { id: 'plain' } });
    // None of these started anything on the platform.
    expect(gis.state.refreshes).toBe(1);
  });

  it('409 while another job holds the site, either way round; a refresh during a refresh still answers that refresh', async () => {
    const restart = await api.restart('owner', 'slow');
    expect(restart.status).toBe(202);
    const restartJob = (await restart.clone().json()) as JobStatusBody;
    const again = await expectError(await api.restart('owner', 'slow'), 409, 'RENDERCACHE-SITE-BUSY-409');
    expect(again).toMatchObject({ title: 'Site Job Running', site: { id: 'slow' }, job: { id: restartJob.id, action: 'restart' } });
    const refreshMeanwhile = await expectError(await api.refresh('owner', 'slow'), 409, 'RENDERCACHE-SITE-BUSY-409');
    expect(refreshMeanwhile.job).toMatchObject({ id: restartJob.id, action: 'restart', href: restart.headers.get('location') });
    expect((await ended(restart)).progress).toBe('succeeded');

    // A refresh restarting its origin first (before-refresh) holds the site too.
    const refresh = await api.refresh('owner', 'slow');
    expect(refresh.status).toBe(202);
    const refreshJob = (await refresh.clone().json()) as JobStatusBody;
    const restartMeanwhile = await expectError(await api.restart('owner', 'slow'), 409, 'RENDERCACHE-SITE-BUSY-409');
    expect(restartMeanwhile.job).toMatchObject({ id: refreshJob.id, action: 'refresh' });
    const secondRefresh = await api.refresh('owner', 'slow');
    expect(secondRefresh.status).toBe(202);
    expect(secondRefresh.headers.get('location')).toBe(refresh.headers.get('location'));
    const status = await ended(refresh);
    expect(status).toMatchObject({ action: 'refresh', progress: 'succeeded', pageCount: 1, completedCount: 1 });
    expect(stepKinds(status).at(-1)).toBe('healthy');
    expect(gisSlow.state.refreshes).toBe(2);
  });

  it('a restart job can be cancelled; the site is free at once', async () => {
    const res = await api.restart('owner', 'slow');
    const job = (await res.json()) as JobStatusBody;
    await waitFor('the restart under way', async () => (await api.jobStatus(job.id, 'owner')).progress === 'processing', 10_000);
    const cancelled = await api.call('manager', 'DELETE', `/sites/_status/${job.id}`);
    expect(cancelled.status).toBe(200);
    expect(((await cancelled.json()) as JobStatusBody).progress).toBe('aborted');
    const next = await api.restart('owner', 'slow');
    expect(next.status).toBe(202);
    expect((await ended(next)).progress).toBe('succeeded');
    // The cancelled job stays aborted, whatever its restart did afterwards.
    const after = (await (await api.call('owner', 'GET', `/sites/_status/${job.id}`)).json()) as JobStatusBody;
    expect(after.progress).toBe('aborted');
  });

  it('never shows or logs a password, a client secret or a token', async () => {
    expect(statuses.length).toBeGreaterThanOrEqual(6);
    const site = await (await api.call('owner', 'GET', '/sites/cf')).text();
    const shown = JSON.stringify(statuses) + site;
    const logs = logLines.join('');
    // The logs did record the restarts (so there was something to leak).
    expect(logs).toContain('origin restart started');
    expect(logs).toContain('"step":"token"');
    for (const secret of [FAKE_ARCGIS_PASSWORD, FAKE_CF_CLIENT_SECRET, FAKE_CF_PASSWORD, encodeURIComponent(FAKE_ARCGIS_PASSWORD)]) {
      expect(shown).not.toContain(secret);
      expect(logs).not.toContain(secret);
    }
    expect(shown).not.toMatch(TOKEN_VALUE);
    expect(logs).not.toMatch(TOKEN_VALUE);
    expect(site).not.toContain('restart');
  });
});
