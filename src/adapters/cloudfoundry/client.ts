/**
 * Authenticated Cloud Controller calls (v2 and v3). A 401 CF-InvalidAuthToken gets one new
 * token and one retry; other errors are handed back so callers can decide (CF-NotStaged while
 * polling instances is not a failure).
 */
import type { z } from 'zod';
import type { AdapterRun } from '../adapter-run.js';
import { RestartError } from '../errors.js';
import { describeRequest } from '../http.js';
import { parsePlatformBody } from '../platform-response.js';
import { createCfTokenSession, type CfCredentials } from './auth.js';
import { cfErrorIn, cfRestartError, formatCfError, isInvalidTokenError, type CfError } from './errors.js';

export interface CfReply {
  /** "METHOD url" for messages. */
  what: string;
  status: number;
  body: unknown;
  error: CfError | undefined;
}

export interface CfClient {
  send(method: 'GET' | 'POST', path: string, json?: unknown): Promise<CfReply>;
}

export function createCfClient(apiUrl: string, credentials: CfCredentials, run: AdapterRun): CfClient {
  const tokens = createCfTokenSession(apiUrl, credentials, run);
  const apiOrigin = new URL(apiUrl).origin;

  return {
    async send(method, path, json) {
      const url = `${apiUrl}${path}`;
      const what = describeRequest(method, url);
      // The bearer token is the Cloud Controller's: never sent anywhere else.
      if (new URL(url).origin !== apiOrigin) {
        throw new RestartError('internal', 'Cloud Foundry token kept from another origin', `${what} is not on ${apiOrigin}`);
      }
      for (let attempt = 1; ; attempt++) {
        const token = await tokens.current();
        const response = await run.http({ method, url, headers: { authorization: `bearer ${token}` }, json });
        const error = cfErrorIn(response.status, response.body);
        if (error && isInvalidTokenError(error)) {
          if (attempt === 1) {
            tokens.discard();
            run.report('token', `${what}: token rejected (${formatCfError(error)}); requesting a new token and retrying once`, {
              state: error.name ?? String(error.status),
            });
            continue;
          }
          throw new RestartError('auth', 'Cloud Foundry token rejected', `${what}: ${formatCfError(error)}, again after a new token`);
        }
        return { what, status: response.status, body: response.body, error };
      }
    },
  };
}

/** The body of a successful reply read against `schema`; any error or other status throws. */
export function readCfReply<T>(reply: CfReply, schema: z.ZodType<T>, expectedStatus: number): T {
  if (reply.error) throw cfRestartError(reply.what, reply.error);
  if (reply.status !== expectedStatus) {
    throw new RestartError('unexpected-response', 'Unexpected platform response', `${reply.what}: HTTP ${reply.status}, expected ${expectedStatus}`);
  }
  return parsePlatformBody(schema, reply.body, reply.what);
}
