/**
 * Bounds on what one discovery may read. Sitemaps and pages are input from the origin, so
 * the bounds protect this instance from them. Fixed here for now; a later change moves
 * them to the config schema.
 */

/**
 * Bytes of one fetched document (sitemap, robots.txt, crawled page), and of a gzip sitemap
 * once inflated: a few KB of gzip can inflate to gigabytes. 50 MiB is what sitemaps.org
 * allows an uncompressed sitemap, so no valid sitemap is refused.
 */
export const MAX_DISCOVERY_DOCUMENT_BYTES = 50 * 1024 * 1024;

/**
 * Sitemaps read in one discovery, indexes and their children together. An index may name
 * other indexes, or itself under another URL, without end; this bounds the fetches however
 * the sitemaps are arranged. Sitemaps beyond it are skipped, not an error.
 */
export const MAX_SITEMAPS_PER_DISCOVERY = 1000;
