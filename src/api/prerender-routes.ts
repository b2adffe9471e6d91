import Router from '@koa/router';
import { z } from 'zod';
import type { PageDiscovery } from '../jobs/discovery/discover-pages.js';
import { pageVariants } from '../jobs/refresh-flow.js';
import type { RefreshService } from '../jobs/refresh-service.js';
import type { Site } from '../sites/site.js';
import type { SiteDirectory } from '../sites/site-directory.js';
import { jsonBodyEdge, spendBudget, type ApiEdgeOptions } from './api-edge.js';
import { hasRole, roleOn, tokenCallers, type Caller } from './auth.js';
import { ApiError, errors } from './errors.js';
import { recordRoute } from './openapi/route-doc.js';
import { requestBody } from './routes/job-requests.js';
import { requireRefreshable } from './routes/site-rules.js';
import { validate } from './validate.js';

/** What a prerender.io re-cache call may name at once (prerender.io's own limit). */
const MAX_URLS = 1000;

/**
 * prerender.io's re-cache body, as CMS plugins (Magento 2, WordPress, Shopify) send it:
 * one `url` or up to 1000 `urls`, and the token. Keys a plugin adds beyond these are ignored.
 */
const recacheBody = z
  .object({
    prerenderToken: z.string().min(1).max(512),
    url: z.string().min(1).max(4096).optional(),
    urls: z.array(z.string().min(1).max(4096)).min(1).max(MAX_URLS).optional(),
    /** Only this device variant of each page; every variant of the site when absent, or when the site does not render this one. */
    adaptiveType: z.enum(['mobile', 'desktop']).optional(),
  })
  .refine((body) => (body.url === undefined) !== (body.urls === undefined), { message: 'send either "url" or "urls" (at most 1000)' });

const recacheAnswer = z
  .object({
    ok: z.literal(true),
    /** One refresh job per site, started or already running. */
    jobs: z.array(z.object({ siteId: z.string(), jobId: z.string(), pages: z.number().int(), progress: z.string() })),
    /** URLs not re-rendered, each with why. */
    rejected: z.array(z.object({ url: z.string(), reason: z.string() })),
  })
  .meta({ id: 'RecacheAnswer' });

export interface PrerenderRoutesDeps {
  sites: SiteDirectory;
  refresh: RefreshService;
  discovery: PageDiscovery;
  /** The management API's tokens, request budget and body limits. */
  edge: ApiEdgeOptions;
}

type Rejected = z.infer<typeof recacheAnswer>['rejected'];

/**
 * `POST /recache`, as prerender.io answers it, so that a CMS plugin that re-caches after
 * publishing can point at rendercache unchanged: the URLs become one refresh job per site,
 * each needing a Manager's role on its site from the token's user.
 */
export function prerenderRoutes(deps: PrerenderRoutesDeps): Router {
  const router = new Router();
  const callerOf = tokenCallers(deps.edge.tokens);
  router.post('/recache', jsonBodyEdge(deps.edge), async (ctx) => {
    const body = validate(recacheBody, requestBody(ctx) ?? {}, 'body');
    const caller = callerOf(body.prerenderToken);
    if (!caller) throw errors.unauthorized('The prerenderToken is not a valid token (auth.tokens).');
    await spendBudget(deps.edge.limiter, caller.user);
    const { bySite, rejected } = groupBySite(body.urls ?? [body.url ?? ''], caller, deps.sites);
    const jobs = [];
    for (const [site, urls] of bySite) {
      const started = await startRefresh(site, urls, body.adaptiveType, caller, deps, rejected);
      if (started) jobs.push(started);
    }
    ctx.body = { ok: true, jobs, rejected } satisfies z.infer<typeof recacheAnswer>;
  });
  recordRoute(router, {
    method: 'post',
    path: '/recache',
    doc: {
      summary: 'Re-renders pages, as prerender.io\u2019s recache does (one refresh job per site)',
      description:
        'The body is prerender.io\u2019s: {"prerenderToken", "url"} or {"prerenderToken", "urls": [≤ 1000]}, optional "adaptiveType". The token is one of auth.tokens; its user needs the Manager role on each URL\u2019s site. URLs of no configured site, of a site the token may not refresh, or of a site that cannot be refreshed now are listed in "rejected" and never rendered.',
      tags: ['prerender.io compatible'],
      body: recacheBody,
      bodyRequired: true,
      responses: { 200: { description: 'The jobs started (or running), and the URLs rejected', schema: recacheAnswer } },
      errors: [400, 401, 408, 413, 415, 429],
    },
  });
  return router;
}

/** The URLs by configured site; what belongs to none, or to a site the caller may not refresh, is rejected. */
function groupBySite(urls: readonly string[], caller: Caller, sites: SiteDirectory): { bySite: Map<Site, string[]>; rejected: Rejected } {
  const bySite = new Map<Site, string[]>();
  const rejected: Rejected = [];
  for (const url of urls) {
    const site = sites.registry.forUrl(url);
    // A site the caller has no role on is not named: it reads as any other unknown URL.
    if (!site || roleOn(site, caller) === null) rejected.push({ url, reason: 'not a page of a configured site' });
    else if (!hasRole(roleOn(site, caller), 'Manager')) rejected.push({ url, reason: `refreshing site ${site.id} needs the Manager role` });
    else bySite.set(site, [...(bySite.get(site) ?? []), url]);
  }
  return { bySite, rejected };
}

/** One site's refresh of these URLs; a site that cannot be refreshed now rejects them, with the API's reason. */
async function startRefresh(site: Site, urls: string[], variant: string | undefined, caller: Caller, deps: PrerenderRoutesDeps, rejected: Rejected) {
  const { urls: pages, rejected: notPages } = deps.discovery.pagesOf(site, urls);
  for (const url of notPages) rejected.push({ url, reason: `not a page of site ${site.id}` });
  if (pages.length === 0) return null;
  try {
    requireRefreshable(deps.sites.view(site));
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    for (const url of pages) rejected.push({ url, reason: err.body.detail });
    return null;
  }
  // A variant the site does not render asks for the page all the same: its variants are rendered.
  const only = variant !== undefined && site.config.variants.includes(variant) ? variant : undefined;
  const requested = pages.map((url) => (only === undefined ? { url } : { url, variant: only }));
  const { job } = await deps.refresh.start(site, { trigger: 'api', requestedBy: caller.user, pages: requested });
  if (job.action !== 'refresh') {
    for (const url of pages) rejected.push({ url, reason: `site ${site.id} is busy with ${job.action} job ${job.id}` });
    return null;
  }
  return { siteId: site.id, jobId: job.id, pages: job.pageCount || pageVariants(requested, site.config.variants).length, progress: job.progress };
}
