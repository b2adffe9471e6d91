import type Koa from 'koa';
import { z } from 'zod';
import type { RequestedPage } from '../../jobs/types.js';
import type { SiteView } from '../../sites/site-directory.js';
import { errors } from '../errors.js';
import { validate } from '../validate.js';
import { jobStatusSchema } from '../openapi/schemas.js';
import type { SitesRoutesDeps } from './deps.js';
import { accepted, hasBody, requestBody, requireRespondAsync, respondAsyncDoc, siteBusy } from './job-requests.js';
import { siteQuery } from './params.js';
import type { RouteTable } from './route-table.js';
import { siteFor } from './site-access.js';
import { requireRefreshable } from './site-rules.js';

/** A page is its URL (every variant of the site) or {url, variant} (that variant only). */
const requestedPage = z.union([z.string().min(1).max(4096), z.strictObject({ url: z.string().min(1).max(4096), variant: z.string().min(1).max(32) })]);
const refreshBody = z.strictObject({ pages: z.array(requestedPage).min(1) });
const MAX_PAGES_PER_REQUEST = 1000;

/** Starting a refresh of a site: all its pages, or those the body names. */
export function refreshRoutes({ route }: RouteTable, deps: SitesRoutesDeps): void {
  route(
    'post',
    '/sites/:id/refresh',
    'Manager',
    async (ctx, access) => {
      const query = validate(siteQuery, ctx.query, 'query');
      requireRespondAsync(ctx);
      const view = siteFor(deps.sites, ctx, access, query.includeDeleted ?? false);
      const pages = requestedPages(ctx, view, deps);
      requireRefreshable(view);
      const { job } = await deps.refresh.start(view.site, { trigger: 'api', requestedBy: access.caller.user, ...(pages ? { pages } : {}) });
      // A running refresh is the answer (OCM's behaviour); a running restart job is not a refresh.
      if (job.action !== 'refresh') throw siteBusy(ctx, deps.publicUrl, view, job);
      accepted(ctx, deps.publicUrl, job, deps.pollIntervalMs);
    },
    {
      summary: "Refreshes the site's cache: all its pages, or those the body names (≤ 1000)",
      description:
        'A refresh while one runs answers 202 with the running job. 400 OCE-SITEMGMT-009001 without Prefer: respond-async; ' +
        '409 OCE-SITEMGMT-009059 deleted, OCE-SITEMGMT-009013 offline, OCE-SITEMGMT-009091 not public, OCE-PRE-001001 pre-renderer disabled, ' +
        'RENDERCACHE-SITE-BUSY-409 a restart job runs; 413 more than 1000 pages.',
      query: siteQuery,
      body: refreshBody,
      headers: respondAsyncDoc,
      responses: { 202: { description: 'The job, started or running', schema: jobStatusSchema, headers: { location: 'The job status URL' } } },
      errors: [403, 404, 409],
    },
  );
}

/** The optional {"pages": [...]} body: at most 1000 pages, each a page of the site, in a variant it has. */
function requestedPages(ctx: Koa.Context, view: SiteView, { discovery }: SitesRoutesDeps): RequestedPage[] | undefined {
  if (!hasBody(ctx)) return undefined;
  const body = validate(refreshBody, requestBody(ctx), 'body');
  if (body.pages.length > MAX_PAGES_PER_REQUEST) {
    throw errors.payloadTooLarge(`At most ${MAX_PAGES_PER_REQUEST} pages per request; got ${body.pages.length}.`);
  }
  const asked: RequestedPage[] = body.pages.map((page) => (typeof page === 'string' ? { url: page } : page));
  const { variants } = view.site.config;
  const unknown = asked.filter((page) => page.variant !== undefined && !variants.includes(page.variant));
  if (unknown.length > 0) {
    throw errors.badRequest(`Site ${view.site.id} has no variant "${unknown[0]?.variant}"; its variants: ${variants.join(', ')}.`);
  }
  const pages = new Map<string, RequestedPage>();
  const rejected: string[] = [];
  for (const page of asked) {
    const url = discovery.pagesOf(view.site, [page.url]).urls[0];
    if (url === undefined) rejected.push(page.url);
    else pages.set(`${url} ${page.variant ?? ''}`, { ...page, url });
  }
  if (rejected.length > 0) throw errors.badRequest(`Not pages of site ${view.site.id}: ${rejected.slice(0, 5).join(', ')}${rejected.length > 5 ? ', …' : ''}.`);
  return [...pages.values()];
}
