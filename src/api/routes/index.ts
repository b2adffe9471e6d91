import Router from '@koa/router';
import { cacheRoutes } from './cache.js';
import { inspectRoutes } from './inspect.js';
import { jobEventsRoutes } from './job-events.js';
import type { SitesRoutesDeps } from './deps.js';
import { jobRoutes } from './jobs.js';
import { API_BASE } from './links.js';
import { originRestartRoutes } from './origin-restart.js';
import { refreshRoutes } from './refresh.js';
import { createRouteTable } from './route-table.js';
import { siteJobRoutes } from './site-jobs.js';
import { siteLifecycleRoutes } from './site-lifecycle.js';
import { siteRoutes } from './sites.js';
import { siteStatsRoutes } from './site-stats.js';

export { API_BASE } from './links.js';
export type { SitesRoutesDeps } from './deps.js';

/**
 * The Sites Management API in the OCM shape (CONTRACTS.md §1). Each module declares its
 * routes in the route table, each with its least role (route-table: the edge in front of
 * every handler, OPTIONS for every path).
 */
export function sitesRoutes(deps: SitesRoutesDeps): Router {
  const router = new Router({ prefix: API_BASE });
  const table = createRouteTable(router, deps.edge);
  // Job routes first: "_status" is not a site id.
  jobRoutes(table, deps);
  jobEventsRoutes(table, deps);
  siteRoutes(table, deps);
  siteLifecycleRoutes(table, deps);
  refreshRoutes(table, deps);
  originRestartRoutes(table, deps);
  cacheRoutes(table, deps);
  siteJobRoutes(table, deps);
  // What the operator console reads besides: site stats and the cache inspector.
  siteStatsRoutes(table, deps);
  inspectRoutes(table, deps);
  table.addOptionsRoutes();
  return router;
}
