import Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import type { SiteRole } from '../config/schema.js';
import type { PageDiscovery } from '../jobs/discovery/discover-pages.js';
import type { RefreshService } from '../jobs/refresh-service.js';
import type { JobRecord } from '../jobs/types.js';
import { nextScheduledRefresh } from '../schedule/site-schedule.js';
import type { SiteDirectory, SiteView } from '../sites/site-directory.js';
import { hasRole, roleOn, type Caller } from './auth.js';
import { errors } from './errors.js';
import { jobStatusBody, pageItem } from './job-view.js';
import { validate } from './validate.js';

export const API_BASE = '/sites/management/api/v1';

export interface SitesRoutesDeps {
  sites: SiteDirectory;
  refresh: RefreshService;
  discovery: PageDiscovery;
  pollIntervalMs: number;
  /** Public base URL for Location headers; taken from the request when absent. */
  publicUrl: string | undefined;
  /** schedule.jitterSeconds: expiresAt includes the site's jitter offset. */
  jitterSeconds: number;
  /** Token, rate limit and body limits (api-edge): every route runs it first. */
  edge: Koa.Middleware;
}

/** Who is calling, and the least role on the site the route needs. */
interface Access {
  caller: Caller;
  atLeast: SiteRole;
}

type Method = 'get' | 'post' | 'delete';
type Handler = (ctx: Koa.Context, access: Access) => unknown;

const flag = z.enum(['true', 'false']).transform((v) => v === 'true');
const links = z.enum(['none']).optional();
const siteQuery = z.strictObject({ includeDeleted: flag.optional(), links });
const listQuery = z.strictObject({
  includeDeleted: flag.optional(),
  links,
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).default(50).transform((n) => Math.min(n, 250)),
});
const pagesQuery = listQuery.omit({ includeDeleted: true }).extend({
  q: z.string().regex(/^status eq "(pending|processing|complete|failed)"$/, 'expected q=status eq "<pending|processing|complete|failed>"').optional(),
});
const plainQuery = z.strictObject({ links });
const siteIdParam = z.string().regex(/^(name:[^/]{1,200}|[A-Za-z0-9_-]{1,128})$/, 'not a site id or name:<SiteName>');
const jobIdParam = z.string().regex(/^[A-F0-9]{32}$/, 'not a job id');
const refreshBody = z.strictObject({ pages: z.array(z.string().min(1).max(4096)).min(1) });
const MAX_PAGES_PER_REQUEST = 1000;

/**
 * The Sites Management API in the OCM shape (CONTRACTS.md §1). Authentication belongs to
 * each route: `route()` puts the edge in front of the handler and hands it the caller, so
 * no spelling of a path (case, trailing slash, encoded slashes) reaches a handler without one.
 */
export function sitesRoutes(deps: SitesRoutesDeps): Router {
  const router = new Router({ prefix: API_BASE });
  const { sites, refresh } = deps;
  const methodsByPath = new Map<string, Set<string>>();

  function route(method: Method, path: string, atLeast: SiteRole, handler: Handler): void {
    router[method](path, deps.edge, (ctx) => handler(ctx, { caller: callerOf(ctx), atLeast }));
    const methods = methodsByPath.get(path) ?? new Set<string>();
    methods.add(method === 'get' ? 'GET, HEAD' : method.toUpperCase());
    methodsByPath.set(path, methods);
  }

  const base = (ctx: Koa.Context) => deps.publicUrl?.replace(/\/+$/, '') ?? `${ctx.protocol}://${ctx.host}`;
  const statusUrl = (ctx: Koa.Context, jobId: string) => `${base(ctx)}${API_BASE}/sites/_status/${jobId}`;

  /**
   * The site named in the path, as the caller may see it: 404 when it does not exist, is
   * deleted (unless includeDeleted) or the caller has no role on it; 403 below `atLeast`.
   */
  function siteFor(ctx: Koa.Context, { caller: who, atLeast }: Access, includeDeleted: boolean): SiteView {
    const id = validate(siteIdParam, ctx.params.id, 'site id');
    const view = sites.find(id);
    const role = view ? roleOn(view.site, who) : null;
    if (!view || role === null || (view.state.deleted && !includeDeleted)) {
      throw errors.siteNotFound('Site does not exist or has been deleted, or the authenticated user or client application does not have access to the site.', { site: { id } });
    }
    if (!hasRole(role, atLeast)) {
      throw errors.siteForbidden('You do have a sharing role in this site, but your role does not allow you to use this operation.', { site: { id: view.site.id } });
    }
    return view;
  }

  /** A job the caller may see: any role on its site; Manager or more to change it. */
  async function jobFor(ctx: Koa.Context, { caller: who, atLeast }: Access): Promise<JobRecord> {
    const jobId = validate(jobIdParam, ctx.params.jobId, 'job id');
    const job = await refresh.getJob(jobId);
    const view = job ? sites.find(job.siteId) : undefined;
    const role = view ? roleOn(view.site, who) : null;
    if (!job || role === null) throw errors.jobNotFound(`No job ${jobId} is visible to you.`, { job: { id: jobId } });
    if (!hasRole(role, atLeast)) {
      throw errors.siteForbidden('You do have a sharing role in this site, but your role does not allow you to use this operation.', { site: { id: job.siteId } });
    }
    return job;
  }

  const siteBody = (ctx: Koa.Context, view: SiteView) => ({
    id: view.site.id,
    name: view.site.name,
    origin: view.site.config.origin,
    runtimeStatus: view.state.runtimeStatus,
    securityStatus: view.site.config.security,
    prerender: view.site.config.prerender,
    isDeleted: view.state.deleted,
    schedule: view.site.config.schedule,
    role: roleOn(view.site, callerOf(ctx)),
    ...(ctx.query.links === 'none' ? {} : { links: [{ rel: 'self', href: `${base(ctx)}${API_BASE}/sites/${view.site.id}`, method: 'GET' }] }),
  });

  route('get', '/sites', 'Viewer', (ctx, access) => {
    const query = validate(listQuery, ctx.query, 'query');
    const visible = sites.all().filter((v) => roleOn(v.site, access.caller) !== null && (query.includeDeleted || !v.state.deleted));
    const items = visible.slice(query.offset, query.offset + query.limit).map((v) => siteBody(ctx, v));
    ctx.body = { items, offset: query.offset, limit: query.limit, count: items.length, hasMore: query.offset + items.length < visible.length, totalResults: visible.length };
  });

  // Job routes first: "_status" is not a site id.
  route('get', '/sites/_status/:jobId', 'Viewer', async (ctx, access) => {
    validate(plainQuery, ctx.query, 'query');
    ctx.body = jobStatusBody(await jobFor(ctx, access), deps.pollIntervalMs);
  });

  route('get', '/sites/_status/:jobId/pages', 'Viewer', async (ctx, access) => {
    const query = validate(pagesQuery, ctx.query, 'query');
    const job = await jobFor(ctx, access);
    const status = query.q ? (/"(\w+)"/.exec(query.q)?.[1] as 'pending' | 'processing' | 'complete' | 'failed') : undefined;
    const { items, total } = await refresh.pages(job.id, { offset: query.offset, limit: query.limit, ...(status ? { status } : {}) });
    ctx.body = { items: items.map(pageItem), offset: query.offset, limit: query.limit, count: items.length, hasMore: query.offset + items.length < total, totalResults: total };
  });

  route('delete', '/sites/_status/:jobId', 'Manager', async (ctx, access) => {
    validate(plainQuery, ctx.query, 'query');
    const job = await jobFor(ctx, access);
    if (job.progress !== 'pending' && job.progress !== 'processing') {
      throw errors.jobConflict(`Job ${job.id} has already ended (${job.progress}); only a pending or processing job can be cancelled.`, { job: { id: job.id }, progress: job.progress });
    }
    ctx.body = jobStatusBody(await refresh.cancel(job), deps.pollIntervalMs);
  });

  route('get', '/sites/:id', 'Viewer', (ctx, access) => {
    const query = validate(siteQuery, ctx.query, 'query');
    ctx.body = siteBody(ctx, siteFor(ctx, access, query.includeDeleted ?? false));
  });

  for (const [action, target] of [['activate', 'online'], ['deactivate', 'offline']] as const) {
    route('post', `/sites/:id/${action}`, 'Owner', async (ctx, access) => {
      const query = validate(siteQuery, ctx.query, 'query');
      const view = siteFor(ctx, access, query.includeDeleted ?? false);
      if (view.state.deleted) throw deletedError(view);
      if (view.state.runtimeStatus === target) {
        throw invalidStatus(view, target === 'online' ? 'offline' : 'online');
      }
      await sites.update(view.site.id, { runtimeStatus: target });
      ctx.body = siteBody(ctx, sites.view(view.site));
    });
  }

  route('delete', '/sites/:id', 'Owner', async (ctx, access) => {
    const query = validate(siteQuery, ctx.query, 'query');
    const view = siteFor(ctx, access, query.includeDeleted ?? false);
    if (view.state.deleted) throw deletedError(view);
    if (view.state.runtimeStatus !== 'offline') throw invalidStatus(view, 'offline');
    await sites.update(view.site.id, { deleted: true });
    ctx.status = 204;
  });

  route('post', '/sites/:id/restore', 'Owner', async (ctx, access) => {
    validate(siteQuery, ctx.query, 'query');
    const view = siteFor(ctx, access, true);
    if (!view.state.deleted) throw errors.siteNotDeleted(`Site ${view.site.id} is not deleted.`, { site: { id: view.site.id } });
    await sites.update(view.site.id, { deleted: false });
    ctx.body = siteBody(ctx, sites.view(view.site));
  });

  /** The 400 of an operation that is asynchronous only. */
  function requireRespondAsync(ctx: Koa.Context): void {
    if (!/(^|[,;\s])respond-async($|[,;\s])/i.test(ctx.get('prefer'))) {
      throw errors.asyncRequired('This operation only supports asynchronous processing: send the header "Prefer: respond-async".');
    }
  }

  /** The 409s of a site that may not be refreshed (nor its origin restarted). */
  function requireRefreshable(view: SiteView): void {
    if (view.state.deleted) throw deletedError(view);
    if (view.state.runtimeStatus !== 'online') throw invalidStatus(view, 'online');
    if (view.site.config.security !== 'public') {
      throw errors.siteNotPublic('Operation cannot be performed on a site that is not a public site.', { site: { id: view.site.id } });
    }
    if (!view.site.config.prerender) {
      throw errors.prerendererDisabled('A request to refresh the site cache cannot be processed when the prerender service is disabled.');
    }
  }

  const siteBusy = (ctx: Koa.Context, view: SiteView, job: JobRecord) =>
    errors.siteJobRunning(`Site ${view.site.id} is busy with ${job.action} job ${job.id} (${job.progress}); try again when it has ended.`, {
      site: { id: view.site.id },
      job: { id: job.id, action: job.action, progress: job.progress, href: statusUrl(ctx, job.id) },
    });

  const accepted = (ctx: Koa.Context, job: JobRecord) => {
    ctx.status = 202;
    ctx.set('location', statusUrl(ctx, job.id));
    ctx.body = jobStatusBody(job, deps.pollIntervalMs);
  };

  route('post', '/sites/:id/refresh', 'Manager', async (ctx, access) => {
    const query = validate(siteQuery, ctx.query, 'query');
    requireRespondAsync(ctx);
    const view = siteFor(ctx, access, query.includeDeleted ?? false);
    const pages = requestedPages(ctx, view);
    requireRefreshable(view);
    const { job } = await refresh.start(view.site, { trigger: 'api', requestedBy: access.caller.user, ...(pages ? { pages } : {}) });
    // A running refresh is the answer (OCM's behaviour); a running restart job is not a refresh.
    if (job.action !== 'refresh') throw siteBusy(ctx, view, job);
    accepted(ctx, job);
  });

  // Restarts the site's origin through its adapter, as a job (action "restart", no pages).
  route('post', '/sites/:id/origin/restart', 'Manager', async (ctx, access) => {
    const query = validate(siteQuery, ctx.query, 'query');
    requireRespondAsync(ctx);
    const view = siteFor(ctx, access, query.includeDeleted ?? false);
    if (hasBody(ctx)) throw errors.badRequest('This operation takes no body.');
    requireRefreshable(view);
    if (!view.site.config.restart) {
      throw errors.restartNotConfigured(`Site ${view.site.id} has no origin restart configured (the site's "restart" key).`, { site: { id: view.site.id } });
    }
    const { job, created } = await refresh.restart(view.site, { trigger: 'api', requestedBy: access.caller.user });
    // A restart on top of a running job would pull the origin from under it, or restart twice.
    if (!created) throw siteBusy(ctx, view, job);
    accepted(ctx, job);
  });

  route('get', '/sites/:id/cache', 'Viewer', (ctx, access) => {
    validate(plainQuery, ctx.query, 'query');
    const view = siteFor(ctx, access, false);
    ctx.body = {
      refreshedAt: view.state.refreshedAt,
      expiresAt: nextScheduledRefresh(view.site, deps.jitterSeconds).toISOString(),
      trigger: view.state.lastTrigger,
    };
  });

  route('get', '/sites/:id/cache/status', 'Viewer', (ctx, access) => {
    validate(plainQuery, ctx.query, 'query');
    const view = siteFor(ctx, access, false);
    if (!view.state.lastJobId) {
      ctx.status = 204;
      return;
    }
    ctx.status = 303;
    ctx.set('location', statusUrl(ctx, view.state.lastJobId));
  });

  /** Whether the request came with a body (api-edge leaves undefined when there is none). */
  function hasBody(ctx: Koa.Context): boolean {
    return (ctx.request as Koa.Request & { body?: unknown }).body !== undefined;
  }

  /** The optional {"pages": [...]} body: at most 1000 pages, each a page of the site. */
  function requestedPages(ctx: Koa.Context, view: SiteView): string[] | undefined {
    if (!hasBody(ctx)) return undefined;
    const raw = (ctx.request as Koa.Request & { body?: unknown }).body;
    const body = validate(refreshBody, raw, 'body');
    if (body.pages.length > MAX_PAGES_PER_REQUEST) {
      throw errors.payloadTooLarge(`At most ${MAX_PAGES_PER_REQUEST} pages per request; got ${body.pages.length}.`);
    }
    const { urls, rejected } = deps.discovery.pagesOf(view.site, body.pages);
    if (rejected.length > 0) throw errors.badRequest(`Not pages of site ${view.site.id}: ${rejected.slice(0, 5).join(', ')}${rejected.length > 5 ? ', …' : ''}.`);
    return urls;
  }

  // OPTIONS is a route too: it answers only an authenticated caller.
  for (const [path, methods] of methodsByPath) {
    router.options(path, deps.edge, (ctx) => {
      callerOf(ctx);
      ctx.status = 204;
      ctx.set('allow', [...methods, 'OPTIONS'].join(', '));
    });
  }

  return router;
}

/** The caller the edge authenticated; without one no handler runs (401). */
function callerOf(ctx: Koa.Context): Caller {
  const caller: unknown = ctx.state.caller;
  if (typeof caller !== 'object' || caller === null || typeof (caller as Caller).user !== 'string') {
    throw errors.unauthorized('This API needs an Authorization: Bearer <token> header.', {}, { 'www-authenticate': 'Bearer realm="rendercache"' });
  }
  return caller as Caller;
}

function deletedError(view: SiteView) {
  return errors.siteDeleted('The operation cannot be performed as the site has been soft deleted.', { site: { id: view.site.id } });
}

function invalidStatus(view: SiteView, requiredStatus: 'online' | 'offline') {
  return errors.invalidSiteStatus(`Operation cannot be performed on a site with status '${view.state.runtimeStatus}'.`, {
    site: { id: view.site.id },
    runtimeStatus: view.state.runtimeStatus,
    requiredStatus,
  });
}
