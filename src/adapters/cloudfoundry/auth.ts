/** Cloud Foundry sign-in: find the UAA, get a bearer token, renew it before it expires. */
import { z } from 'zod';
import type { AdapterRun } from '../adapter-run.js';
import { RestartError } from '../errors.js';
import { describeRequest } from '../http.js';
import { parsePlatformBody } from '../platform-response.js';
import { cfErrorIn, formatCfError } from './errors.js';

export type CfCredentials = { grant: 'password'; username: string; password: string } | { grant: 'client_credentials'; clientId: string; clientSecret: string };

const v2Info = z.looseObject({ token_endpoint: z.string().min(1) });
const rootLinks = z.looseObject({ links: z.looseObject({ uaa: z.looseObject({ href: z.string().min(1) }) }) });
const tokenResponse = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.number().optional(),
});

const RENEW_SHARE = 0.1;
const MAX_RENEW_MARGIN_MS = 60_000;

/** `token_endpoint` of /v2/info, else `links.uaa.href` of the root (v2 may be switched off). */
async function discoverUaa(apiUrl: string, run: AdapterRun): Promise<string> {
  const info = await run.http({ method: 'GET', url: `${apiUrl}/v2/info` });
  const fromInfo = info.status === 200 ? v2Info.safeParse(info.body) : undefined;
  if (fromInfo?.success) return fromInfo.data.token_endpoint.replace(/\/+$/, '');
  const root = await run.http({ method: 'GET', url: `${apiUrl}/` });
  const fromRoot = root.status === 200 ? rootLinks.safeParse(root.body) : undefined;
  if (fromRoot?.success) return fromRoot.data.links.uaa.href.replace(/\/+$/, '');
  throw new RestartError(
    'unexpected-response',
    'Cloud Foundry UAA not found',
    `neither GET ${apiUrl}/v2/info (HTTP ${info.status}) nor GET ${apiUrl}/ (HTTP ${root.status}) named the UAA`,
  );
}

function basic(user: string, secret: string): string {
  // RFC 6749 §2.3.1: client id and secret are form-encoded before base64.
  return `Basic ${Buffer.from(`${encodeURIComponent(user)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

export interface CfTokenSession {
  current(): Promise<string>;
  discard(): void;
}

export function createCfTokenSession(apiUrl: string, credentials: CfCredentials, run: AdapterRun): CfTokenSession {
  let uaaUrl: string | undefined;
  let held: { token: string; renewAt: number } | undefined;

  async function requestToken(): Promise<{ token: string; renewAt: number; expiresIn: number | undefined }> {
    uaaUrl ??= await discoverUaa(apiUrl, run);
    const url = `${uaaUrl}/oauth/token`;
    const what = describeRequest('POST', url);
    // The cf CLI's public client "cf" with an empty secret is what the password grant expects.
    const request: { authorization: string; form: Record<string, string> } =
      credentials.grant === 'password'
        ? {
            authorization: basic('cf', ''),
            form: { grant_type: 'password', username: credentials.username, password: credentials.password },
          }
        : {
            authorization: basic(credentials.clientId, credentials.clientSecret),
            form: { grant_type: 'client_credentials' },
          };
    // A second token is harmless: signing in may be retried like a read.
    const response = await run.http({ method: 'POST', url, repeatable: true, headers: { authorization: request.authorization }, form: request.form });
    const error = cfErrorIn(response.status, response.body);
    if (error) throw new RestartError('auth', 'Cloud Foundry sign-in failed', `${what}: ${formatCfError(error)}`);
    const body = parsePlatformBody(tokenResponse, response.body, what);
    run.keepSecret(body.access_token);
    const now = run.now();
    const lifetimeMs = body.expires_in === undefined ? undefined : body.expires_in * 1000;
    const renewAt = lifetimeMs === undefined ? Number.POSITIVE_INFINITY : now + lifetimeMs - Math.min(MAX_RENEW_MARGIN_MS, lifetimeMs * RENEW_SHARE);
    return { token: body.access_token, renewAt, expiresIn: body.expires_in };
  }

  const who = credentials.grant === 'password' ? `user ${credentials.username}` : `client ${credentials.clientId}`;

  return {
    async current() {
      if (held && run.now() < held.renewAt) return held.token;
      const renewing = held !== undefined;
      const fresh = await requestToken();
      held = { token: fresh.token, renewAt: fresh.renewAt };
      const expiry = fresh.expiresIn === undefined ? '' : `, expires in ${fresh.expiresIn} s`;
      const verb = renewing ? 'renewed before it expired' : `obtained (${credentials.grant} grant, ${who})`;
      run.report('token', `UAA token ${verb}${expiry}`);
      return fresh.token;
    },
    discard() {
      held = undefined;
    },
  };
}
