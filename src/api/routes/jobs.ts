import { errors } from '../errors.js';
import { jobStatusBody, pageItem } from '../job-view.js';
import { validate } from '../validate.js';
import { jobStatusSchema, pageListSchema } from '../openapi/schemas.js';
import type { SitesRoutesDeps } from './deps.js';
import { pagesQuery, plainQuery } from './params.js';
import type { RouteTable } from './route-table.js';
import { jobFor } from './site-access.js';

type PageStatus = 'pending' | 'processing' | 'complete' | 'failed';

/** A job's status, its pages, and cancelling it. Declared before the site routes: "_status" is not a site id. */
export function jobRoutes({ route }: RouteTable, deps: SitesRoutesDeps): void {
  route(
    'get',
    '/sites/_status/:jobId',
    'Viewer',
    async (ctx, access) => {
      validate(plainQuery, ctx.query, 'query');
      ctx.body = jobStatusBody(await jobFor(deps, ctx, access), deps.pollIntervalMs);
    },
    {
      summary: "A job's progress",
      query: plainQuery,
      responses: { 200: { description: 'The job status, on every poll', schema: jobStatusSchema } },
      errors: [404],
    },
  );

  route(
    'get',
    '/sites/_status/:jobId/pages',
    'Viewer',
    async (ctx, access) => {
      const query = validate(pagesQuery, ctx.query, 'query');
      const job = await jobFor(deps, ctx, access);
      const status = query.q ? (/"(\w+)"/.exec(query.q)?.[1] as PageStatus) : undefined;
      const { items, total } = await deps.refresh.pages(job.id, {
        offset: query.offset,
        limit: query.limit,
        ...(status ? { status } : {}),
        ...(query.search ? { urlContains: query.search } : {}),
      });
      ctx.body = {
        items: items.map(pageItem),
        offset: query.offset,
        limit: query.limit,
        count: items.length,
        hasMore: query.offset + items.length < total,
        totalResults: total,
      };
    },
    {
      summary: 'The pages of a job',
      query: pagesQuery,
      responses: { 200: { description: "A page of the job's pages (limit ≤ 250)", schema: pageListSchema } },
      errors: [404],
    },
  );

  route(
    'delete',
    '/sites/_status/:jobId',
    'Manager',
    async (ctx, access) => {
      validate(plainQuery, ctx.query, 'query');
      const job = await jobFor(deps, ctx, access);
      if (job.progress !== 'pending' && job.progress !== 'processing') {
        throw errors.jobConflict(`Job ${job.id} has already ended (${job.progress}); only a pending or processing job can be cancelled.`, {
          job: { id: job.id },
          progress: job.progress,
        });
      }
      ctx.body = jobStatusBody(await deps.refresh.cancel(job), deps.pollIntervalMs);
    },
    {
      summary: 'Cancels a job: it ends aborted; pages already rendered stay cached',
      description: '409 RENDERCACHE-JOB-409 when the job has already ended.',
      query: plainQuery,
      responses: { 200: { description: 'The job, aborted', schema: jobStatusSchema } },
      errors: [403, 404, 409],
    },
  );
}
