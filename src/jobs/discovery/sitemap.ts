import { gunzipSync } from 'node:zlib';
import { XMLParser } from 'fast-xml-parser';

const parser = new XMLParser({ ignoreAttributes: true, removeNSPrefix: true, isArray: (name) => name === 'url' || name === 'sitemap' });

export interface ParsedSitemap {
  /** Page URLs of a <urlset>. */
  pages: string[];
  /** Child sitemaps of a <sitemapindex>. */
  sitemaps: string[];
}

/** Parses a sitemap or sitemap index, gzip-compressed (.xml.gz) or not. */
export function parseSitemap(body: Buffer): ParsedSitemap {
  const xml = body[0] === 0x1f && body[1] === 0x8b ? gunzipSync(body).toString('utf8') : body.toString('utf8');
  const doc = parser.parse(xml) as { urlset?: { url?: Array<{ loc?: unknown }> }; sitemapindex?: { sitemap?: Array<{ loc?: unknown }> } };
  const locs = (items: Array<{ loc?: unknown }> | undefined) =>
    (items ?? []).map((item) => (typeof item.loc === 'string' ? item.loc.trim() : '')).filter((loc) => loc !== '');
  return { pages: locs(doc.urlset?.url), sitemaps: locs(doc.sitemapindex?.sitemap) };
}
