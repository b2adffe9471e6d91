import { z } from 'zod';
import { parsePathGlob } from '../../cache/purge-match.js';
import { freshnessReport } from '../../freshness/freshness-report.js';
import { nextScheduledRefresh } from '../../schedule/site-schedule.js';
import { errors } from '../errors.js';
import { validate } from '../validate.js';
import { siteCacheSchema } from '../openapi/schemas.js';
import type { SitesRoutesDeps } from './deps.js';
import { jobStatusUrl } from './links.js';
import { plainQuery, siteQuery } from './params.js';
import type { RouteTable } from './route-table.js';
import { siteFor } from './site-access.js';
import { badPattern, deletedCount, purgeSitePages } from './site-purge.js';

/** DELETE …/cache: `match`, a path glob (`*` any characters); absent, the whole site. */
const purgeQuery = siteQuery.extend({
  match: z.string().min(1).max(4096).optional().describe('A glob of the URL path and query, "*" for any characters (/blog/*); absent, the whole site'),
});
const purgeAnswer = z.object({ deleted: deletedCount }).meta({ id: 'CachePurge' });

/** The state of a site's cache: when it was refreshed and expires, and its last job; and its purge. */
export function cacheRoutes({ route }: RouteTable, { sites, publicUrl, jitterSeconds, cache }: SitesRoutesDeps): void {
  route(
    'get',
    '/sites/:id/cache',
    'Viewer',
    async (ctx, access) => {
      validate(plainQuery, ctx.query, 'query');
      const view = siteFor(sites, ctx, access, false);
      const freshness = await freshnessReport(view.site, cache).catch(() => {
        throw errors.storeUnavailable('The cache store did not answer; try again shortly.', {}, { 'retry-after': '5' });
      });
      ctx.body = {
        refreshedAt: view.state.refreshedAt,
        expiresAt: nextScheduledRefresh(view.site, jitterSeconds).toISOString(),
        trigger: view.state.lastTrigger,
        ...(freshness ? { freshness } : {}),
      };
    },
    {
      summary: "The site's cache: last refresh, next scheduled one, and per freshness rule its pages and how many are fresh",
      query: plainQuery,
      responses: { 200: { description: 'Cache information', schema: siteCacheSchema } },
      errors: [404, 503],
    },
  );

  route(
    'get',
    '/sites/:id/cache/status',
    'Viewer',
    (ctx, access) => {
      validate(plainQuery, ctx.query, 'query');
      const view = siteFor(sites, ctx, access, false);
      if (!view.state.lastJobId) {
        ctx.status = 204;
        return;
      }
      ctx.status = 303;
      ctx.set('location', jobStatusUrl(ctx, publicUrl, view.state.lastJobId));
    },
    {
      summary: "Where the site's latest job is",
      query: plainQuery,
      responses: {
        204: { description: 'Never refreshed' },
        303: { description: 'See the latest job', headers: { location: 'The job status URL' } },
      },
      errors: [404],
    },
  );

  route(
    'delete',
    '/sites/:id/cache',
    'Manager',
    async (ctx, access) => {
      const query = validate(purgeQuery, ctx.query, 'query');
      const view = siteFor(sites, ctx, access, query.includeDeleted ?? false);
      let parts: string[];
      try {
        parts = parsePathGlob(view.site.origin, query.match);
      } catch (err) {
        badPattern(err, 'query: match');
      }
      ctx.body = { deleted: await purgeSitePages(cache, sites, view.site, parts) } satisfies z.infer<typeof purgeAnswer>;
    },
    {
      summary: "Removes the site's cached pages, all of them or those a path glob matches",
      description:
        'match is a glob of the page URL’s path and query as the cache keeps it (normalised: tracking parameters dropped, query sorted, non-ASCII percent-encoded), "*" for any characters: /blog/* (absent: every page of the site). Pages of a site nested under another base path stay (they are that site’s). Every device variant of each page is removed, with its failure record, from the store and from every instance’s memory; the next lookup renders again. With includeDeleted=true a deleted site’s cache can be purged. 503 when the cache store fails part way (send it again).',
      query: purgeQuery,
      responses: { 200: { description: 'The pages are gone; how many entries the store held', schema: purgeAnswer } },
      errors: [403, 404],
    },
  );
}
