import { jobStatusBody } from '../job-view.js';
import { validate } from '../validate.js';
import { jobListSchema } from '../openapi/schemas.js';
import type { SitesRoutesDeps } from './deps.js';
import { listQuery } from './params.js';
import type { RouteTable } from './route-table.js';
import { siteFor } from './site-access.js';

const jobsQuery = listQuery.omit({ includeDeleted: true });

/** A site's job history, newest first: refresh and restart jobs, ended or not. */
export function siteJobRoutes({ route }: RouteTable, deps: SitesRoutesDeps): void {
  route(
    'get',
    '/sites/:id/jobs',
    'Viewer',
    async (ctx, access) => {
      const query = validate(jobsQuery, ctx.query, 'query');
      const view = siteFor(deps.sites, ctx, access, false);
      // The store reads newest first up to a count; one more than the page tells whether there are more.
      const jobs = await deps.refresh.jobsOfSite(view.site.id, query.offset + query.limit + 1);
      const items = jobs.slice(query.offset, query.offset + query.limit);
      ctx.body = {
        items: items.map((job) => jobStatusBody(job, deps.pollIntervalMs)),
        offset: query.offset,
        limit: query.limit,
        count: items.length,
        hasMore: jobs.length > query.offset + query.limit,
      };
    },
    {
      summary: "The site's jobs, newest first",
      query: jobsQuery,
      responses: { 200: { description: 'A page of jobs (limit ≤ 250)', schema: jobListSchema } },
      errors: [404],
    },
  );
}
