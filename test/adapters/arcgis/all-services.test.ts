import { describe, expect, it } from 'vitest';
import { parseRestartConfig, runRestart } from '../../../src/adapters/index.js';
import { FAKE_ARCGIS_PASSWORD, FAKE_ARCGIS_USERNAME, startFakeArcgis, type FakeArcgis, type FakeUrls } from '../../fixtures/fake-arcgis.js';
import { expectOk, failureOf, fakePerTest, kinds, polledStates, recordingContext } from '../helpers.js';
import { stringContaining } from '../../helpers/matchers.js';

const start = fakePerTest(startFakeArcgis);

function config(server: FakeArcgis, extra: Record<string, unknown> = {}) {
  return parseRestartConfig({
    adapter: 'arcgis-all-services',
    when: 'manual',
    pollIntervalMs: 10,
    deadlineMs: 5_000,
    portalUrl: server.portalUrl,
    username: FAKE_ARCGIS_USERNAME,
    password: FAKE_ARCGIS_PASSWORD,
    ...extra,
  });
}

describe('arcgis-all-services', () => {
  it('submits refreshAllServices ({jobid, status}) and polls jobsUrl as given until COMPLETED', async () => {
    const server = await start();
    const result = await runRestart(config(server, { referer: 'https://rendercache.example.com', tokenExpirationMinutes: 15 }), recordingContext().ctx);

    expectOk(result);
    const [tokenCall, submit, ...polls] = server.calls;
    expect(tokenCall?.form).toMatchObject({ client: 'referer', referer: 'https://rendercache.example.com', expiration: '15' });
    expect(submit).toMatchObject({ method: 'POST', path: '/arcgis/admin/services/refreshAllServices', form: { f: 'json' }, tokenNo: 1 });
    // The documented jobsUrl of this operation has no /admin segment: we poll exactly what was given.
    const jobId = [...server.state.jobs.keys()][0] ?? '';
    expect(polls.map((call) => call.path)).toEqual([`/arcgis/jobs/${jobId}`, `/arcgis/jobs/${jobId}`, `/arcgis/jobs/${jobId}`]);
    for (const call of server.calls) expect(call.referer).toBe('https://rendercache.example.com');
    expect(kinds(result.steps)).toEqual(['token', 'submitted', 'polled', 'polled', 'polled', 'healthy']);
    expect(result.steps[1]).toMatchObject({ platformJobId: jobId, state: 'SUBMITTED' });
    expect(polledStates(result.steps)).toEqual(['SUBMITTED', 'EXECUTING', 'COMPLETED']);
    expect(result.steps.filter((step) => step.kind === 'polled').every((step) => step.platformJobId === jobId)).toBe(true);
    expect(server.state.restartCompleted).toBe(true);
  });

  it('also accepts the deployment spelling {jobID, jobStatus} in the submission', async () => {
    const server = await start({
      overrides: [
        {
          path: '/refreshAllServices',
          body: ({ portalUrl }: FakeUrls) => ({ jobsUrl: `${portalUrl}/admin/jobs/jmanual`, jobID: 'jmanual', jobStatus: 'SUBMITTED' }),
        },
      ],
    });
    server.state.jobs.set('jmanual', { id: 'jmanual', kind: 'all-services', polls: 0, status: 'SUBMITTED' });
    const result = await runRestart(config(server), recordingContext().ctx);

    expectOk(result);
    expect(result.steps.find((step) => step.kind === 'submitted')).toMatchObject({ platformJobId: 'jmanual', state: 'SUBMITTED' });
    expect(server.callsTo('/admin/jobs/jmanual')).toHaveLength(3);
  });

  it('fails with the job messages when refreshAllServices ends FAILED', async () => {
    const server = await start({ jobStatuses: ['EXECUTING', 'FAILED'], jobMessages: ['3 of 41 services did not restart'] });
    const result = await runRestart(config(server), recordingContext().ctx);

    const error = failureOf(result);
    expect(error).toMatchObject({ code: 'job-failed', title: 'ArcGIS job FAILED' });
    expect(error.detail).toContain('3 of 41 services did not restart');
  });

  it('reports a portal without refreshAllServices (HTTP-200 {"status":"error"})', async () => {
    const server = await start({ allServicesSupported: false });
    const result = await runRestart(config(server), recordingContext().ctx);

    const error = failureOf(result);
    expect(error.code).toBe('platform');
    expect(error.detail).toContain("error 404: Could not find resource or operation 'refreshAllServices' on the system.");
  });

  it('retries a rate-limited submission after Retry-After without submitting twice', async () => {
    const server = await start({ rateLimitOnce: '/refreshAllServices' });
    const recording = recordingContext({ maxRealSleepMs: 5 });
    const result = await runRestart(config(server), recording.ctx);

    expectOk(result);
    expect(server.callsTo('/refreshAllServices').map((call) => [call.status, call.errorCode])).toEqual([
      [429, 429],
      [200, undefined],
    ]);
    expect(server.state.jobs.size).toBe(1);
    expect(recording.sleeps[0]).toBe(1_000);
  });

  it('reports an HTML answer (no f=json honoured, e.g. a proxy page) as an unexpected response', async () => {
    const server = await start({ overrides: [{ path: '/refreshAllServices', body: '<html>Sign in</html>' }] });
    const result = await runRestart(config(server), recordingContext().ctx);

    expect(failureOf(result)).toMatchObject({ code: 'unexpected-response', detail: stringContaining('refreshAllServices') });
  });
});
