import type Router from '@koa/router';
import type Koa from 'koa';
import type { SiteRole } from '../../config/schema.js';
import type { Caller } from '../auth.js';
import { errors } from '../errors.js';

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
   */
  route: (method: Method, path: string, atLeast: SiteRole, handler: Handler) => void;
}

/**
 * Authentication belongs to each route, not to a path prefix: `route()` puts the edge in
 * front of the handler and hands it the caller, so no spelling of a path (case, trailing
 * slash, encoded slashes) reaches a handler without one. `addOptionsRoutes` answers
 * OPTIONS for every declared path, after the edge too; call it once all routes are declared.
 */
export function createRouteTable(router: Router, edge: Koa.Middleware): RouteTable & { addOptionsRoutes(): void } {
  const methodsByPath = new Map<string, Set<string>>();

  function route(method: Method, path: string, atLeast: SiteRole, handler: Handler): void {
    router[method](path, edge, (ctx) => handler(ctx, { caller: callerOf(ctx), atLeast }));
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
