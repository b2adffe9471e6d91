import type Router from '@koa/router';
import type Koa from 'koa';
import type { SiteRole } from '../../config/schema.js';
import type { Caller } from '../auth.js';
import { errors } from '../errors.js';
import { recordRoute, type RouteDoc } from '../openapi/route-doc.js';
import { jobIdParam, siteIdParam } from './params.js';

/** Who is calling, and the least role on the site the route needs. */
export interface Access {
  caller: Caller;
  atLeast: SiteRole;
}

export type Method = 'get' | 'post' | 'delete';
export type Handler = (ctx: Koa.Context, access: Access) => unknown;

/** Where each route module declares its routes. */
export interface RouteTable {
  /**
   * Declares a route with the least role on the site it needs. The edge (token, rate
   * limit, body limits) runs in front of the handler, which gets the caller from it.
   * `doc` is the route's OpenAPI description (openapi/route-doc): required, so a route
   * cannot be added undocumented.
   */
  route: (method: Method, path: string, atLeast: SiteRole, handler: Handler, doc: RouteDoc) => void;
}

/** The errors the edge (and the router) can answer on any route: token, budget, body, method, store. */
const EDGE_ERRORS = [400, 401, 405, 408, 413, 415, 429, 500, 503] as const;
const PATH_PARAMS = { id: siteIdParam, jobId: jobIdParam };
const ROUTE_TAG = 'Sites Management';

/**
 * Authentication belongs to each route, not to a path prefix: `route()` puts the edge in
 * front of the handler and hands it the caller, so no spelling of a path (case, trailing
 * slash, encoded slashes) reaches a handler without one. `addOptionsRoutes` answers
 * OPTIONS for every declared path, after the edge too; call it once all routes are declared.
 */
export function createRouteTable(router: Router, edge: Koa.Middleware): RouteTable & { addOptionsRoutes(): void } {
  const methodsByPath = new Map<string, Set<string>>();

  const prefix = router.opts.prefix ?? '';

  function route(method: Method, path: string, atLeast: SiteRole, handler: Handler, doc: RouteDoc | undefined): void {
    router[method](path, edge, (ctx) => handler(ctx, { caller: callerOf(ctx), atLeast }));
    // A call without a doc (plain JS, or before tsc runs) is left undocumented: the OpenAPI test names it.
    if (doc) {
      const errorStatuses = [...new Set([...EDGE_ERRORS, ...doc.errors])].sort((a, b) => a - b);
      recordRoute(router, {
        method,
        path: prefix + path,
        doc: { tags: [ROUTE_TAG], ...doc, params: { ...PATH_PARAMS, ...doc.params }, errors: errorStatuses, auth: true, role: atLeast },
      });
    }
    const methods = methodsByPath.get(path) ?? new Set<string>();
    methods.add(method === 'get' ? 'GET, HEAD' : method.toUpperCase());
    methodsByPath.set(path, methods);
  }

  // OPTIONS is a route too: it answers only an authenticated caller.
  function addOptionsRoutes(): void {
    for (const [path, methods] of methodsByPath) {
      router.options(path, edge, (ctx) => {
        callerOf(ctx);
        ctx.status = 204;
        ctx.set('allow', [...methods, 'OPTIONS'].join(', '));
      });
      recordRoute(router, {
        method: 'options',
        path: prefix + path,
        doc: {
          summary: 'The methods of this resource',
          tags: [ROUTE_TAG],
          params: PATH_PARAMS,
          auth: true,
          responses: { 204: { description: 'No body', headers: { allow: 'The methods of this resource' } } },
          errors: [400, 401, 408, 413, 415, 429, 500],
        },
      });
    }
  }

  return { route, addOptionsRoutes };
}

/** The caller the edge authenticated; without one no handler runs (401). */
export function callerOf(ctx: Koa.Context): Caller {
  const caller: unknown = ctx.state.caller;
  if (typeof caller !== 'object' || caller === null || typeof (caller as Caller).user !== 'string') {
    throw errors.unauthorized('This API needs an Authorization: Bearer <token> header.', {}, { 'www-authenticate': 'Bearer realm="rendercache"' });
  }
  return caller as Caller;
}
