/**
 * `cloudfoundry-restage`: restage a Cloud Foundry app and wait until it runs again, through
 * the v2 restage endpoint (default) or a v3 build plus rolling deployment (no downtime).
 */
import { z } from 'zod';
import { defineAdapter, type AdapterRun } from '../adapter-run.js';
import { envVarName, exactlyOneSecret, nonEmpty, platformUrl } from '../config-fields.js';
import { resolveSecret } from '../secrets.js';
import type { CfCredentials } from './auth.js';
import { createCfClient } from './client.js';
import { restageV2 } from './v2-restage.js';
import { restageV3Rolling } from './v3-rolling.js';

const passwordGrant = z
  .strictObject({
    grant: z.literal('password'),
    username: nonEmpty,
    password: z.string().min(1).optional(),
    passwordEnv: envVarName.optional(),
  })
  .superRefine(exactlyOneSecret('password', 'passwordEnv'));

const clientCredentialsGrant = z
  .strictObject({
    grant: z.literal('client_credentials'),
    clientId: nonEmpty,
    clientSecret: z.string().min(1).optional(),
    clientSecretEnv: envVarName.optional(),
  })
  .superRefine(exactlyOneSecret('clientSecret', 'clientSecretEnv'));

export const cloudFoundryRestageConfig = z.strictObject({
  /** Cloud Controller API, e.g. https://api.sys.example.com. */
  apiUrl: platformUrl,
  appGuid: nonEmpty,
  auth: z.discriminatedUnion('grant', [passwordGrant, clientCredentialsGrant]),
  mode: z.enum(['v2-restage', 'v3-rolling']).default('v2-restage'),
});

export type CloudFoundryRestageConfig = z.infer<typeof cloudFoundryRestageConfig>;

function resolveCredentials(auth: CloudFoundryRestageConfig['auth'], run: AdapterRun): CfCredentials {
  if (auth.grant === 'password') {
    const password = resolveSecret('Cloud Foundry password', auth.password, auth.passwordEnv, run.env);
    run.keepSecret(password);
    return { grant: 'password', username: auth.username, password };
  }
  const clientSecret = resolveSecret('Cloud Foundry client secret', auth.clientSecret, auth.clientSecretEnv, run.env);
  run.keepSecret(clientSecret);
  return { grant: 'client_credentials', clientId: auth.clientId, clientSecret };
}

export const cloudFoundryRestageAdapter = defineAdapter({
  name: 'cloudfoundry-restage',
  configSchema: cloudFoundryRestageConfig,
  secretKeys: ['password', 'clientSecret'],
  async run(config, run) {
    const cf = createCfClient(config.apiUrl, resolveCredentials(config.auth, run), run);
    return config.mode === 'v3-rolling' ? restageV3Rolling(cf, run, config.appGuid) : restageV2(cf, run, config.appGuid);
  },
});
