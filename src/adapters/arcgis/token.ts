/** ArcGIS tokens: generate, renew before expiry, drop when the platform rejects one. */
import { z } from 'zod';
import type { AdapterRun } from '../adapter-run.js';
import { RestartError } from '../errors.js';
import { describeRequest } from '../http.js';
import { parsePlatformBody, summarize } from '../platform-response.js';
import type { ArcgisConnection } from './config.js';
import { arcgisErrorIn, formatArcgisError } from './errors.js';

const tokenResponse = z.looseObject({
  token: z.string().min(1),
  /** Epoch milliseconds. */
  expires: z.number(),
  ssl: z.boolean().optional(),
});

/** Renew when less than this share of the lifetime is left (at most a minute before expiry). */
const RENEW_SHARE = 0.1;
const MAX_RENEW_MARGIN_MS = 60_000;

export interface ArcgisTokenSession {
  /** A token valid for a while yet; generates or renews as needed. */
  current(): Promise<string>;
  /** Forget the token the platform just rejected, so the next `current()` generates a new one. */
  discard(): void;
}

export function createArcgisTokenSession(connection: ArcgisConnection, run: AdapterRun): ArcgisTokenSession {
  let held: { token: string; renewAt: number } | undefined;
  let generated = 0;

  async function generate(): Promise<{ token: string; renewAt: number; expires: number }> {
    const url = `${connection.portalUrl}/sharing/rest/generateToken`;
    const what = describeRequest('POST', url);
    const response = await run.http({
      method: 'POST',
      url,
      // A second token is harmless: signing in may be retried like a read.
      repeatable: true,
      headers: { referer: connection.referer },
      form: {
        username: connection.username,
        password: connection.password,
        client: 'referer',
        referer: connection.referer,
        expiration: String(connection.tokenExpirationMinutes),
        f: 'json',
      },
    });
    const error = arcgisErrorIn(response.body);
    if (error) throw new RestartError('auth', 'ArcGIS sign-in failed', `${what}: ${formatArcgisError(error)}`);
    if (response.status < 200 || response.status >= 300) {
      throw new RestartError('auth', 'ArcGIS sign-in failed', `${what}: HTTP ${response.status} ${summarize(response.text, 200)}`);
    }
    const body = parsePlatformBody(tokenResponse, response.body, what);
    run.keepSecret(body.token);
    const now = run.now();
    // A skewed platform clock can make `expires` look past; fall back to the lifetime we asked for.
    const expires = body.expires > now ? body.expires : now + connection.tokenExpirationMinutes * 60_000;
    const margin = Math.min(MAX_RENEW_MARGIN_MS, (expires - now) * RENEW_SHARE);
    return { token: body.token, renewAt: expires - margin, expires };
  }

  return {
    async current() {
      if (held && run.now() < held.renewAt) return held.token;
      const renewing = held !== undefined;
      const fresh = await generate();
      generated++;
      held = { token: fresh.token, renewAt: fresh.renewAt };
      const until = new Date(fresh.expires).toISOString();
      const detail = renewing
        ? `token renewed before it expired (valid until ${until})`
        : `token ${generated === 1 ? 'generated' : 'regenerated'} for ${connection.username} (valid until ${until})`;
      run.report('token', detail);
      return fresh.token;
    },
    discard() {
      held = undefined;
    },
  };
}
