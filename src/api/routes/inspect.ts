import { z } from 'zod';
import { variantKey } from '../../cache/key.js';
import { guardedFetch } from '../../jobs/discovery/guarded-fetch.js';
import { errors } from '../errors.js';
import { validate } from '../validate.js';
import type { SitesRoutesDeps } from './deps.js';
import type { RouteTable } from './route-table.js';
import { siteFor } from './site-access.js';

const inspectQuery = z.strictObject({
  url: z.string().min(1).max(4096),
  /** Which variant's entry (default: the site's first). */
  variant: z.string().min(1).max(32).optional(),
});

/**
 * One page of a site as the cache holds it (the entry's fields and HTML) beside what the
 * origin sends a crawler that runs no JavaScript, with the visible text length of each.
 */
export function inspectRoutes({ route }: RouteTable, deps: SitesRoutesDeps): void {
  route(
    'get',
    '/sites/:id/inspect',
    'Viewer',
    async (ctx, access) => {
      const query = validate(inspectQuery, ctx.query, 'query');
      const view = siteFor(deps.sites, ctx, access, false);
      const { urls, rejected } = deps.discovery.pagesOf(view.site, [query.url]);
      const url = urls[0];
      if (rejected.length > 0 || !url) throw errors.badRequest(`Not a page of site ${view.site.id}: ${query.url.slice(0, 200)}.`);
      const { variants } = view.site.config;
      const variant = query.variant ?? variants[0];
      if (variant === undefined || !variants.includes(variant))
        throw errors.badRequest(`Site ${view.site.id} has no variant "${variant}"; its variants: ${variants.join(', ')}.`);
      const [entry, origin] = await Promise.all([
        deps.cache.get(variantKey(url, variant)),
        fetchOrigin(url, view.site.origin, view.site.config.allowPrivateNetwork, deps),
      ]);
      let cached = null;
      if (entry) {
        const html = entry.identity.toString('utf8');
        cached = {
          status: entry.stored.status,
          headers: entry.stored.headers,
          etag: entry.stored.etag,
          renderedAt: entry.stored.renderedAt,
          renderTimeMs: entry.stored.renderTimeMs,
          bytes: entry.stored.bytes,
          trigger: entry.stored.source.trigger,
          state: deps.cache.stateOf(entry) === 'hit' ? 'fresh' : 'stale',
          textLength: visibleText(html).length,
          html,
        };
      }
      ctx.set('cache-control', 'no-store');
      ctx.body = { siteId: view.site.id, url, variant, cached, origin };
    },
    {
      summary: 'One page: its cache entry and what the origin sends without JavaScript',
      description:
        "The cached entry (status, replayed headers, ETag, renderedAt, bytes, fresh or stale, the HTML) and the origin fetched through the site's egress guard, each with the length of its visible text. 400 when the URL is not a page of the site.",
      query: inspectQuery,
      responses: { 200: { description: 'The entry and the origin', schema: inspectSchema } },
      errors: [404],
    },
  );
}

const inspectSchema = z.looseObject({
  siteId: z.string(),
  url: z.string(),
  variant: z.string(),
  cached: z
    .looseObject({
      status: z.number(),
      etag: z.string(),
      renderedAt: z.string(),
      bytes: z.number(),
      state: z.enum(['fresh', 'stale']),
      html: z.string(),
      textLength: z.number(),
    })
    .nullable(),
  origin: z.looseObject({ status: z.number().nullable(), textLength: z.number().nullable(), error: z.string().nullable() }),
});

async function fetchOrigin(
  url: string,
  siteOrigin: string,
  allowPrivateNetwork: boolean,
  { egress, originFetch }: Pick<SitesRoutesDeps, 'egress' | 'originFetch'>,
) {
  try {
    const doc = await guardedFetch(url, egress, { siteOrigin, allowPrivateNetwork, ...originFetch });
    const html = doc.body.toString('utf8');
    return { status: doc.status, url: doc.url, contentType: doc.contentType, bytes: doc.body.length, textLength: visibleText(html).length, error: null };
  } catch (err) {
    return { status: null, url, contentType: null, bytes: null, textLength: null, error: err instanceof Error ? err.message : String(err) };
  }
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/**
 * The text a reader sees in an HTML document, roughly: no comments, no script, style,
 * noscript, template or head content, no tags; entities decoded, whitespace collapsed.
 */
export function visibleText(html: string): string {
  return html
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(script|style|noscript|template|head)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
      if (name[0] === '#') {
        const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
        return Number.isFinite(code) && code > 0 && code < 0x110000 ? String.fromCodePoint(code) : ' ';
      }
      return ENTITIES[name.toLowerCase()] ?? whole;
    })
    .replace(/\s+/g, ' ')
    .trim();
}
