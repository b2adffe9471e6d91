/**
 * Authenticated calls to the ArcGIS Enterprise Administrator API: the token goes in the form
 * body of POSTs and in the query of GETs (CONTRACTS.md names no other way for a GET), and only
 * to the portal's origin. Every body is inspected for an error whatever the HTTP status, and a
 * 498/499 gets one new token and one retry.
 */
import type { z } from 'zod';
import type { AdapterRun } from '../adapter-run.js';
import { RestartError } from '../errors.js';
import { describeRequest, type HttpRequest } from '../http.js';
import { parsePlatformBody, summarize } from '../platform-response.js';
import type { ArcgisConnection } from './config.js';
import { arcgisErrorIn, formatArcgisError, isTokenError, type ArcgisError } from './errors.js';
import { createArcgisTokenSession } from './token.js';

export interface ArcgisClient {
  /** `<portal>/admin`. */
  readonly adminRoot: string;
  post<T>(url: string, form: Record<string, string>, schema: z.ZodType<T>, options?: { timeoutMs?: number | null }): Promise<T>;
  get<T>(url: string, schema: z.ZodType<T>): Promise<T>;
}

export function createArcgisClient(connection: ArcgisConnection, run: AdapterRun): ArcgisClient {
  const tokens = createArcgisTokenSession(connection, run);
  const headers = { referer: connection.referer };
  const portalOrigin = new URL(connection.portalUrl).origin;

  /** The token is the portal's: a URL from elsewhere (a platform answer) never gets it. */
  function checkOrigin(what: string, url: string): void {
    const origin = new URL(url).origin;
    if (origin === portalOrigin) return;
    throw new RestartError(
      'unexpected-response',
      'ArcGIS token kept from another origin',
      `${what} is not on the portal's origin ${portalOrigin}; rendercache sends the ArcGIS token only there and did not call it`,
    );
  }

  function buildRequest(method: 'GET' | 'POST', url: string, form: Record<string, string>, token: string, timeoutMs?: number | null): HttpRequest {
    if (method === 'POST') return { method, url, headers, form: { ...form, f: 'json', token }, timeoutMs };
    const target = new URL(url);
    target.searchParams.set('f', 'json');
    target.searchParams.set('token', token);
    return { method, url: target.toString(), headers, timeoutMs };
  }

  async function call<T>(method: 'GET' | 'POST', url: string, form: Record<string, string>, schema: z.ZodType<T>, timeoutMs?: number | null): Promise<T> {
    const what = describeRequest(method, url);
    checkOrigin(what, url);
    for (let attempt = 1; ; attempt++) {
      const token = await tokens.current();
      const response = await run.http(buildRequest(method, url, form, token, timeoutMs));
      const error: ArcgisError | undefined =
        arcgisErrorIn(response.body) ?? (response.status === 498 || response.status === 499 ? { code: response.status, message: 'token error' } : undefined);
      if (error && isTokenError(error)) {
        if (attempt === 1) {
          tokens.discard();
          run.report('token', `${what}: token rejected (${formatArcgisError(error)}); requesting a new token and retrying once`, {
            state: String(error.code),
          });
          continue;
        }
        throw new RestartError('auth', 'ArcGIS token rejected', `${what}: ${formatArcgisError(error)}, again after a new token`);
      }
      if (error) throw new RestartError('platform', 'ArcGIS request failed', `${what}: ${formatArcgisError(error)}`);
      if (response.status < 200 || response.status >= 300) {
        const text = summarize(response.text, 200);
        throw new RestartError('platform', 'ArcGIS request failed', `${what}: HTTP ${response.status}${text ? ` ${text}` : ''}`);
      }
      return parsePlatformBody(schema, response.body, what);
    }
  }

  return {
    adminRoot: `${connection.portalUrl}/admin`,
    post: (url, form, schema, options) => call('POST', url, form, schema, options?.timeoutMs),
    get: (url, schema) => call('GET', url, {}, schema),
  };
}
