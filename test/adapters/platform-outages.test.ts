/**
 * A restart can take down the platform's own API (a deployment refresh restarts the pods behind
 * it): reads answered 502/503/504 after the platform accepted the restart are retried with
 * backoff until the deadline, and only then fail, naming what kept failing.
 */
import { describe, expect, it } from 'vitest';
import { parseRestartConfig, runRestart } from '../../src/adapters/index.js';
import { FAKE_ARCGIS_DEPLOYMENT_ID, FAKE_ARCGIS_PASSWORD, FAKE_ARCGIS_USERNAME, startFakeArcgis } from '../fixtures/fake-arcgis.js';
import { FAKE_CF_APP_GUID, FAKE_CF_PASSWORD, FAKE_CF_USERNAME, startFakeCloudFoundry } from '../fixtures/fake-cloudfoundry.js';
import { expectOk, failureOf, fakePerTest, recordingContext } from './helpers.js';

const startArcgis = fakePerTest(startFakeArcgis);
const startCf = fakePerTest(startFakeCloudFoundry);

const gatewayPage = (status: number) => `<html><body><h1>${status}</h1>upstream unavailable</body></html>`;
const retryStates = (steps: readonly { kind: string; state?: string }[]) => steps.filter((step) => step.kind === 'retry').map((step) => step.state);

function arcgisConfig(portalUrl: string, extra: Record<string, unknown> = {}) {
  return parseRestartConfig({
    adapter: 'arcgis-deployment',
    when: 'on-failure',
    pollIntervalMs: 10,
    deadlineMs: 5_000,
    portalUrl,
    username: FAKE_ARCGIS_USERNAME,
    password: FAKE_ARCGIS_PASSWORD,
    deploymentId: FAKE_ARCGIS_DEPLOYMENT_ID,
    ...extra,
  });
}

function cfConfig(apiUrl: string, extra: Record<string, unknown> = {}) {
  return parseRestartConfig({
    adapter: 'cloudfoundry-restage',
    when: 'on-failure',
    pollIntervalMs: 10,
    deadlineMs: 5_000,
    apiUrl,
    appGuid: FAKE_CF_APP_GUID,
    auth: { grant: 'password', username: FAKE_CF_USERNAME, password: FAKE_CF_PASSWORD },
    ...extra,
  });
}

describe('reads while the platform restarts its own API', () => {
  it('arcgis-deployment: job and status polls answered 502/503/504 are retried, and the restart succeeds', async () => {
    const server = await startArcgis({
      overrides: [
        { method: 'GET', path: /\/jobs\//, skip: 1, status: 503, times: 2, headers: { 'Retry-After': '3' }, body: gatewayPage(503) },
        { method: 'GET', path: '/status', status: 502, body: gatewayPage(502) },
      ],
    });
    const recording = recordingContext({ maxRealSleepMs: 5 });
    const result = await runRestart(arcgisConfig(server.portalUrl), recording.ctx);

    expectOk(result);
    expect(retryStates(result.steps)).toEqual(['503', '503', '502']);
    const retries = result.steps.filter((step) => step.kind === 'retry').map((step) => step.detail);
    expect(retries[0]).toMatch(
      /^GET http:\/\/127\.0\.0\.1:\d+\/arcgis\/admin\/jobs\/j[\w-]+: HTTP 503 Service Unavailable; retry 1 \(until the deadline\) in 3000 ms \(Retry-After\)$/,
    );
    expect(retries[2]).toMatch(/\/status: HTTP 502 Bad Gateway; retry 1 \(until the deadline\) in 250 ms \(backoff\)$/);
    expect(server.state.refreshes).toBe(1);
    expect(server.state.restartCompleted).toBe(true);
  });

  it('arcgis-all-services: a job poll answering 503 for good fails at the deadline (injected clock), naming the 503', async () => {
    const server = await startArcgis({ overrides: [{ method: 'GET', path: /\/jobs\//, status: 503, times: 1_000, body: gatewayPage(503) }] });
    const recording = recordingContext({ virtualClock: true, maxRealSleepMs: 1 });
    const startedAt = Date.now();
    const config = parseRestartConfig({
      adapter: 'arcgis-all-services',
      when: 'manual',
      pollIntervalMs: 10,
      deadlineMs: 60_000,
      portalUrl: server.portalUrl,
      username: FAKE_ARCGIS_USERNAME,
      password: FAKE_ARCGIS_PASSWORD,
    });
    const result = await runRestart(config, recording.ctx);

    const error = failureOf(result);
    expect(error).toMatchObject({ code: 'deadline', title: 'Restart deadline exceeded' });
    expect(error.detail).toMatch(
      /^GET http:\/\/127\.0\.0\.1:\d+\/arcgis\/jobs\/j[\w-]+: HTTP 503 Service Unavailable on \d+ attempts over \d+ s; no time left for another before the 60000 ms deadline$/,
    );
    // Backoff grew to its cap and the retries used the run's clock: a minute of waiting, no real minute.
    expect(recording.sleeps.slice(0, 7)).toEqual([250, 500, 1_000, 2_000, 4_000, 8_000, 8_000]);
    expect(recording.sleeps.reduce((sum, ms) => sum + ms, 0)).toBeLessThan(60_000);
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    const polls = server.calls.filter((call) => call.path.includes('/jobs/'));
    expect(polls.length).toBe(retryStates(result.steps).length + 1);
    expect(server.callsTo('/refreshAllServices')).toHaveLength(1);
  });

  it('cloudfoundry v2: app and instance polls answered 503/504 are retried, and the restart succeeds', async () => {
    const app = `/v2/apps/${FAKE_CF_APP_GUID}`;
    const server = await startCf({
      overrides: [
        { method: 'GET', path: app, skip: 1, status: 503, body: gatewayPage(503) },
        { method: 'GET', path: `${app}/instances`, skip: 1, status: 504, times: 2, body: gatewayPage(504) },
      ],
    });
    const recording = recordingContext({ maxRealSleepMs: 5 });
    const result = await runRestart(cfConfig(server.url), recording.ctx);

    expectOk(result);
    expect(retryStates(result.steps)).toEqual(['503', '504', '504']);
    expect(server.state.restages).toBe(1);
    expect(server.state.restartCompleted).toBe(true);
  });

  it('cloudfoundry v3: a deployment poll answering 503 for good fails at the deadline (injected clock)', async () => {
    const server = await startCf({ overrides: [{ method: 'GET', path: /\/v3\/deployments\//, status: 503, times: 1_000, body: gatewayPage(503) }] });
    const recording = recordingContext({ virtualClock: true, maxRealSleepMs: 1 });
    const result = await runRestart(cfConfig(server.url, { mode: 'v3-rolling', deadlineMs: 30_000 }), recording.ctx);

    const error = failureOf(result);
    expect(error).toMatchObject({ code: 'deadline', title: 'Restart deadline exceeded' });
    expect(error.detail).toMatch(/\/v3\/deployments\/deployment-[\w-]+: HTTP 503 Service Unavailable on \d+ attempts/);
    expect(server.state.deployments.size).toBe(1);
  });

  it('before the platform accepted anything, a sign-in answered 503 is retried a bounded number of times, then reported', async () => {
    const server = await startArcgis({ overrides: [{ path: '/generateToken', status: 503, times: 10, body: gatewayPage(503) }] });
    const recording = recordingContext({ maxRealSleepMs: 1 });
    const result = await runRestart(arcgisConfig(server.portalUrl), recording.ctx);

    const error = failureOf(result);
    expect(error).toMatchObject({ code: 'auth', title: 'ArcGIS sign-in failed' });
    expect(error.detail).toContain('HTTP 503');
    expect(recording.sleeps).toEqual([250, 500, 1_000]);
    expect(server.callsTo('/refresh')).toHaveLength(0);
  });
});
