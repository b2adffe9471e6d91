import { errors } from '../errors.js';
import { validate } from '../validate.js';
import { siteSchema } from '../openapi/schemas.js';
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
    route(
      'post',
      `/sites/:id/${action}`,
      'Owner',
      async (ctx, access) => {
        const query = validate(siteQuery, ctx.query, 'query');
        const view = siteFor(sites, ctx, access, query.includeDeleted ?? false);
        if (view.state.deleted) throw deletedError(view);
        if (view.state.runtimeStatus === target) {
          throw invalidStatus(view, target === 'online' ? 'offline' : 'online');
        }
        await sites.update(view.site.id, { runtimeStatus: target });
        ctx.body = siteBody(ctx, sites.view(view.site), publicUrl);
      },
      {
        summary: `Takes the site ${target}`,
        description: `409 OCE-SITEMGMT-009059 when the site is deleted (with includeDeleted=true), OCE-SITEMGMT-009013 when it is already ${target}.`,
        query: siteQuery,
        responses: { 200: { description: `The site, now ${target}`, schema: siteSchema } },
        errors: [403, 404, 409],
      },
    );
  }

  route(
    'delete',
    '/sites/:id',
    'Owner',
    async (ctx, access) => {
      const query = validate(siteQuery, ctx.query, 'query');
      const view = siteFor(sites, ctx, access, query.includeDeleted ?? false);
      if (view.state.deleted) throw deletedError(view);
      if (view.state.runtimeStatus !== 'offline') throw invalidStatus(view, 'offline');
      await sites.update(view.site.id, { deleted: true });
      ctx.status = 204;
    },
    {
      summary: 'Soft-deletes an offline site',
      description: '409 OCE-SITEMGMT-009013 unless the site is offline; OCE-SITEMGMT-009059 when it is already deleted.',
      query: siteQuery,
      responses: { 204: { description: 'Deleted' } },
      errors: [403, 404, 409],
    },
  );

  route(
    'post',
    '/sites/:id/restore',
    'Owner',
    async (ctx, access) => {
      validate(siteQuery, ctx.query, 'query');
      const view = siteFor(sites, ctx, access, true);
      if (!view.state.deleted) throw errors.siteNotDeleted(`Site ${view.site.id} is not deleted.`, { site: { id: view.site.id } });
      await sites.update(view.site.id, { deleted: false });
      ctx.body = siteBody(ctx, sites.view(view.site), publicUrl);
    },
    {
      summary: 'Restores a soft-deleted site',
      description: '409 RENDERCACHE-SITE-409 when the site is not deleted.',
      query: siteQuery,
      responses: { 200: { description: 'The site, restored', schema: siteSchema } },
      errors: [403, 404, 409],
    },
  );
}
