import { roleOn } from '../auth.js';
import { validate } from '../validate.js';
import { siteListSchema, siteSchema } from '../openapi/schemas.js';
import type { SitesRoutesDeps } from './deps.js';
import { listQuery, siteQuery } from './params.js';
import type { RouteTable } from './route-table.js';
import { siteFor } from './site-access.js';
import { siteBody } from './site-body.js';

/** Reading sites: the list the caller has a role on, and one site. */
export function siteRoutes({ route }: RouteTable, { sites, publicUrl }: SitesRoutesDeps): void {
  route(
    'get',
    '/sites',
    'Viewer',
    (ctx, access) => {
      const query = validate(listQuery, ctx.query, 'query');
      const visible = sites.all().filter((v) => roleOn(v.site, access.caller) !== null && (query.includeDeleted || !v.state.deleted));
      const items = visible.slice(query.offset, query.offset + query.limit).map((v) => siteBody(ctx, v, publicUrl));
      ctx.body = {
        items,
        offset: query.offset,
        limit: query.limit,
        count: items.length,
        hasMore: query.offset + items.length < visible.length,
        totalResults: visible.length,
      };
    },
    {
      summary: 'The sites you have a role on',
      query: listQuery,
      responses: { 200: { description: 'A page of sites', schema: siteListSchema } },
      errors: [],
    },
  );

  route(
    'get',
    '/sites/:id',
    'Viewer',
    (ctx, access) => {
      const query = validate(siteQuery, ctx.query, 'query');
      ctx.body = siteBody(ctx, siteFor(sites, ctx, access, query.includeDeleted ?? false), publicUrl);
    },
    {
      summary: 'One site',
      query: siteQuery,
      responses: { 200: { description: 'The site', schema: siteSchema } },
      errors: [404],
    },
  );
}
