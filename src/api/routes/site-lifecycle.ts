import { errors } from '../errors.js';
import { validate } from '../validate.js';
import type { SitesRoutesDeps } from './deps.js';
import { siteQuery } from './params.js';
import type { RouteTable } from './route-table.js';
import { siteFor } from './site-access.js';
import { siteBody } from './site-body.js';
import { deletedError, invalidStatus } from './site-rules.js';

/** An Owner's changes to a site's state: activate, deactivate, (soft) delete, restore. */
export function siteLifecycleRoutes({ route }: RouteTable, { sites, publicUrl }: SitesRoutesDeps): void {
  for (const [action, target] of [
    ['activate', 'online'],
    ['deactivate', 'offline'],
  ] as const) {
    route('post', `/sites/:id/${action}`, 'Owner', async (ctx, access) => {
      const query = validate(siteQuery, ctx.query, 'query');
      const view = siteFor(sites, ctx, access, query.includeDeleted ?? false);
      if (view.state.deleted) throw deletedError(view);
      if (view.state.runtimeStatus === target) {
        throw invalidStatus(view, target === 'online' ? 'offline' : 'online');
      }
      await sites.update(view.site.id, { runtimeStatus: target });
      ctx.body = siteBody(ctx, sites.view(view.site), publicUrl);
    });
  }

  route('delete', '/sites/:id', 'Owner', async (ctx, access) => {
    const query = validate(siteQuery, ctx.query, 'query');
    const view = siteFor(sites, ctx, access, query.includeDeleted ?? false);
    if (view.state.deleted) throw deletedError(view);
    if (view.state.runtimeStatus !== 'offline') throw invalidStatus(view, 'offline');
    await sites.update(view.site.id, { deleted: true });
    ctx.status = 204;
  });

  route('post', '/sites/:id/restore', 'Owner', async (ctx, access) => {
    validate(siteQuery, ctx.query, 'query');
    const view = siteFor(sites, ctx, access, true);
    if (!view.state.deleted) throw errors.siteNotDeleted(`Site ${view.site.id} is not deleted.`, { site: { id: view.site.id } });
    await sites.update(view.site.id, { deleted: false });
    ctx.body = siteBody(ctx, sites.view(view.site), publicUrl);
  });
}
