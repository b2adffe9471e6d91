import type Koa from 'koa';
import { lookupTarget } from './lookup-target.js';
import type { PageLookup } from './page-lookup.js';
import { writeEntry } from './write-entry.js';

/**
 * Koa middleware for crawler lookups in all three URL shapes. Answers with the page,
 * or lets an ApiError propagate to the error middleware.
 */
export function crawlerRoutes(lookup: PageLookup): Koa.Middleware {
  return async (ctx, next) => {
    const target = ctx.method === 'GET' || ctx.method === 'HEAD' ? lookupTarget(ctx.url) : null;
    if (target === null) {
      await next();
      return;
    }
    const { entry, state } = await lookup.lookup(target);
    ctx.respond = false;
    writeEntry(ctx.req, ctx.res, entry, state);
  };
}
