import type Koa from 'koa';
import type { PageDiscovery } from '../../jobs/discovery/discover-pages.js';
import type { RefreshService } from '../../jobs/refresh-service.js';
import type { SiteDirectory } from '../../sites/site-directory.js';

/** What the management routes work with; built by the composition root. */
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
