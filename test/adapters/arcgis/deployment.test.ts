import { describe, expect, it } from 'vitest';
import { parseRestartConfig, runRestart } from '../../../src/adapters/index.js';
import { FAKE_ARCGIS_DEPLOYMENT_ID, FAKE_ARCGIS_PASSWORD, FAKE_ARCGIS_USERNAME, startFakeArcgis, type FakeArcgis } from '../../fixtures/fake-arcgis.js';
import { expectOk, failureOf, fakePerTest, kinds, polledStates, recordingContext } from '../helpers.js';
import { stringContaining } from '../../helpers/matchers.js';

const start = fakePerTest(startFakeArcgis);

function config(server: FakeArcgis, extra: Record<string, unknown> = {}) {
  return parseRestartConfig({
    adapter: 'arcgis-deployment',
    when: 'before-refresh',
    pollIntervalMs: 10,
    deadlineMs: 5_000,
    portalUrl: server.portalUrl,
    username: FAKE_ARCGIS_USERNAME,
    password: FAKE_ARCGIS_PASSWORD,
    deploymentId: FAKE_ARCGIS_DEPLOYMENT_ID,
    ...extra,
  });
}

describe('arcgis-deployment', () => {
  it('submits an async refresh, polls the job to COMPLETED, then waits for every replica', async () => {
    const server = await start();
    const recording = recordingContext();
    const result = await runRestart(config(server), recording.ctx);

    expectOk(result);
    expect(server.state.restartCompleted).toBe(true);
    const paths = server.calls.map((call) => `${call.method} ${call.path.replace(/j[0-9a-f-]{36}$/, '{job}')}`);
    expect(paths).toEqual([
      'POST /arcgis/sharing/rest/generateToken',
      `POST /arcgis/admin/system/deployments/${FAKE_ARCGIS_DEPLOYMENT_ID}/refresh`,
      'GET /arcgis/admin/jobs/{job}',
      'GET /arcgis/admin/jobs/{job}',
      'GET /arcgis/admin/jobs/{job}',
      `GET /arcgis/admin/system/deployments/${FAKE_ARCGIS_DEPLOYMENT_ID}/status`,
      `GET /arcgis/admin/system/deployments/${FAKE_ARCGIS_DEPLOYMENT_ID}/status`,
      `GET /arcgis/admin/system/deployments/${FAKE_ARCGIS_DEPLOYMENT_ID}/status`,
    ]);
    const [tokenCall, refreshCall] = server.calls;
    expect(tokenCall?.form).toEqual({
      username: FAKE_ARCGIS_USERNAME,
      client: 'referer',
      referer: server.portalUrl,
      expiration: '60',
      f: 'json',
    });
    expect(refreshCall?.form).toEqual({ async: 'true', f: 'json' });
    // Every admin call carried the one valid token (POST body, GET query) and the bound referer.
    for (const call of server.calls.slice(1)) {
      expect(call.tokenNo).toBe(1);
      expect(call.referer).toBe(server.portalUrl);
      expect(call.errorCode).toBeUndefined();
    }
    for (const call of server.calls.filter((c) => c.method === 'GET')) expect(call.query).toEqual({ f: 'json' });

    const jobId = [...server.state.jobs.keys()][0];
    expect(kinds(result.steps)).toEqual(['token', 'submitted', 'polled', 'polled', 'polled', 'polled', 'polled', 'polled', 'healthy']);
    expect(result.steps[1]).toMatchObject({ kind: 'submitted', platformJobId: jobId, state: 'SUBMITTED' });
    expect(polledStates(result.steps)).toEqual(['SUBMITTED', 'EXECUTING', 'COMPLETED', 'STARTING 0/2', 'STARTED 1/2', 'STARTED 2/2']);
    expect(result.steps.at(-1)?.detail).toContain('2/2 replicas ready');
    expect(recording.steps).toEqual(result.steps);
    for (const step of result.steps) expect(Date.parse(step.at)).not.toBeNaN();
  });

  it('refreshes synchronously when async is false ({"status":"success"}) and needs no job', async () => {
    const server = await start();
    const result = await runRestart(config(server, { async: false }), recordingContext().ctx);

    expectOk(result);
    const refresh = server.callsTo('/refresh');
    expect(refresh).toHaveLength(1);
    expect(refresh[0]?.form).toEqual({ async: 'false', f: 'json' });
    expect(server.calls.some((call) => call.path.includes('/jobs/'))).toBe(false);
    expect(server.callsTo('/status')).toHaveLength(3);
    expect(result.steps.find((step) => step.kind === 'submitted')).toMatchObject({ state: 'success' });
  });

  it('skips the status wait when waitForStatus is false', async () => {
    const server = await start();
    const result = await runRestart(config(server, { waitForStatus: false }), recordingContext().ctx);

    expectOk(result);
    expect(server.callsTo('/status')).toHaveLength(0);
    expect(result.steps.at(-1)).toMatchObject({ kind: 'healthy', detail: `deployment ${FAKE_ARCGIS_DEPLOYMENT_ID} refreshed` });
  });

  it('waits while the deployment is STARTED but not every replica is ready', async () => {
    const server = await start({
      statusSequence: [
        { currentState: 'STARTED', readyReplicas: 0 },
        { currentState: 'STARTED', readyReplicas: 1 },
        { currentState: 'STARTED', readyReplicas: 1 },
        { currentState: 'STARTED', readyReplicas: 2 },
      ],
    });
    const result = await runRestart(config(server), recordingContext().ctx);

    expectOk(result);
    expect(server.callsTo('/status')).toHaveLength(4);
    expect(polledStates(result.steps).slice(-3)).toEqual(['STARTED 0/2', 'STARTED 1/2', 'STARTED 2/2']);
  });

  it('fails with the job messages when the job ends FAILED, and does not wait for replicas', async () => {
    const server = await start({ jobStatuses: ['SUBMITTED', 'EXECUTING', 'FAILED'], jobMessages: ['Pod web-0 failed readiness probe'] });
    const result = await runRestart(config(server), recordingContext().ctx);

    const error = failureOf(result);
    expect(error.code).toBe('job-failed');
    expect(error.title).toBe('ArcGIS job FAILED');
    expect(error.detail).toContain('ended FAILED');
    expect(error.detail).toContain('Pod web-0 failed readiness probe');
    expect(server.callsTo('/status')).toHaveLength(0);
    expect(result.steps.at(-1)?.kind).toBe('failed');
    expect(server.state.restartCompleted).toBe(false);
  });

  it('fails when the job is CANCELLED (after CANCELLING)', async () => {
    const server = await start({ jobStatuses: ['EXECUTING', 'CANCELLING', 'CANCELLED'] });
    const result = await runRestart(config(server), recordingContext().ctx);

    const error = failureOf(result);
    expect(error).toMatchObject({ code: 'job-failed', title: 'ArcGIS job CANCELLED' });
    expect(polledStates(result.steps)).toEqual(['EXECUTING', 'CANCELLING']);
  });

  it('keeps polling through UNAVAILABLE (the job record is temporarily unreadable)', async () => {
    const server = await start({ jobStatuses: ['EXECUTING', 'UNAVAILABLE', 'UNAVAILABLE', 'COMPLETED'] });
    const result = await runRestart(config(server, { waitForStatus: false }), recordingContext().ctx);

    expectOk(result);
    expect(polledStates(result.steps)).toEqual(['EXECUTING', 'UNAVAILABLE', 'COMPLETED']);
    expect(server.calls.filter((call) => call.path.includes('/jobs/'))).toHaveLength(4);
  });

  it('ends in a deadline error naming the state when the replicas never all become ready', async () => {
    const server = await start({ statusSequence: [{ currentState: 'STARTED', readyReplicas: 1 }] });
    const startedAt = Date.now();
    const result = await runRestart(config(server, { deadlineMs: 300 }), recordingContext().ctx);

    const error = failureOf(result);
    expect(error.code).toBe('deadline');
    expect(error.detail).toContain('within 300 ms');
    expect(error.detail).toContain('1/2 replicas ready');
    expect(Date.now() - startedAt).toBeLessThan(2_000);
  });

  it('answers an unknown deployment id with the platform error from the HTTP-200 body', async () => {
    const server = await start();
    const result = await runRestart(config(server, { deploymentId: 'no-such-deployment' }), recordingContext().ctx);

    const error = failureOf(result);
    expect(error.code).toBe('platform');
    expect(error.detail).toContain("error 404: Deployment 'no-such-deployment' does not exist.");
    expect(server.callsTo('/refresh')[0]).toMatchObject({ status: 200, errorCode: 404 });
    expect(server.state.jobs.size).toBe(0);
  });

  it('reads the password from the environment variable named by passwordEnv', async () => {
    const server = await start();
    const { password: _password, ...rest } = config(server);
    const withEnv = parseRestartConfig({ ...rest, passwordEnv: 'ARCGIS_ADMIN_PASSWORD', waitForStatus: false });
    const result = await runRestart(withEnv, recordingContext({ env: { ARCGIS_ADMIN_PASSWORD: FAKE_ARCGIS_PASSWORD } }).ctx);

    expectOk(result);
    expect(server.state.tokensIssued).toBe(1);
  });

  it('fails before calling the platform when the passwordEnv variable is not set', async () => {
    const server = await start();
    const { password: _password, ...rest } = config(server);
    const withEnv = parseRestartConfig({ ...rest, passwordEnv: 'ARCGIS_ADMIN_PASSWORD' });
    const result = await runRestart(withEnv, recordingContext({ env: {} }).ctx);

    expect(failureOf(result)).toMatchObject({ code: 'credentials', detail: stringContaining('ARCGIS_ADMIN_PASSWORD') });
    expect(server.calls).toHaveLength(0);
  });

  it('reports a sign-in failure for a wrong password (HTTP-200 error 400 from generateToken)', async () => {
    const server = await start();
    const result = await runRestart(config(server, { password: 'wrong-password-123' }), recordingContext().ctx);

    const error = failureOf(result);
    expect(error).toMatchObject({ code: 'auth', title: 'ArcGIS sign-in failed' });
    expect(error.detail).toContain('Invalid username or password.');
    expect(server.calls).toHaveLength(1);
  });
});
