/**
 * A restart request (deployment refresh, refreshAllServices, restage, build, deployment) is
 * never sent twice. When the platform acted on it but the answer was lost, the adapter follows
 * the operation it can find (CF v2: the app staging) or fails saying the state is unknown and
 * what to check; either way the platform restarts exactly once.
 */
import { describe, expect, it } from 'vitest';
import { parseRestartConfig, runRestart } from '../../src/adapters/index.js';
import { FAKE_ARCGIS_DEPLOYMENT_ID, FAKE_ARCGIS_PASSWORD, FAKE_ARCGIS_USERNAME, startFakeArcgis } from '../fixtures/fake-arcgis.js';
import { FAKE_CF_APP_GUID, FAKE_CF_PASSWORD, FAKE_CF_USERNAME, startFakeCloudFoundry } from '../fixtures/fake-cloudfoundry.js';
import { expectOk, failureOf, fakePerTest, recordingContext } from './helpers.js';
import { stringContaining } from '../helpers/matchers.js';

const startArcgis = fakePerTest(startFakeArcgis);
const startCf = fakePerTest(startFakeCloudFoundry);

const common = { when: 'on-failure', pollIntervalMs: 10, deadlineMs: 5_000 } as const;
const arcgisLogin = { username: FAKE_ARCGIS_USERNAME, password: FAKE_ARCGIS_PASSWORD };

function cfConfig(apiUrl: string, extra: Record<string, unknown> = {}) {
  return parseRestartConfig({
    ...common,
    adapter: 'cloudfoundry-restage',
    apiUrl,
    appGuid: FAKE_CF_APP_GUID,
    auth: { grant: 'password', username: FAKE_CF_USERNAME, password: FAKE_CF_PASSWORD },
    ...extra,
  });
}

const ARCGIS_CASES = [
  {
    name: 'arcgis-deployment (async)',
    submitPath: '/refresh',
    extra: { adapter: 'arcgis-deployment', deploymentId: FAKE_ARCGIS_DEPLOYMENT_ID },
    check: '/admin/jobs',
  },
  {
    name: 'arcgis-deployment (sync)',
    submitPath: '/refresh',
    extra: { adapter: 'arcgis-deployment', deploymentId: FAKE_ARCGIS_DEPLOYMENT_ID, async: false },
    check: `/deployments/${FAKE_ARCGIS_DEPLOYMENT_ID}/status`,
  },
  { name: 'arcgis-all-services', submitPath: '/refreshAllServices', extra: { adapter: 'arcgis-all-services' }, check: 'services/refreshAllServices job' },
] as const;

describe.each(ARCGIS_CASES)('$name: a refresh whose answer is lost', ({ submitPath, extra, check }) => {
  it('is not submitted again: the restart fails as "state unknown", saying what to check', async () => {
    const server = await startArcgis({ overrides: [{ method: 'POST', path: submitPath, dropAnswer: true }] });
    const recording = recordingContext({ maxRealSleepMs: 1 });
    const result = await runRestart(parseRestartConfig({ ...common, ...arcgisLogin, portalUrl: server.portalUrl, ...extra }), recording.ctx);

    const error = failureOf(result);
    expect(error).toMatchObject({ code: 'state-unknown', title: 'Restart state unknown' });
    expect(error.detail).toMatch(
      new RegExp(`^POST http://127\\.0\\.0\\.1:\\d+/arcgis/admin/\\S*${submitPath}: UND_ERR_SOCKET \\(other side closed\\) after the request was sent`),
    );
    expect(error.detail).toContain('rendercache did not send it again');
    expect(error.detail).toContain(check);
    // The platform did restart, once; nothing was sent after it (no retry, no poll).
    expect(server.state.refreshes).toBe(1);
    expect(server.callsTo(submitPath)).toHaveLength(1);
    expect(server.calls.at(-1)?.path).toContain(submitPath);
    expect(result.steps.filter((step) => step.kind === 'retry')).toHaveLength(0);
  });
});

describe('ArcGIS: a gateway error on the submission', () => {
  it('is not retried (the platform behind the gateway may have received it) and reads as state unknown', async () => {
    const server = await startArcgis({ overrides: [{ method: 'POST', path: '/refreshAllServices', status: 504, body: '<html>Gateway Timeout</html>' }] });
    const result = await runRestart(
      parseRestartConfig({ ...common, ...arcgisLogin, adapter: 'arcgis-all-services', portalUrl: server.portalUrl }),
      recordingContext().ctx,
    );

    expect(failureOf(result)).toMatchObject({ code: 'state-unknown', detail: stringContaining('HTTP 504 from the platform or a gateway in front of it') });
    expect(server.callsTo('/refreshAllServices')).toHaveLength(1);
  });
});

describe('cloudfoundry-restage: a restart request whose answer is lost', () => {
  it('v2: the app is staging (package_state PENDING): that staging is followed, not restaged again', async () => {
    const server = await startCf({ overrides: [{ method: 'POST', path: '/restage', dropAnswer: true }] });
    const result = await runRestart(cfConfig(server.url), recordingContext({ maxRealSleepMs: 1 }).ctx);

    expectOk(result);
    expect(server.state.restages).toBe(1);
    expect(server.callsTo('/restage')).toHaveLength(1);
    expect(server.state.restartCompleted).toBe(true);
    const submitted = result.steps.find((step) => step.kind === 'submitted');
    expect(submitted).toMatchObject({ platformJobId: FAKE_CF_APP_GUID, state: 'PENDING' });
    expect(submitted?.detail).toBe(
      'restage of app fake-origin got no answer (UND_ERR_SOCKET (other side closed)), but the app is staging: following that staging instead of restaging again',
    );
  });

  it('v2: the app is not staging: nobody can tell whether the restage happened, so it fails as "state unknown"', async () => {
    // Staging takes no poll: by the time we look, the app reads STAGED again.
    const server = await startCf({ stagingPolls: 0, overrides: [{ method: 'POST', path: '/restage', dropAnswer: true }] });
    const result = await runRestart(cfConfig(server.url), recordingContext({ maxRealSleepMs: 1 }).ctx);

    const error = failureOf(result);
    expect(error).toMatchObject({ code: 'state-unknown', title: 'Restart state unknown' });
    expect(error.detail).toContain('App fake-origin is not staging (package_state STAGED)');
    expect(error.detail).toContain('cf events');
    expect(server.state.restages).toBe(1);
    expect(server.callsTo('/instances')).toHaveLength(0);
  });

  it('v3: a build whose answer is lost is not created again', async () => {
    const server = await startCf({ overrides: [{ method: 'POST', path: '/v3/builds', dropAnswer: true }] });
    const result = await runRestart(cfConfig(server.url, { mode: 'v3-rolling' }), recordingContext({ maxRealSleepMs: 1 }).ctx);

    const error = failureOf(result);
    expect(error).toMatchObject({ code: 'state-unknown' });
    expect(error.detail).toContain(`/v3/builds?package_guids=pkg-new-${FAKE_CF_APP_GUID}`);
    expect(server.state.builds.size).toBe(1);
    expect(server.callsTo('/v3/builds')).toHaveLength(1);
    expect(server.callsTo('/v3/deployments')).toHaveLength(0);
  });

  it('v3: a deployment whose answer is lost is not created again', async () => {
    const server = await startCf({ overrides: [{ method: 'POST', path: '/v3/deployments', dropAnswer: true }] });
    const result = await runRestart(cfConfig(server.url, { mode: 'v3-rolling' }), recordingContext({ maxRealSleepMs: 1 }).ctx);

    const error = failureOf(result);
    expect(error).toMatchObject({ code: 'state-unknown' });
    expect(error.detail).toContain(`/v3/deployments?app_guids=${FAKE_CF_APP_GUID}`);
    expect(server.state.deployments.size).toBe(1);
    expect(server.callsTo('/v3/deployments')).toHaveLength(1);
  });

  it('v3: a 429 before the build was accepted is retried (the platform refused it)', async () => {
    const server = await startCf({ rateLimitOnce: '/v3/builds' });
    const recording = recordingContext({ maxRealSleepMs: 1 });
    const result = await runRestart(cfConfig(server.url, { mode: 'v3-rolling' }), recording.ctx);

    expectOk(result);
    expect(server.callsTo('/v3/builds').map((call) => call.status)).toEqual([429, 201]);
    expect(server.state.builds.size).toBe(1);
  });
});
