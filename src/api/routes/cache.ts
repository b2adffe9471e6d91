import { nextScheduledRefresh } from '../../schedule/site-schedule.js';
import { validate } from '../validate.js';
import { siteCacheSchema } from '../openapi/schemas.js';
import type { SitesRoutesDeps } from './deps.js';
import { jobStatusUrl } from './links.js';
import { plainQuery } from './params.js';
import type { RouteTable } from './route-table.js';
import { siteFor } from './site-access.js';

/** The state of a site's cache: when it was refreshed and expires, and its last job. */
export function cacheRoutes({ route }: RouteTable, { sites, publicUrl, jitterSeconds }: SitesRoutesDeps): void {
  route(
    'get',
    '/sites/:id/cache',
    'Viewer',
    (ctx, access) => {
      validate(plainQuery, ctx.query, 'query');
      const view = siteFor(sites, ctx, access, false);
      ctx.body = {
        refreshedAt: view.state.refreshedAt,
        expiresAt: nextScheduledRefresh(view.site, jitterSeconds).toISOString(),
        trigger: view.state.lastTrigger,
      };
    },
    {
      summary: "The site's cache: last refresh, next scheduled one",
      query: plainQuery,
      responses: { 200: { description: 'Cache information', schema: siteCacheSchema } },
      errors: [404],
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
}
