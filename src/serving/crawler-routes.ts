import type Koa from 'koa';
import { z } from 'zod';
import { recordRoute, type RouteDoc } from '../api/openapi/route-doc.js';
import { errors } from '../api/errors.js';
import type { LookupGate } from './lookup-gate.js';
import { lookupTarget } from './lookup-target.js';
import type { PageLookup } from './page-lookup.js';
import { writeEntry } from './write-entry.js';

/**
 * Koa middleware for crawler lookups in all three URL shapes. Answers with the page,
 * or lets an ApiError propagate to the error middleware.
 */
export function crawlerRoutes(lookup: PageLookup, mayLookUp: LookupGate): Koa.Middleware {
  const middleware: Koa.Middleware = async (ctx, next) => {
    const target = ctx.method === 'GET' || ctx.method === 'HEAD' ? lookupTarget(ctx.url) : null;
    if (target === null) {
      await next();
      return;
    }
    if (!mayLookUp(ctx.headers)) {
      throw errors.lookupTokenRequired('This service renders for its own edge only: send a lookup token in X-Prerender-Token or X-Rendercache-Token.');
    }
    const { entry, state, site } = await lookup.lookup(target, ctx.headers);
    ctx.respond = false;
    writeEntry(ctx.req, ctx.res, entry, state, site.config.variants.length > 1);
  };
  for (const [path, doc] of LOOKUP_DOCS) {
    recordRoute(middleware, { method: 'get', path, doc });
    recordRoute(middleware, { method: 'head', path, doc });
  }
  return middleware;
}

const cacheState = 'hit (fresh), stale (answered now, re-rendered in the background) or miss (rendered for this request)';
const pageHtml = {
  description: "The page's stored status, headers and rendered HTML",
  mediaType: 'text/html',
  headers: { 'x-rendercache-cache': cacheState, etag: 'The entry' },
};

/** The three lookup shapes (lookup-target); the answer is the page's, whatever status the origin gave it. */
function lookupDoc(summary: string, extra: Partial<RouteDoc>): RouteDoc {
  return {
    summary,
    description:
      'Answers with the cached render of the page, or renders it first (single flight). A page the origin answered with another status (301, 404…) is replayed with that status. 400 RENDERCACHE-URL-001 no or a malformed URL; 401 RENDERCACHE-LOOKUP-401 lookup.tokens is set and the request has none of them in X-Prerender-Token or X-Rendercache-Token; 404 RENDERCACHE-URL-002 not a configured site, RENDERCACHE-URL-003 a site not pre-rendered (offline, deleted, secure, prerender off); 502 render failed; 503 render queue full (Retry-After); 504 render timed out.',
    tags: ['Crawler lookups'],
    responses: { 200: pageHtml, 304: { description: 'Not modified (If-None-Match, If-Modified-Since)' } },
    errors: [400, 401, 404, 502, 503, 504],
    ...extra,
  };
}

const LOOKUP_DOCS: ReadonlyArray<readonly [string, RouteDoc]> = [
  [
    '/render',
    lookupDoc('A page, by ?url= (prerender-node prerenderServiceUrl style)', { query: z.object({ url: z.string().describe('The absolute page URL') }) }),
  ],
  ['/render/:pageUrl', lookupDoc('A page, by its absolute URL after /render/ (Rendertron style; raw or percent-encoded)', {})],
  ['/:pageUrl', lookupDoc('A page, by its absolute URL as the path (prerender.io style; raw or percent-encoded)', {})],
];
