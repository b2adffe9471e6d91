import type Koa from 'koa';
import type { PageCache } from '../../cache/page-cache.js';
import type { PageDiscovery } from '../../jobs/discovery/discover-pages.js';
import type { EgressProxy } from '../../render/egress/egress-proxy.js';
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
  /** The page cache, as the inspector reads it. */
  cache: PageCache;
  /** cache.staleAfterSeconds: a page rendered longer ago than this is not fresh (site stats). */
  staleAfterSeconds: number;
  /** The egress guard: the inspector fetches the origin through the site's listener, as discovery does. */
  egress: EgressProxy;
  /** How the inspector fetches the raw origin: discovery's agent, time and byte limits. */
  originFetch: { userAgent: string; timeoutMs: number; maxBytes: number };
}
