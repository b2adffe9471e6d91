import { gunzipSync } from 'node:zlib';
import { XMLParser } from 'fast-xml-parser';

const parser = new XMLParser({ ignoreAttributes: true, removeNSPrefix: true, isArray: (name) => name === 'url' || name === 'sitemap' });

export interface ParsedSitemap {
  /** Pages of a <urlset>: the URL, and its <lastmod> (ms) when it has a valid one. */
  pages: Array<{ loc: string; lastmod?: number }>;
  /** Child sitemaps of a <sitemapindex>. */
  sitemaps: string[];
}

/**
 * Parses a sitemap or sitemap index, gzip-compressed (.xml.gz) or not. `maxBytes` bounds
 * the XML as well as the download: a few KB of gzip can inflate to gigabytes.
 */
export function parseSitemap(body: Buffer, maxBytes: number): ParsedSitemap {
  const xml = body[0] === 0x1f && body[1] === 0x8b ? inflateLimited(body, maxBytes) : body.toString('utf8');
  const doc = parser.parse(xml) as { urlset?: { url?: Array<{ loc?: unknown; lastmod?: unknown }> }; sitemapindex?: { sitemap?: Array<{ loc?: unknown }> } };
  const locs = (items: Array<{ loc?: unknown }> | undefined) =>
    (items ?? []).map((item) => (typeof item.loc === 'string' ? item.loc.trim() : '')).filter((loc) => loc !== '');
  const pages = (doc.urlset?.url ?? []).flatMap((item) => {
    const loc = typeof item.loc === 'string' ? item.loc.trim() : '';
    if (loc === '') return [];
    const lastmod = typeof item.lastmod === 'string' ? Date.parse(item.lastmod.trim()) : Number.NaN;
    return [Number.isFinite(lastmod) ? { loc, lastmod } : { loc }];
  });
  return { pages, sitemaps: locs(doc.sitemapindex?.sitemap) };
}

function inflateLimited(gzip: Buffer, maxBytes: number): string {
  try {
    return gunzipSync(gzip, { maxOutputLength: maxBytes }).toString('utf8');
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') throw new Error(`sitemap larger than ${maxBytes} bytes once decompressed`);
    throw err;
  }
}
