import { describe, expect, it } from 'vitest';
import { parseRestartConfig, runRestart } from '../../../src/adapters/index.js';
import {
  FAKE_CF_APP_GUID,
  FAKE_CF_CLIENT_ID,
  FAKE_CF_CLIENT_SECRET,
  FAKE_CF_PASSWORD,
  FAKE_CF_USERNAME,
  startFakeCloudFoundry,
} from '../../fixtures/fake-cloudfoundry.js';
import { freePort } from '../../helpers/free-port.js';
import { expectOk, exposedText, failureOf, fakePerTest, kinds, polledStates, recordingContext } from '../helpers.js';

const start = fakePerTest(startFakeCloudFoundry);

const passwordAuth = { grant: 'password', username: FAKE_CF_USERNAME, password: FAKE_CF_PASSWORD };
const clientAuth = { grant: 'client_credentials', clientId: FAKE_CF_CLIENT_ID, clientSecret: FAKE_CF_CLIENT_SECRET };

function config(apiUrl: string, extra: Record<string, unknown> = {}) {
  return parseRestartConfig({
    adapter: 'cloudfoundry-restage',
    when: 'on-failure',
    failureThresholdPercent: 25,
    pollIntervalMs: 10,
    deadlineMs: 5_000,
    apiUrl,
    appGuid: FAKE_CF_APP_GUID,
    auth: passwordAuth,
    ...extra,
  });
}

const route = (call: { method: string; path: string }) => `${call.method} ${call.path}`;

describe('cloudfoundry-restage, v2 restage', () => {
  it('finds the UAA, signs in with the password grant, restages, waits for STAGED then RUNNING', async () => {
    const server = await start();
    const result = await runRestart(config(server.url), recordingContext().ctx);

    expectOk(result);
    const app = `/v2/apps/${FAKE_CF_APP_GUID}`;
    expect(server.calls.map(route)).toEqual([
      'GET /v2/info',
      'POST /uaa/oauth/token',
      `POST ${app}/restage`,
      `GET ${app}`,
      `GET ${app}`,
      `GET ${app}`,
      `GET ${app}/instances`,
      `GET ${app}/instances`,
      `GET ${app}/instances`,
    ]);
    const tokenCall = server.calls[1];
    expect(tokenCall).toMatchObject({ basicClient: 'cf', body: { grant_type: 'password', username: FAKE_CF_USERNAME }, status: 200 });
    expect(server.calls[2]).toMatchObject({ status: 201, tokenNo: 1, body: undefined });
    for (const call of server.calls.slice(2)) expect(call.tokenNo).toBe(1);
    expect(server.state.grants).toEqual(['password']);
    expect(server.state.restartCompleted).toBe(true);

    expect(kinds(result.steps)).toEqual(['token', 'submitted', 'polled', 'polled', 'polled', 'polled', 'polled', 'healthy']);
    expect(result.steps[1]).toMatchObject({ platformJobId: FAKE_CF_APP_GUID, state: 'PENDING' });
    expect(polledStates(result.steps)).toEqual(['PENDING', 'STAGED', 'STARTING:2', 'RUNNING:1 STARTING:1', 'RUNNING:2']);
    expect(result.steps.at(-1)?.detail).toBe('app fake-origin: 2/2 instances RUNNING');
  });

  it('signs in with client_credentials using the client id and secret as Basic auth', async () => {
    const server = await start();
    const result = await runRestart(config(server.url, { auth: clientAuth }), recordingContext().ctx);

    expectOk(result);
    const tokenCall = server.callsTo('/oauth/token')[0];
    expect(tokenCall).toMatchObject({ basicClient: FAKE_CF_CLIENT_ID, body: { grant_type: 'client_credentials' } });
    expect(JSON.stringify(tokenCall?.body)).not.toContain('username');
    expect(server.state.grants).toEqual(['client_credentials']);
    expect(result.steps[0]?.detail).toContain(`client_credentials grant, client ${FAKE_CF_CLIENT_ID}`);
  });

  it('falls back to links.uaa.href of GET / when /v2/info is switched off', async () => {
    const server = await start({ v2Info: false });
    const result = await runRestart(config(server.url), recordingContext().ctx);

    expectOk(result);
    expect(server.calls.slice(0, 3).map(route)).toEqual(['GET /v2/info', 'GET /', 'POST /uaa/oauth/token']);
    expect(server.calls[0]?.status).toBe(404);
  });

  it('fails with staging_failed_reason and description when package_state becomes FAILED', async () => {
    const server = await start({ stagingResult: 'FAILED' });
    const result = await runRestart(config(server.url), recordingContext().ctx);

    const error = failureOf(result);
    expect(error).toMatchObject({ code: 'job-failed', title: 'Cloud Foundry staging failed' });
    expect(error.detail).toContain('StagingError: Staging error: staging failed');
    expect(server.callsTo('/instances')).toHaveLength(0);
  });

  it('keeps polling while /instances answers 400 CF-NotStaged', async () => {
    const server = await start({ notStagedInstancePolls: 2 });
    const result = await runRestart(config(server.url), recordingContext().ctx);

    expectOk(result);
    const instanceCalls = server.callsTo('/instances');
    expect(instanceCalls.map((call) => [call.status, call.errorName])).toEqual([
      [400, 'CF-NotStaged'],
      [400, 'CF-NotStaged'],
      [200, undefined],
      [200, undefined],
      [200, undefined],
    ]);
    expect(polledStates(result.steps)).toContain('NOT_STAGED');
  });

  it('keeps polling CRASHED instances until the deadline, then names the crash', async () => {
    const server = await start({
      instanceStates: [
        ['STARTING', 'STARTING'],
        ['RUNNING', 'CRASHED'],
      ],
    });
    const result = await runRestart(config(server.url, { deadlineMs: 300 }), recordingContext().ctx);

    const error = failureOf(result);
    expect(error.code).toBe('deadline');
    expect(error.detail).toContain('instance 1 CRASHED (APP/PROC/WEB exited with status 1)');
    expect(server.callsTo('/instances').length).toBeGreaterThan(3);
    expect(server.state.restartCompleted).toBe(false);
  });

  it('answers 401 CF-InvalidAuthToken with one new token and one retry', async () => {
    const invalid = { description: 'Invalid Auth Token', error_code: 'CF-InvalidAuthToken', code: 1000 };
    const server = await start({ overrides: [{ path: '/restage', status: 401, body: invalid }] });
    const result = await runRestart(config(server.url), recordingContext().ctx);

    expectOk(result);
    expect(server.state.tokensIssued).toBe(2);
    expect(server.callsTo('/restage').map((call) => call.status)).toEqual([401, 201]);
    expect(server.callsTo('/restage')[1]?.tokenNo).toBe(2);
    expect(result.steps[1]).toMatchObject({ kind: 'token', state: 'CF-InvalidAuthToken' });
  });

  it('recovers when tokens are revoked before their advertised expiry (401 mid-poll)', async () => {
    const server = await start({ enforcedTokenLifetimeMs: 100, stagingPolls: 10 });
    const result = await runRestart(config(server.url, { pollIntervalMs: 15 }), recordingContext().ctx);

    expectOk(result);
    const rejected = server.calls.filter((call) => call.errorName === 'CF-InvalidAuthToken');
    expect(rejected.length).toBeGreaterThanOrEqual(1);
    expect(server.state.tokensIssued).toBe(rejected.length + 1);
  });

  it('fails on a second 401 CF-InvalidAuthToken in a row', async () => {
    const invalid = { description: 'Invalid Auth Token', error_code: 'CF-InvalidAuthToken', code: 1000 };
    const server = await start({ overrides: [{ path: '/restage', status: 401, times: 2, body: invalid }] });
    const result = await runRestart(config(server.url), recordingContext().ctx);

    expect(failureOf(result)).toMatchObject({ code: 'auth', title: 'Cloud Foundry token rejected' });
    expect(server.callsTo('/restage')).toHaveLength(2);
  });

  it('renews the token before it expires (injected clock)', async () => {
    const server = await start();
    let skewMs = 0;
    const recording = recordingContext({ now: () => Date.now() + skewMs });
    const restageSeen = () => server.callsTo('/restage').length > 0;
    const original = recording.ctx.sleep;
    recording.ctx.sleep = async (ms, signal) => {
      if (restageSeen()) skewMs = 2 * 3_600_000; // two hours later: the one-hour token is due for renewal
      await original(ms, signal);
    };
    const result = await runRestart(config(server.url), recording.ctx);

    expectOk(result);
    expect(server.state.tokensIssued).toBe(2);
    expect(server.calls.some((call) => call.status === 401)).toBe(false);
    expect(result.steps.filter((step) => step.kind === 'token').map((step) => step.detail)).toEqual([
      expect.stringContaining('obtained (password grant'),
      expect.stringContaining('renewed before it expired'),
    ]);
  });

  it('turns a v2 error body (404 CF-AppNotFound 100004) into a clear error', async () => {
    const server = await start();
    const result = await runRestart(config(server.url, { appGuid: 'no-such-app' }), recordingContext().ctx);

    const error = failureOf(result);
    expect(error).toMatchObject({ code: 'platform', title: 'Cloud Foundry request failed' });
    expect(error.detail).toContain('HTTP 404 CF-AppNotFound (100004): The app could not be found: no-such-app');
  });

  it('reports 403 CF-NotAuthorized as an access problem', async () => {
    const server = await start({ forbidden: true });
    const result = await runRestart(config(server.url), recordingContext().ctx);

    const error = failureOf(result);
    expect(error).toMatchObject({ code: 'auth', title: 'Cloud Foundry refused access' });
    expect(error.detail).toContain('CF-NotAuthorized (10003)');
    expect(server.state.restages).toBe(0);
  });

  it('reports bad credentials from the UAA without retrying', async () => {
    const server = await start();
    const result = await runRestart(config(server.url, { auth: { ...passwordAuth, password: 'not-the-password' } }), recordingContext().ctx);

    const error = failureOf(result);
    expect(error).toMatchObject({ code: 'auth', title: 'Cloud Foundry sign-in failed' });
    expect(error.detail).toContain('HTTP 401 unauthorized: Bad credentials');
    expect(server.callsTo('/oauth/token')).toHaveLength(1);
    expect(server.callsTo('/restage')).toHaveLength(0);
  });

  it('honours Retry-After on 429 CF-RateLimitV2APIExceeded', async () => {
    const server = await start({ rateLimitOnce: `/v2/apps/${FAKE_CF_APP_GUID}` });
    const recording = recordingContext({ maxRealSleepMs: 5 });
    const result = await runRestart(config(server.url), recording.ctx);

    expectOk(result);
    expect(recording.sleeps).toContain(1_000);
    expect(server.callsTo(`/v2/apps/${FAKE_CF_APP_GUID}`)[0]).toMatchObject({ status: 429, errorName: 'CF-RateLimitV2APIExceeded' });
    expect(server.callsTo(`/v2/apps/${FAKE_CF_APP_GUID}`)[1]).toMatchObject({ status: 200, tokenNo: 1 });
    expect(result.steps.find((step) => step.kind === 'retry')?.detail).toContain('in 1000 ms (Retry-After)');
  });

  it('reports a 429 that outlasts the retries as the platform error', async () => {
    const limited = { description: 'Rate Limit Exceeded', error_code: 'CF-RateLimitV2APIExceeded', code: 10018 };
    const server = await start({ overrides: [{ path: '/restage', status: 429, times: 10, headers: { 'Retry-After': '1' }, body: limited }] });
    const recording = recordingContext({ maxRealSleepMs: 1 });
    const result = await runRestart(config(server.url), recording.ctx);

    expect(failureOf(result).detail).toContain('HTTP 429 CF-RateLimitV2APIExceeded (10018)');
    expect(server.callsTo('/restage')).toHaveLength(4);
    expect(recording.sleeps).toEqual([1_000, 1_000, 1_000]);
  });

  it('gives up after bounded retries when the API refuses connections', async () => {
    const port = await freePort();
    const recording = recordingContext({ maxRealSleepMs: 1 });
    const result = await runRestart(config(`http://127.0.0.1:${port}`), recording.ctx);

    const error = failureOf(result);
    expect(error).toMatchObject({ code: 'unreachable' });
    expect(error.detail).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/v2\/info failed after 4 attempts: ECONNREFUSED/);
    expect(recording.sleeps).toEqual([250, 500, 1_000]);
  });

  it.each([
    ['password', passwordAuth, FAKE_CF_PASSWORD],
    ['client_credentials', clientAuth, FAKE_CF_CLIENT_SECRET],
  ])('never exposes the %s secret or tokens, even when the platform echoes them', async (_grant, auth, secret) => {
    const echo = { description: `bad request: secret=${secret}`, error_code: 'CF-BadRequest', code: 1004 };
    const server = await start({ stagingPolls: 6, overrides: [{ path: '/instances', status: 400, body: echo }] });
    // Tokens revoked twice mid-run, at fixed polls (a short real-time lifetime failed the run on a busy machine).
    const recording = recordingContext({ onSleep: (_ms, index) => (index === 1 || index === 3 ? server.invalidateTokens() : undefined) });
    const result = await runRestart(config(server.url, { auth, pollIntervalMs: 15 }), recording.ctx);

    expect(failureOf(result).detail).toContain('secret=***');
    expect(server.state.tokensIssued).toBe(3);
    const exposed = exposedText(result, recording);
    expect(recording.logs()).toContain('"step":"polled"');
    expect(exposed).not.toContain(secret);
    expect(exposed).not.toContain('fake-cf-token-');
  });
});

describe('cloudfoundry-restage, v3 rolling', () => {
  it('stages the newest READY package and rolls it out until FINALIZED/DEPLOYED', async () => {
    const server = await start();
    const result = await runRestart(config(server.url, { mode: 'v3-rolling', auth: clientAuth }), recordingContext().ctx);

    expectOk(result);
    const [build] = [...server.state.builds.values()];
    const [deployment] = [...server.state.deployments.values()];
    expect(server.calls.map(route)).toEqual([
      'GET /v2/info',
      'POST /uaa/oauth/token',
      'GET /v3/packages',
      'POST /v3/builds',
      `GET /v3/builds/${build?.guid}`,
      `GET /v3/builds/${build?.guid}`,
      `GET /v3/builds/${build?.guid}`,
      'POST /v3/deployments',
      `GET /v3/deployments/${deployment?.guid}`,
      `GET /v3/deployments/${deployment?.guid}`,
    ]);
    expect(server.callsTo('/v3/packages')[0]?.query).toEqual({ app_guids: FAKE_CF_APP_GUID, states: 'READY', order_by: '-created_at' });
    expect(server.callsTo('/v3/builds')[0]?.body).toEqual({ package: { guid: `pkg-new-${FAKE_CF_APP_GUID}` } });
    expect(server.callsTo('/v3/deployments')[0]?.body).toEqual({
      droplet: { guid: build?.dropletGuid },
      strategy: 'rolling',
      relationships: { app: { data: { guid: FAKE_CF_APP_GUID } } },
    });
    const submitted = result.steps.filter((step) => step.kind === 'submitted');
    expect(submitted.map((step) => step.platformJobId)).toEqual([build?.guid, deployment?.guid]);
    expect(polledStates(result.steps)).toEqual(['STAGING', 'STAGED', 'ACTIVE/DEPLOYING', 'FINALIZED/DEPLOYED']);
    expect(server.state.restartCompleted).toBe(true);
  });

  it('fails with the build error when staging FAILED, before any deployment', async () => {
    const server = await start({ buildResult: 'FAILED' });
    const result = await runRestart(config(server.url, { mode: 'v3-rolling' }), recordingContext().ctx);

    const error = failureOf(result);
    expect(error).toMatchObject({ code: 'job-failed', title: 'Cloud Foundry staging failed' });
    expect(error.detail).toContain('StagingError - Staging error: no app detected');
    expect(server.callsTo('/v3/deployments')).toHaveLength(0);
  });

  it('fails when the deployment is FINALIZED with a reason other than DEPLOYED', async () => {
    const server = await start({
      deploymentStatuses: [
        { value: 'ACTIVE', reason: 'DEPLOYING' },
        { value: 'ACTIVE', reason: 'CANCELING' },
        { value: 'FINALIZED', reason: 'CANCELED' },
      ],
    });
    const result = await runRestart(config(server.url, { mode: 'v3-rolling' }), recordingContext().ctx);

    const error = failureOf(result);
    expect(error).toMatchObject({ code: 'job-failed', title: 'Cloud Foundry deployment did not complete' });
    expect(error.detail).toContain('FINALIZED with reason CANCELED');
    expect(polledStates(result.steps)).toContain('ACTIVE/CANCELING');
    expect(server.state.restartCompleted).toBe(false);
  });

  it('reports an app without a READY package', async () => {
    const server = await start({ readyPackage: false });
    const result = await runRestart(config(server.url, { mode: 'v3-rolling' }), recordingContext().ctx);

    expect(failureOf(result)).toMatchObject({ code: 'platform', title: 'Nothing to restage' });
    expect(server.callsTo('/v3/builds')).toHaveLength(0);
  });

  it('turns a v3 error body ({"errors": [...]}) into a clear error', async () => {
    const server = await start({ forbidden: true });
    const result = await runRestart(config(server.url, { mode: 'v3-rolling' }), recordingContext().ctx);

    const error = failureOf(result);
    expect(error).toMatchObject({ code: 'auth' });
    expect(error.detail).toContain('POST');
    expect(error.detail).toContain('/v3/builds: HTTP 403 CF-NotAuthorized (10003): You are not authorized');
  });

  it('answers a v3 401 CF-InvalidAuthToken with one new token and one retry', async () => {
    const invalid = { errors: [{ detail: 'Invalid Auth Token', title: 'CF-InvalidAuthToken', code: 1000 }] };
    const server = await start({ overrides: [{ method: 'POST', path: '/v3/deployments', status: 401, body: invalid }] });
    const result = await runRestart(config(server.url, { mode: 'v3-rolling' }), recordingContext().ctx);

    expectOk(result);
    expect(server.callsTo('/v3/deployments').map((call) => call.status)).toEqual([401, 201]);
    expect(server.state.tokensIssued).toBe(2);
  });

  it('ends a deployment stuck in ACTIVE with a deadline error', async () => {
    const server = await start({ deploymentStatuses: [{ value: 'ACTIVE', reason: 'DEPLOYING' }] });
    const result = await runRestart(config(server.url, { mode: 'v3-rolling', deadlineMs: 250 }), recordingContext().ctx);

    const error = failureOf(result);
    expect(error.code).toBe('deadline');
    expect(error.detail).toContain('ACTIVE/DEPLOYING');
  });
});
