import type Koa from 'koa';
import type { RefreshService } from '../../jobs/refresh-service.js';
import type { JobRecord } from '../../jobs/types.js';
import type { SiteDirectory, SiteView } from '../../sites/site-directory.js';
import { hasRole, roleOn } from '../auth.js';
import { errors } from '../errors.js';
import { validate } from '../validate.js';
import { jobIdParam, siteIdParam } from './params.js';
import type { Access } from './route-table.js';

const ROLE_TOO_LOW = 'You do have a sharing role in this site, but your role does not allow you to use this operation.';

/**
 * The site named in the path, as the caller may see it: 404 when it does not exist, is
 * deleted (unless includeDeleted) or the caller has no role on it; 403 below `atLeast`.
 */
export function siteFor(sites: SiteDirectory, ctx: Koa.Context, { caller, atLeast }: Access, includeDeleted: boolean): SiteView {
  const id = validate(siteIdParam, pathParams(ctx).id, 'site id');
  const view = sites.find(id);
  const role = view ? roleOn(view.site, caller) : null;
  if (!view || role === null || (view.state.deleted && !includeDeleted)) {
    throw errors.siteNotFound('Site does not exist or has been deleted, or the authenticated user or client application does not have access to the site.', {
      site: { id },
    });
  }
  if (!hasRole(role, atLeast)) throw errors.siteForbidden(ROLE_TOO_LOW, { site: { id: view.site.id } });
  return view;
}

/** The job named in the path, as the caller may see it: any role on its site; `atLeast` to act on it. */
export async function jobFor(
  { sites, refresh }: { sites: SiteDirectory; refresh: RefreshService },
  ctx: Koa.Context,
  { caller, atLeast }: Access,
): Promise<JobRecord> {
  const jobId = validate(jobIdParam, pathParams(ctx).jobId, 'job id');
  const job = await refresh.getJob(jobId);
  const view = job ? sites.find(job.siteId) : undefined;
  const role = view ? roleOn(view.site, caller) : null;
  if (!job || role === null) throw errors.jobNotFound(`No job ${jobId} is visible to you.`, { job: { id: jobId } });
  if (!hasRole(role, atLeast)) throw errors.siteForbidden(ROLE_TOO_LOW, { site: { id: job.siteId } });
  return job;
}

/** The path's parameters as the router set them (Koa types them `any`), checked by the caller (validate). */
const pathParams = (ctx: Koa.Context) => ctx.params as Record<string, unknown>;
