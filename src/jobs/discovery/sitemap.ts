import { gunzipSync } from 'node:zlib';
import { XMLParser } from 'fast-xml-parser';

const parser = new XMLParser({ ignoreAttributes: true, removeNSPrefix: true, isArray: (name) => name === 'url' || name === 'sitemap' });

export interface ParsedSitemap {
  /** Page URLs of a <urlset>. */
  pages: string[];
  /** Child sitemaps of a <sitemapindex>. */
  sitemaps: string[];
}

/**
 * Parses a sitemap or sitemap index, gzip-compressed (.xml.gz) or not. `maxBytes` bounds
 * the XML as well as the download: a few KB of gzip can inflate to gigabytes.
 */
export function parseSitemap(body: Buffer, maxBytes: number): ParsedSitemap {
  const xml = body[0] === 0x1f && body[1] === 0x8b ? inflateLimited(body, maxBytes) : body.toString('utf8');
  const doc = parser.parse(xml) as { urlset?: { url?: Array<{ loc?: unknown }> }; sitemapindex?: { sitemap?: Array<{ loc?: unknown }> } };
  const locs = (items: Array<{ loc?: unknown }> | undefined) =>
    (items ?? []).map((item) => (typeof item.loc === 'string' ? item.loc.trim() : '')).filter((loc) => loc !== '');
  return { pages: locs(doc.urlset?.url), sitemaps: locs(doc.sitemapindex?.sitemap) };
}

function inflateLimited(gzip: Buffer, maxBytes: number): string {
  try {
    return gunzipSync(gzip, { maxOutputLength: maxBytes }).toString('utf8');
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') throw new Error(`sitemap larger than ${maxBytes} bytes once decompressed`);
    throw err;
  }
}
