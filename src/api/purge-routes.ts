import Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import { decodeIfEncoded } from '../cache/key.js';
import type { PageCache } from '../cache/page-cache.js';
import { exactUrl, parsePrerenderQuery, type UrlGlob } from '../cache/purge-match.js';
import type { SiteDirectory } from '../sites/site-directory.js';
import { jsonBodyEdge, spendBudget, type ApiEdgeOptions } from './api-edge.js';
import { tokenCallers, type Caller } from './auth.js';
import { errors } from './errors.js';
import { recordRoute } from './openapi/route-doc.js';
import { requestBody } from './routes/job-requests.js';
import { badPattern, deletedCount, purgeableSite, purgeSitePages } from './routes/site-purge.js';
import { validate } from './validate.js';

/** prerender.io's cache-clear body: the token and a URL where `%` stands for any characters. */
const cacheClearBody = z.object({
  prerenderToken: z.string().min(1).max(512),
  query: z.string().min(1).max(4096),
});

const purgeAnswer = z.object({ ok: z.literal(true), deleted: deletedCount }).meta({ id: 'PurgeAnswer' });

export interface PurgeRoutesDeps {
  sites: SiteDirectory;
  cache: PageCache;
  /** The management API's tokens, request budget and body limits. */
  edge: ApiEdgeOptions;
}

const NO_SITE = 'The query names no configured site: it must begin with the origin of a site (and its base path) before the first %.';
const INVALIDATE = '/invalidate/';

/**
 * The purge calls of the services rendercache stands in for, beside prerender.io's
 * `POST /recache` (prerender-routes): prerender.io's `POST /cache-clear` (a URL pattern, the
 * token in the body) and Rendertron's `GET /invalidate/{url}` (one URL, a management token
 * in a header). Both need the Manager role on the site of the URLs, behind the management
 * API's request budget; its `DELETE …/sites/{id}/cache` is the third way in (routes/cache),
 * and all three purge through `purgeSitePages`.
 */
export function purgeRoutes(deps: PurgeRoutesDeps): Router {
  const router = new Router();
  const callerOf = tokenCallers(deps.edge.tokens);

  router.post('/cache-clear', jsonBodyEdge(deps.edge), async (ctx) => {
    const body = validate(cacheClearBody, requestBody(ctx) ?? {}, 'body');
    const caller = callerOf(body.prerenderToken);
    if (!caller) throw errors.unauthorized('The prerenderToken is not a valid token (auth.tokens).');
    await spendBudget(deps.edge.limiter, caller.user);
    let glob: UrlGlob;
    try {
      glob = parsePrerenderQuery(body.query);
    } catch (err) {
      badPattern(err, 'query');
    }
    await purge(ctx, deps, caller, glob, NO_SITE);
  });
  recordRoute(router, {
    method: 'post',
    path: '/cache-clear',
    doc: {
      summary: 'Removes cached pages by URL pattern, as prerender.io\u2019s cache-clear does',
      description:
        'The body is prerender.io\u2019s: {"prerenderToken", "query"}, where "%" in the query stands for any characters (https://www.example.com/blog/%). The text before the first "%" must begin with a configured site\u2019s origin, and the purge covers that site\u2019s pages (a site nested under another base path keeps its own); without a "%" the query is one page URL. Matched against the normalised URLs the cache keeps (lower-case scheme and host, no default port, no tracking parameters, query sorted, non-ASCII percent-encoded). Every device variant of each page is removed, from the store and from every instance\u2019s memory; the next lookup renders again. The token is one of auth.tokens; its user needs the Manager role on the site. 404 RENDERCACHE-URL-002 when the query names no configured site or one the token has no role on; 403 below Manager.',
      tags: ['prerender.io compatible'],
      body: cacheClearBody,
      bodyRequired: true,
      responses: { 200: { description: 'The pages are gone; how many entries the store held', schema: purgeAnswer } },
      errors: [400, 401, 403, 404, 408, 413, 415, 429, 503],
    },
  });

  // The page URL is read from the raw request URL (a query string of its own included), as lookups read it.
  router.get(`${INVALIDATE}*pageUrl`, async (ctx) => {
    const caller = callerOf(headerToken(ctx));
    if (!caller) {
      throw errors.unauthorized(
        'Send a management token (auth.tokens) in X-Rendercache-Token or Authorization: Bearer.',
        {},
        {
          'www-authenticate': 'Bearer realm="rendercache"',
        },
      );
    }
    await spendBudget(deps.edge.limiter, caller.user);
    let glob: UrlGlob;
    try {
      glob = exactUrl(decodeIfEncoded(ctx.url.slice(INVALIDATE.length)));
    } catch (err) {
      badPattern(err, 'page URL');
    }
    await purge(ctx, deps, caller, glob, `${glob.siteProbe} is not a page of a configured site.`);
  });
  recordRoute(router, {
    method: 'get',
    path: `${INVALIDATE}*pageUrl`,
    doc: {
      summary: 'Removes one page from the cache, as Rendertron\u2019s invalidate does',
      description:
        'The absolute page URL follows /invalidate/, raw or percent-encoded as one segment (as lookups take it). Every device variant of the page is removed, from the store and from every instance\u2019s memory. A management token (auth.tokens) goes in X-Rendercache-Token or Authorization: Bearer; its user needs the Manager role on the page\u2019s site. 404 RENDERCACHE-URL-002 for a URL of no configured site or of one the token has no role on.',
      tags: ['Rendertron compatible'],
      headers: {
        'x-rendercache-token': { description: 'A management token (auth.tokens); or send Authorization: Bearer' },
        authorization: { description: 'Bearer <token>, if X-Rendercache-Token is not sent' },
      },
      responses: { 200: { description: 'The page is gone; how many entries (variants) the store held', schema: purgeAnswer } },
      errors: [400, 401, 403, 404, 429, 503],
    },
  });
  return router;
}

async function purge(ctx: Koa.Context, deps: PurgeRoutesDeps, caller: Caller, glob: UrlGlob, notFound: string): Promise<void> {
  const site = purgeableSite(deps.sites, glob, caller, notFound);
  const deleted = await purgeSitePages(deps.cache, deps.sites, site, glob.parts);
  ctx.body = { ok: true, deleted } satisfies z.infer<typeof purgeAnswer>;
}

/** X-Rendercache-Token, else the bearer token. */
function headerToken(ctx: Koa.Context): string | undefined {
  const header = ctx.get('x-rendercache-token');
  if (header) return header;
  return /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('authorization'))?.[1];
}
