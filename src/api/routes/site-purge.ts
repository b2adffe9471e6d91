import { z } from 'zod';
import type { PageCache } from '../../cache/page-cache.js';
import { InvalidPurgePatternError, siteScope, type UrlGlob } from '../../cache/purge-match.js';
import type { Site } from '../../sites/site.js';
import type { SiteDirectory } from '../../sites/site-directory.js';
import { hasRole, roleOn, type Caller } from '../auth.js';
import { errors } from '../errors.js';

/** How many cached entries a purge removed from the store: each variant of a page is one; hot copies are dropped on every instance besides. */
export const deletedCount = z.number().int().min(0).describe('Entries removed from the store (each variant of a page is one)');

/**
 * Removes the pages of `site` that the glob's pieces name, every variant of each, from the
 * store and every instance's hot tier (PageCache.purge). A store that fails part way is
 * 503: the purge may be partial, and sending it again finishes it.
 */
export async function purgeSitePages(cache: PageCache, sites: SiteDirectory, site: Site, parts: string[]): Promise<number> {
  const match = { scope: siteScope(site, sites.registry.all()), parts };
  try {
    return await cache.purge(match);
  } catch {
    throw errors.storeUnavailable('The cache store failed during the purge; part of it may be done. Send it again shortly.', {}, { 'retry-after': '5' });
  }
}

/** A pattern that names no page URL: 400 naming the field. */
export function badPattern(err: unknown, field: string): never {
  if (err instanceof InvalidPurgePatternError) throw errors.badRequest(`Invalid ${field}: ${err.message}.`);
  throw err;
}

/**
 * The site a URL glob is about, as the caller may purge it: 404 when it names no
 * configured site or one the caller has no role on (the same answer: a site is never
 * revealed), 403 below Manager.
 */
export function purgeableSite(sites: SiteDirectory, glob: UrlGlob, caller: Caller, notFound: string): Site {
  let site: Site | undefined;
  try {
    site = sites.registry.forUrl(glob.siteProbe);
  } catch {
    site = undefined;
  }
  if (!site || roleOn(site, caller) === null) throw errors.unknownSite(notFound);
  if (!hasRole(roleOn(site, caller), 'Manager')) {
    throw errors.siteForbidden(`Purging the cache of site ${site.id} needs the Manager role.`, { site: { id: site.id } });
  }
  return site;
}
