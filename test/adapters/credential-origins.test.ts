/**
 * Credentials go only to the configured platform: an ArcGIS token never to another origin
 * than the portal's (a jobsUrl or a redirect naming one fails clearly), a Cloud Foundry
 * bearer token or UAA password never through a redirect. A second loopback server (another
 * origin) records whether anything reached it.
 */
import { describe, expect, it } from 'vitest';
import { parseRestartConfig, runRestart } from '../../src/adapters/index.js';
import { FAKE_ARCGIS_DEPLOYMENT_ID, FAKE_ARCGIS_PASSWORD, FAKE_ARCGIS_USERNAME, startFakeArcgis } from '../fixtures/fake-arcgis.js';
import { FAKE_CF_APP_GUID, FAKE_CF_PASSWORD, FAKE_CF_USERNAME, startFakeCloudFoundry } from '../fixtures/fake-cloudfoundry.js';
import { expectOk, failureOf, fakePerTest, recordingContext, strangerPerTest } from './helpers.js';

const startArcgis = fakePerTest(startFakeArcgis);
const startCf = fakePerTest(startFakeCloudFoundry);
const startStranger = strangerPerTest();

const common = { when: 'on-failure', pollIntervalMs: 10, deadlineMs: 5_000 } as const;

const ARCGIS = [
  {
    adapter: 'arcgis-deployment',
    submitPath: '/refresh',
    extra: { deploymentId: FAKE_ARCGIS_DEPLOYMENT_ID, waitForStatus: false },
    submission: (jobsUrl: string) => ({ jobsUrl, jobID: 'jelsewhere', jobStatus: 'SUBMITTED' }),
  },
  {
    adapter: 'arcgis-all-services',
    submitPath: '/refreshAllServices',
    extra: {},
    submission: (jobsUrl: string) => ({ jobsUrl, jobid: 'jelsewhere', status: 'SUBMITTED' }),
  },
] as const;

describe.each(ARCGIS)('$adapter: the ArcGIS token stays with the portal', ({ adapter, submitPath, extra, submission }) => {
  const config = (portalUrl: string) =>
    parseRestartConfig({ ...common, adapter, portalUrl, username: FAKE_ARCGIS_USERNAME, password: FAKE_ARCGIS_PASSWORD, ...extra });

  it('a jobsUrl on another origin is not polled: a clear error, no token sent there', async () => {
    const stranger = await startStranger();
    const server = await startArcgis({ overrides: [{ method: 'POST', path: submitPath, body: submission(`${stranger.url}/arcgis/admin/jobs/jelsewhere`) }] });
    const result = await runRestart(config(server.portalUrl), recordingContext().ctx);

    // What leaked, first: the bug this guards against.
    expect(stranger.sawCredential()).toBe(false);
    expect(stranger.received).toEqual([]);

    const error = failureOf(result);
    expect(error).toMatchObject({ code: 'unexpected-response', title: 'ArcGIS job on another origin' });
    expect(error.detail).toContain(`job jelsewhere was submitted, but its jobsUrl is on ${stranger.url}, not the portal's origin ${server.url}`);
    expect(error.detail).toContain('set portalUrl to that origin');
  });

  it('a job poll redirected to another origin (query kept) is not followed: a clear error, no token sent there', async () => {
    const stranger = await startStranger();
    const server = await startArcgis({ overrides: [{ method: 'GET', path: /\/jobs\//, status: 301, redirectTo: stranger.url }] });
    const result = await runRestart(config(server.portalUrl), recordingContext().ctx);

    // What leaked, first: the bug this guards against.
    expect(stranger.sawCredential()).toBe(false);
    expect(stranger.received).toEqual([]);

    const error = failureOf(result);
    expect(error).toMatchObject({ code: 'unexpected-response', title: 'Redirect to another origin refused' });
    expect(error.detail).toMatch(
      /answered HTTP 301 to http:\/\/127\.0\.0\.1:\d+\/arcgis\/\S*jobs\/j[\w-]+; credentials go only to http:\/\/127\.0\.0\.1:\d+, so rendercache did not follow it/,
    );
    expect(error.detail).not.toContain('token=');
  });

  it('a submission redirected (307) to another origin is not sent there with its token in the body', async () => {
    const stranger = await startStranger();
    const server = await startArcgis({ overrides: [{ method: 'POST', path: submitPath, status: 307, redirectTo: stranger.url }] });
    const result = await runRestart(config(server.portalUrl), recordingContext().ctx);

    // What leaked, first: the bug this guards against.
    expect(stranger.sawCredential()).toBe(false);
    expect(stranger.received).toEqual([]);

    expect(failureOf(result)).toMatchObject({ code: 'unexpected-response', title: 'Redirect to another origin refused' });
    expect(server.callsTo(submitPath)).toHaveLength(1);
  });

  it("a job poll redirected within the portal's origin is followed", async () => {
    // A relative Location to the same resource, as a canonical-path redirect gives.
    const server = await startArcgis({ overrides: [{ method: 'GET', path: /\/jobs\//, skip: 1, status: 302, redirectTo: '' }] });
    const result = await runRestart(config(server.portalUrl), recordingContext().ctx);

    expectOk(result);
    const polls = server.calls.filter((call) => call.path.includes('/jobs/'));
    expect(polls.map((call) => call.status)).toEqual([200, 302, 200, 200]);
    expect(polls.filter((call) => !call.overridden).every((call) => call.tokenNo === 1)).toBe(true);
  });
});

describe('cloudfoundry-restage: credentials never follow a redirect to another origin', () => {
  const config = (apiUrl: string) =>
    parseRestartConfig({
      ...common,
      adapter: 'cloudfoundry-restage',
      apiUrl,
      appGuid: FAKE_CF_APP_GUID,
      auth: { grant: 'password', username: FAKE_CF_USERNAME, password: FAKE_CF_PASSWORD },
    });

  it('an app poll redirected to another origin is not followed: a clear error, nothing sent there', async () => {
    const stranger = await startStranger();
    const server = await startCf({ overrides: [{ method: 'GET', path: `/v2/apps/${FAKE_CF_APP_GUID}`, status: 302, redirectTo: stranger.url }] });
    const result = await runRestart(config(server.url), recordingContext().ctx);

    // What leaked, first: the bug this guards against.
    expect(stranger.sawCredential()).toBe(false);
    expect(stranger.received).toEqual([]);

    expect(failureOf(result)).toMatchObject({ code: 'unexpected-response', title: 'Redirect to another origin refused' });
    expect(server.state.restages).toBe(1);
  });

  it('a UAA sign-in redirected (307) to another origin does not carry the password there', async () => {
    const stranger = await startStranger();
    const server = await startCf({ overrides: [{ method: 'POST', path: '/oauth/token', status: 307, redirectTo: stranger.url }] });
    const result = await runRestart(config(server.url), recordingContext().ctx);

    // What leaked, first: the bug this guards against.
    expect(stranger.sawCredential([FAKE_CF_PASSWORD])).toBe(false);
    expect(stranger.received).toEqual([]);

    expect(failureOf(result)).toMatchObject({ code: 'unexpected-response', title: 'Redirect to another origin refused' });
    expect(server.callsTo('/restage')).toHaveLength(0);
  });
});
