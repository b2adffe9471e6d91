/**
 * Platform behaviour both ArcGIS adapters must handle: errors inside HTTP-200 bodies (both
 * shapes), 498/499 → one new token, expiring tokens, 429 + Retry-After, connection refused,
 * a stuck job against the deadline, cancellation, and secrets kept out of everything reported.
 */
import { describe, expect, it } from 'vitest';
import { parseRestartConfig, runRestart } from '../../../src/adapters/index.js';
import { FAKE_ARCGIS_DEPLOYMENT_ID, FAKE_ARCGIS_PASSWORD, FAKE_ARCGIS_USERNAME, startFakeArcgis, type FakeArcgis } from '../../fixtures/fake-arcgis.js';
import { freePort } from '../../helpers/free-port.js';
import { expectOk, exposedText, failureOf, fakePerTest, recordingContext } from '../helpers.js';
import { stringContaining } from '../../helpers/matchers.js';

const start = fakePerTest(startFakeArcgis);

const ADAPTERS = [
  { adapter: 'arcgis-deployment', submitPath: '/refresh', extra: { deploymentId: FAKE_ARCGIS_DEPLOYMENT_ID, waitForStatus: false } },
  { adapter: 'arcgis-all-services', submitPath: '/refreshAllServices', extra: {} },
] as const;

describe.each(ADAPTERS)('$adapter against ArcGIS platform behaviour', ({ adapter, submitPath, extra }) => {
  function config(portalUrl: string, more: Record<string, unknown> = {}) {
    return parseRestartConfig({
      adapter,
      when: 'on-failure',
      pollIntervalMs: 10,
      deadlineMs: 5_000,
      portalUrl,
      username: FAKE_ARCGIS_USERNAME,
      password: FAKE_ARCGIS_PASSWORD,
      ...extra,
      ...more,
    });
  }

  const jobPolls = (server: FakeArcgis) => server.calls.filter((call) => call.path.includes('/jobs/'));

  it('turns an HTTP-200 {"error": {code, message, details}} body into a clear error', async () => {
    const server = await start({
      overrides: [{ path: submitPath, body: { error: { code: 500, message: 'Unable to refresh.', details: ['Kubernetes API unavailable'] } } }],
    });
    const result = await runRestart(config(server.portalUrl), recordingContext().ctx);

    const error = failureOf(result);
    expect(error.code).toBe('platform');
    expect(error.title).toBe('ArcGIS request failed');
    expect(error.detail).toContain('error 500: Unable to refresh. Kubernetes API unavailable');
    expect(error.detail).toContain(submitPath);
    expect(jobPolls(server)).toHaveLength(0);
  });

  it('turns an HTTP-200 {"status": "error", "messages": [...], "code"} body into a clear error', async () => {
    const server = await start({
      overrides: [{ path: /\/jobs\//, skip: 1, body: { status: 'error', messages: ['Job store unreachable', 'retry later'], code: 500 } }],
    });
    const result = await runRestart(config(server.portalUrl), recordingContext().ctx);

    const error = failureOf(result);
    expect(error.code).toBe('platform');
    expect(error.detail).toContain('error 500: Job store unreachable; retry later');
    expect(jobPolls(server)).toHaveLength(2);
  });

  it.each([
    [498, 'Invalid token.'],
    [499, 'Token Required.'],
  ])('answers %i with one new token and one retry, then succeeds', async (code, message) => {
    const server = await start({ overrides: [{ path: submitPath, body: { error: { code, message, details: [] } } }] });
    const result = await runRestart(config(server.portalUrl), recordingContext().ctx);

    expectOk(result);
    expect(server.state.tokensIssued).toBe(2);
    expect(server.callsTo(submitPath).map((call) => [call.tokenNo, call.errorCode])).toEqual([
      [undefined, code], // overridden before the token was checked
      [2, undefined],
    ]);
    const tokenSteps = result.steps.filter((step) => step.kind === 'token');
    expect(tokenSteps).toHaveLength(3);
    expect(tokenSteps[1]).toMatchObject({ state: String(code), detail: stringContaining('retrying once') });
  });

  it('fails on a second 498 in a row instead of looping', async () => {
    const invalid = { error: { code: 498, message: 'Invalid token.', details: [] } };
    const server = await start({ overrides: [{ path: submitPath, times: 2, body: invalid }] });
    const result = await runRestart(config(server.portalUrl), recordingContext().ctx);

    const error = failureOf(result);
    expect(error).toMatchObject({ code: 'auth', title: 'ArcGIS token rejected' });
    expect(error.detail).toContain('error 498: Invalid token.');
    expect(server.callsTo(submitPath)).toHaveLength(2);
    expect(server.state.tokensIssued).toBe(2);
    expect(jobPolls(server)).toHaveLength(0);
  });

  it('renews a token before its advertised expiry (injected clock), never sending an expired one', async () => {
    const server = await start({ jobStatuses: ['EXECUTING', 'EXECUTING', 'EXECUTING', 'COMPLETED'] });
    let skewMs = 0;
    const recording = recordingContext({
      now: () => Date.now() + skewMs,
      // After the first poll the run's clock jumps 59.5 minutes: the 60-minute token is due for renewal.
      onSleep: () => {
        skewMs = 59.5 * 60_000;
      },
    });
    const result = await runRestart(config(server.portalUrl), recording.ctx);

    expectOk(result);
    expect(server.state.tokensIssued).toBe(2);
    expect(server.calls.some((call) => call.errorCode === 498)).toBe(false);
    expect(result.steps.filter((step) => step.kind === 'token').map((step) => step.detail)).toEqual([
      expect.stringContaining('token generated'),
      expect.stringContaining('renewed before it expired'),
    ]);
    expect(jobPolls(server).map((call) => call.tokenNo)).toEqual([1, 2, 2, 2]);
  });

  it('keeps working with short-lived tokens over a long job', async () => {
    const server = await start({ tokenLifetimeMs: 100, jobStatuses: [...Array<string>(15).fill('EXECUTING'), 'COMPLETED'] });
    const result = await runRestart(config(server.portalUrl, { pollIntervalMs: 20 }), recordingContext().ctx);

    expectOk(result);
    expect(server.state.tokensIssued).toBeGreaterThanOrEqual(2);
    expect(jobPolls(server).at(-1)?.tokenNo).toBe(server.state.tokensIssued);
  });

  it('recovers when the platform revokes the token early (498 mid-poll)', async () => {
    const server = await start({ enforcedTokenLifetimeMs: 100, jobStatuses: [...Array<string>(12).fill('EXECUTING'), 'COMPLETED'] });
    const result = await runRestart(config(server.portalUrl, { pollIntervalMs: 15 }), recordingContext().ctx);

    expectOk(result);
    const rejected = server.calls.filter((call) => call.errorCode === 498);
    expect(rejected.length).toBeGreaterThanOrEqual(1);
    expect(server.state.tokensIssued).toBe(rejected.length + 1);
    expect(result.steps.filter((step) => step.kind === 'token' && step.state === '498')).toHaveLength(rejected.length);
  });

  it('waits as long as Retry-After says on 429, then continues', async () => {
    const server = await start({
      overrides: [{ path: /\/jobs\//, status: 429, headers: { 'Retry-After': '2' }, body: { error: { code: 429, message: 'Too many requests.' } } }],
    });
    const recording = recordingContext({ maxRealSleepMs: 5 });
    const result = await runRestart(config(server.portalUrl), recording.ctx);

    expectOk(result);
    expect(recording.sleeps).toContain(2_000);
    const retry = result.steps.find((step) => step.kind === 'retry');
    expect(retry).toMatchObject({ state: '429', detail: stringContaining('in 2000 ms (Retry-After)') });
    expect(jobPolls(server)[0]?.status).toBe(429);
    expect(jobPolls(server)[1]?.status).toBe(200);
  });

  it('gives up after bounded retries with exponential backoff when the connection is refused', async () => {
    const port = await freePort();
    const recording = recordingContext({ maxRealSleepMs: 1 });
    const result = await runRestart(config(`http://127.0.0.1:${port}/arcgis`), recording.ctx);

    const error = failureOf(result);
    expect(error).toMatchObject({ code: 'unreachable', title: 'Platform unreachable' });
    expect(error.detail).toContain('failed after 4 attempts');
    expect(error.detail).toContain('ECONNREFUSED');
    expect(recording.sleeps).toEqual([250, 500, 1_000]);
    expect(result.steps.filter((step) => step.kind === 'retry')).toHaveLength(3);
  });

  it('succeeds when the platform comes back between retries', async () => {
    const port = await freePort();
    let fake: FakeArcgis | undefined;
    const recording = recordingContext({
      maxRealSleepMs: 1,
      onSleep: async (_ms, index) => {
        if (index === 1) fake = await start({ port });
      },
    });
    const result = await runRestart(config(`http://127.0.0.1:${port}/arcgis`), recording.ctx);

    expectOk(result);
    expect(result.steps.filter((step) => step.kind === 'retry')).toHaveLength(2);
    expect(fake?.state.tokensIssued).toBe(1);
  });

  it('ends a job stuck in EXECUTING with a deadline error, not a hang', async () => {
    const server = await start({ jobStatuses: ['EXECUTING'] });
    const startedAt = Date.now();
    const result = await runRestart(config(server.portalUrl, { deadlineMs: 250 }), recordingContext().ctx);

    const error = failureOf(result);
    expect(error).toMatchObject({ code: 'deadline', title: 'Restart deadline exceeded' });
    expect(error.detail).toContain('EXECUTING');
    expect(Date.now() - startedAt).toBeLessThan(2_000);
    expect(jobPolls(server).length).toBeGreaterThan(3);
    expect(result.steps.at(-1)?.kind).toBe('failed');
    expect(result.steps.filter((step) => step.kind === 'failed')).toHaveLength(1);
  });

  it('stops promptly when the caller aborts', async () => {
    const server = await start({ jobStatuses: ['EXECUTING'] });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 80);
    const result = await runRestart(config(server.portalUrl), recordingContext({ signal: controller.signal }).ctx);

    expect(failureOf(result)).toMatchObject({ code: 'cancelled', title: 'Restart cancelled' });
    // A request already on the wire may still land at the server; after that, nothing more.
    const pollsAtCancel = jobPolls(server).length;
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    await pause(50);
    const settled = jobPolls(server).length;
    await pause(100);
    expect(settled).toBeLessThanOrEqual(pollsAtCancel + 1);
    expect(jobPolls(server).length).toBe(settled);
  });

  it('never exposes the password or tokens in steps, errors or logs, even when the platform echoes them', async () => {
    const server = await start({
      jobStatuses: [...Array<string>(8).fill('EXECUTING'), 'FAILED'],
      jobMessages: [`could not authenticate ${FAKE_ARCGIS_USERNAME} with password ${FAKE_ARCGIS_PASSWORD}`],
    });
    // Tokens revoked twice mid-run, at fixed polls rather than by a short real-time lifetime.
    const recording = recordingContext({ onSleep: (_ms, index) => (index === 1 || index === 3 ? server.invalidateTokens() : undefined) });
    const result = await runRestart(config(server.portalUrl, { pollIntervalMs: 15 }), recording.ctx);

    const error = failureOf(result);
    expect(error.detail).toContain('with password ***');
    expect(server.state.tokensIssued).toBe(3);
    const exposed = exposedText(result, recording);
    expect(recording.logs()).toContain('"step":"token"');
    expect(exposed).not.toContain(FAKE_ARCGIS_PASSWORD);
    expect(exposed).not.toContain(encodeURIComponent(FAKE_ARCGIS_PASSWORD));
    expect(exposed).not.toContain('fake-token-');
  });
});
