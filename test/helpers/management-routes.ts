/**
 * What the tests that try every management route share (test/api/route-auth,
 * test/api/malformed-corpus): the routes, the tokens, and the service they run against.
 */

/** An Owner and a Viewer of site `main`. */
export const ROUTE_TOKENS = { owner: 'owner-token-123', viewer: 'viewer-token-123' } as const;

/** A job id of the right shape that no job has. */
export const UNKNOWN_JOB = 'ABCDEF0123456789ABCDEF0123456789';

/**
 * Every route of the Management API once, as [method, path after API_BASE], on site `site`;
 * the site deleted is `deletable` (a delete needs an offline site to get past the state check).
 */
export function managementRoutes(site: string, deletable = site): ReadonlyArray<readonly [string, string]> {
  return [
    ['GET', '/sites'],
    ['GET', `/sites/${site}`],
    ['POST', `/sites/${site}/activate`],
    ['POST', `/sites/${site}/deactivate`],
    ['DELETE', `/sites/${deletable}`],
    ['POST', `/sites/${site}/restore`],
    ['POST', `/sites/${site}/refresh`],
    ['POST', `/sites/${site}/origin/restart`],
    ['GET', `/sites/${site}/cache`],
    ['GET', `/sites/${site}/cache/status`],
    ['GET', `/sites/_status/${UNKNOWN_JOB}`],
    ['GET', `/sites/_status/${UNKNOWN_JOB}/pages`],
    ['DELETE', `/sites/_status/${UNKNOWN_JOB}`],
  ];
}

/**
 * The service config of those tests: the two tokens, site `main` (its origin, port 9, is never
 * reached) and `sites` after it, a rate limit never in the way, one render attempt.
 */
export function routeTestConfig({ api = {}, sites = [] }: { api?: Record<string, unknown>; sites?: Array<Record<string, unknown>> } = {}) {
  return {
    auth: { tokens: Object.entries(ROUTE_TOKENS).map(([user, token]) => ({ token, user })) },
    api: { rateLimit: { points: 100_000, windowSeconds: 60 }, ...api },
    refresh: { maxAttempts: 1, retryBackoffMs: 10 },
    sites: [{ id: 'main', name: 'Main', origin: 'http://127.0.0.1:9', pages: { urls: ['/'] }, members: { owner: 'Owner', viewer: 'Viewer' } }, ...sites],
  };
}
