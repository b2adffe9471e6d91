import { errors } from '../errors.js';
import { validate } from '../validate.js';
import { jobStatusSchema } from '../openapi/schemas.js';
import type { SitesRoutesDeps } from './deps.js';
import { accepted, hasBody, requireRespondAsync, respondAsyncDoc, siteBusy } from './job-requests.js';
import { siteQuery } from './params.js';
import type { RouteTable } from './route-table.js';
import { siteFor } from './site-access.js';
import { requireRefreshable } from './site-rules.js';

/** Restarts the site's origin through its adapter, as a job (action "restart", no pages). */
export function originRestartRoutes({ route }: RouteTable, deps: SitesRoutesDeps): void {
  route(
    'post',
    '/sites/:id/origin/restart',
    'Manager',
    async (ctx, access) => {
      const query = validate(siteQuery, ctx.query, 'query');
      requireRespondAsync(ctx);
      const view = siteFor(deps.sites, ctx, access, query.includeDeleted ?? false);
      if (hasBody(ctx)) throw errors.badRequest('This operation takes no body.');
      requireRefreshable(view);
      if (!view.site.config.restart) {
        throw errors.restartNotConfigured(`Site ${view.site.id} has no origin restart configured (the site's "restart" key).`, { site: { id: view.site.id } });
      }
      const { job, created } = await deps.refresh.restart(view.site, { trigger: 'api', requestedBy: access.caller.user });
      // A restart on top of a running job would pull the origin from under it, or restart twice.
      if (!created) throw siteBusy(ctx, deps.publicUrl, view, job);
      accepted(ctx, deps.publicUrl, job, deps.pollIntervalMs);
    },
    {
      summary: "Restarts the site's origin through its adapter, as a job (action restart)",
      description:
        'Takes no body. 400 OCE-SITEMGMT-009001 without Prefer: respond-async; 409 as a refresh, RENDERCACHE-RESTART-409 no restart configured, ' +
        'RENDERCACHE-SITE-BUSY-409 another job runs.',
      query: siteQuery,
      headers: respondAsyncDoc,
      responses: { 202: { description: 'The restart job', schema: jobStatusSchema, headers: { location: 'The job status URL' } } },
      errors: [403, 404, 409],
    },
  );
}
