import type { SiteView } from './site-directory.js';

/** Why a site's cache is closed to crawlers; such a site is not refreshed on schedule either. */
export type ClosedReason = 'deleted' | 'offline' | 'not-public' | 'prerender-disabled';

/**
 * The reason behind SiteDirectory.servesCrawlers answering false, for logs; null when
 * the site is served. Kept beside that rule: both must change together.
 */
export function closedReason({ site, state }: SiteView): ClosedReason | null {
  if (state.deleted) return 'deleted';
  if (state.runtimeStatus !== 'online') return 'offline';
  if (site.config.security !== 'public') return 'not-public';
  if (!site.config.prerender) return 'prerender-disabled';
  return null;
}
