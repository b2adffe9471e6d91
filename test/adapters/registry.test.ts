import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  adapterNames,
  defineAdapter,
  getAdapter,
  parseRestartConfig,
  redactRestartConfig,
  registerAdapter,
  restartConfigSchema,
  RestartConfigError,
  RestartError,
  runRestart,
  safeParseRestartConfig,
  type RestartAdapter,
} from '../../src/adapters/index.js';
import { failureOf, recordingContext } from './helpers.js';
import { stringContaining } from '../helpers/matchers.js';

const arcgis = {
  adapter: 'arcgis-deployment',
  when: 'before-refresh',
  portalUrl: 'https://gis.example.com/portal/',
  username: 'admin',
  password: 'Sup3r-Secret-Value',
  deploymentId: 'kvyxph9w5h3o9vgk8dixn',
};

const cloudFoundry = {
  adapter: 'cloudfoundry-restage',
  when: 'on-failure',
  apiUrl: 'https://api.sys.example.com',
  appGuid: 'c462b988-8644-4bf6-83cb-32a12c3d1564',
  auth: { grant: 'client_credentials', clientId: 'rendercache', clientSecret: 'Client-Secret-Value' },
};

function issuesOf(raw: unknown): string[] {
  const result = safeParseRestartConfig(raw);
  if (result.success) throw new Error('expected validation issues');
  return result.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('adapter registry', () => {
  it('registers the built-in adapters', () => {
    expect(adapterNames()).toEqual(['arcgis-all-services', 'arcgis-deployment', 'cloudfoundry-restage']);
    expect(getAdapter('arcgis-deployment')?.name).toBe('arcgis-deployment');
    expect(getAdapter('nope')).toBeUndefined();
  });

  it('applies the common and adapter defaults and keeps the config flat', () => {
    expect(parseRestartConfig(arcgis)).toEqual({
      adapter: 'arcgis-deployment',
      when: 'before-refresh',
      failureThresholdPercent: 50,
      pollIntervalMs: 2_000,
      deadlineMs: 600_000,
      portalUrl: 'https://gis.example.com/portal',
      username: 'admin',
      password: 'Sup3r-Secret-Value',
      deploymentId: 'kvyxph9w5h3o9vgk8dixn',
      async: true,
      waitForStatus: true,
      tokenExpirationMinutes: 60,
    });
    expect(parseRestartConfig(cloudFoundry)).toMatchObject({ mode: 'v2-restage', failureThresholdPercent: 50 });
    const { deploymentId: _deploymentId, ...allServices } = arcgis;
    expect(parseRestartConfig({ ...allServices, adapter: 'arcgis-all-services' })).toMatchObject({
      adapter: 'arcgis-all-services',
      tokenExpirationMinutes: 60,
    });
  });

  it('parsing is idempotent, so runRestart can re-validate a parsed config', () => {
    const once = parseRestartConfig(cloudFoundry);
    expect(parseRestartConfig(once)).toEqual(once);
  });

  it('rejects an unknown adapter, naming the known ones', () => {
    expect(issuesOf({ ...arcgis, adapter: 'heroku-restart' })).toEqual([
      'adapter: unknown restart adapter "heroku-restart"; known adapters: arcgis-all-services, arcgis-deployment, cloudfoundry-restage',
    ]);
    expect(() => parseRestartConfig({ ...arcgis, adapter: 'heroku-restart' })).toThrow(RestartConfigError);
  });

  it('requires a secret, inline or by environment variable name', () => {
    const { password: _password, ...noSecret } = arcgis;
    expect(issuesOf(noSecret)).toEqual(['password: password is required: give password or passwordEnv (the name of an environment variable holding it)']);
    expect(issuesOf({ ...cloudFoundry, auth: { grant: 'client_credentials', clientId: 'x' } })).toEqual([
      'auth.clientSecret: clientSecret is required: give clientSecret or clientSecretEnv (the name of an environment variable holding it)',
    ]);
  });

  it('refuses both an inline secret and an env variable, without echoing the secret', () => {
    const issues = issuesOf({ ...arcgis, passwordEnv: 'ARCGIS_PASSWORD' });
    expect(issues).toEqual(['password: give either password or passwordEnv, not both']);
    const thrown = (() => {
      try {
        parseRestartConfig({ ...arcgis, passwordEnv: 'ARCGIS_PASSWORD' });
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(thrown).toBeInstanceOf(RestartConfigError);
    expect(String((thrown as Error).message)).not.toContain(arcgis.password);
    expect(issuesOf({ ...cloudFoundry, auth: { ...cloudFoundry.auth, clientSecretEnv: 'CF_SECRET' } })).toEqual([
      'auth.clientSecret: give either clientSecret or clientSecretEnv, not both',
    ]);
  });

  it('reports common and adapter issues together', () => {
    const issues = issuesOf({
      adapter: 'cloudfoundry-restage',
      when: 'sometimes',
      pollIntervalMs: 0,
      apiUrl: 'http://api.sys.example.com',
      appGuid: 'x',
      auth: { grant: 'implicit' },
      mod: 'v3-rolling',
    });
    expect(issues).toEqual([
      expect.stringMatching(/^when: /),
      expect.stringMatching(/^pollIntervalMs: /),
      expect.stringMatching(/^apiUrl: must use https/),
      expect.stringMatching(/^auth\.grant: /),
      expect.stringMatching(/^: Unrecognized key: "mod"/),
    ]);
  });

  it('allows plain http only for the local machine', () => {
    expect(safeParseRestartConfig({ ...arcgis, portalUrl: 'http://127.0.0.1:8080/arcgis' }).success).toBe(true);
    expect(safeParseRestartConfig({ ...arcgis, portalUrl: 'http://localhost/arcgis' }).success).toBe(true);
    expect(issuesOf({ ...arcgis, portalUrl: 'http://gis.example.com/arcgis' })).toEqual([
      'portalUrl: must use https (plain http is accepted only for localhost)',
    ]);
  });

  it('rejects a restart block that is not an object', () => {
    expect(issuesOf('arcgis')).toEqual([': restart must be an object']);
    expect(issuesOf({ when: 'manual' })).toEqual([expect.stringMatching(/^adapter: /)]);
  });

  it('embeds in a larger zod schema with paths pointing into the restart block', () => {
    const siteSchema = z.object({ name: z.string(), restart: restartConfigSchema.optional() });
    const ok = siteSchema.parse({ name: 'maps', restart: arcgis });
    expect(ok.restart).toMatchObject({ adapter: 'arcgis-deployment', async: true });
    const bad = siteSchema.safeParse({ name: 'maps', restart: { ...arcgis, adapter: 'nope' } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]).toMatchObject({ path: ['restart', 'adapter'], message: stringContaining('known adapters') });
  });

  it('masks every secret for API answers, keeping env variable names, without mutating the input', () => {
    const parsed = parseRestartConfig(cloudFoundry);
    const redacted = redactRestartConfig(parsed);
    expect(redacted).toMatchObject({ auth: { grant: 'client_credentials', clientId: 'rendercache', clientSecret: '***' } });
    expect(parsed).toMatchObject({ auth: { clientSecret: 'Client-Secret-Value' } });
    expect(redactRestartConfig(parseRestartConfig(arcgis))).toMatchObject({ password: '***', username: 'admin' });
    const { password: _password, ...rest } = arcgis;
    expect(redactRestartConfig(parseRestartConfig({ ...rest, passwordEnv: 'ARCGIS_PASSWORD' }))).toMatchObject({ passwordEnv: 'ARCGIS_PASSWORD' });
    expect(JSON.stringify(redactRestartConfig({ adapter: 'x', nested: [{ password: 'p4ssw0rd!' }] }))).not.toContain('p4ssw0rd!');
  });

  it('never rejects: an invalid config becomes a config failure', async () => {
    const recording = recordingContext();
    const result = await runRestart({ ...parseRestartConfig(arcgis), deploymentId: '' }, recording.ctx);
    expect(failureOf(result)).toMatchObject({ code: 'config', title: 'Invalid restart config', detail: stringContaining('deploymentId') });
    expect(recording.steps.map((step) => step.kind)).toEqual(['failed']);
  });
});

describe('plugging in a new adapter', () => {
  const calls: string[] = [];
  const echoAdapter = defineAdapter({
    name: 'test-echo',
    configSchema: z.strictObject({ target: z.string(), behaviour: z.enum(['ok', 'fail', 'hang', 'ignore-signal', 'throw']) }),
    secretKeys: ['apiKey'],
    async run(config, run) {
      calls.push(config.target);
      run.report('submitted', `asked ${config.target}`, { platformJobId: 'job-1' });
      if (config.behaviour === 'fail') throw new RestartError('platform', 'Echo failed', 'the echo platform said no');
      if (config.behaviour === 'throw') throw new TypeError('a bug');
      if (config.behaviour === 'hang') {
        for (;;) {
          run.report('polled', 'still waiting', { state: 'WAITING' });
          await run.sleep(run.pollIntervalMs);
        }
      }
      // Ignores its signal entirely: runRestart must still settle at the deadline.
      if (config.behaviour === 'ignore-signal') await new Promise(() => {});
      return `${config.target} is healthy`;
    },
  });
  beforeAll(() => registerAdapter(echoAdapter));

  const echo = (behaviour: string, extra: Record<string, unknown> = {}) =>
    parseRestartConfig({ adapter: 'test-echo', when: 'manual', target: 'origin-1', behaviour, pollIntervalMs: 10, ...extra });

  it('is validated and run by name, with no other registration', async () => {
    expect(adapterNames()).toContain('test-echo');
    const recording = recordingContext();
    const result = await runRestart(echo('ok'), recording.ctx);
    expect(result).toEqual({ ok: true, steps: recording.steps });
    expect(result.steps.map((step) => [step.kind, step.detail])).toEqual([
      ['submitted', 'asked origin-1'],
      ['healthy', 'origin-1 is healthy'],
    ]);
    expect(calls).toContain('origin-1');
    expect(issuesOf({ adapter: 'test-echo', when: 'manual', target: 'x', behaviour: 'explode' })).toHaveLength(1);
  });

  it('refuses a second adapter with the same name', () => {
    const duplicate: RestartAdapter<{ target: string }> = { ...echoAdapter, configSchema: z.object({ target: z.string() }) };
    expect(() => registerAdapter(duplicate)).toThrow(/already registered/);
  });

  it('turns a thrown RestartError, or a bug, into a failed result with a failed step', async () => {
    const failed = await runRestart(echo('fail'), recordingContext().ctx);
    expect(failureOf(failed)).toEqual({ code: 'platform', title: 'Echo failed', detail: 'the echo platform said no' });
    expect(failed.steps.at(-1)).toMatchObject({ kind: 'failed', detail: 'Echo failed: the echo platform said no' });
    const bug = await runRestart(echo('throw'), recordingContext().ctx);
    expect(failureOf(bug)).toEqual({ code: 'internal', title: 'Restart failed', detail: 'a bug' });
  });

  it('applies deadlineMs and reports the last state', async () => {
    const startedAt = Date.now();
    const result = await runRestart(echo('hang', { deadlineMs: 100 }), recordingContext().ctx);
    expect(failureOf(result)).toMatchObject({ code: 'deadline', detail: stringContaining('within 100 ms; last state: still waiting') });
    expect(Date.now() - startedAt).toBeLessThan(1_000);
    expect(result.steps.filter((step) => step.kind === 'failed')).toHaveLength(1);
  });

  it('settles at the deadline even when an adapter ignores its signal', async () => {
    const result = await runRestart(echo('ignore-signal', { deadlineMs: 80 }), recordingContext().ctx);
    expect(failureOf(result)).toMatchObject({ code: 'deadline' });
  });

  it('reports cancellation by the caller, before or during the restart', async () => {
    const before = new AbortController();
    before.abort();
    const early = await runRestart(echo('hang'), recordingContext({ signal: before.signal }).ctx);
    expect(failureOf(early)).toMatchObject({ code: 'cancelled' });
    expect(calls.filter((target) => target === 'never')).toHaveLength(0);

    const during = new AbortController();
    setTimeout(() => during.abort(), 40);
    const late = await runRestart(echo('hang'), recordingContext({ signal: during.signal }).ctx);
    expect(failureOf(late)).toMatchObject({ code: 'cancelled', title: 'Restart cancelled' });
  });

  it('survives an onStep listener that throws', async () => {
    const recording = recordingContext();
    recording.ctx.onStep = () => {
      throw new Error('listener bug');
    };
    const result = await runRestart(echo('ok'), recording.ctx);
    expect(result.ok).toBe(true);
    expect(recording.logs()).toContain('onStep listener threw');
  });

  it('redacts the adapter-declared secret keys', () => {
    expect(redactRestartConfig({ adapter: 'test-echo', apiKey: 'k-123456', target: 't' })).toEqual({ adapter: 'test-echo', apiKey: '***', target: 't' });
  });
});
