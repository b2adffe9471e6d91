import type Koa from 'koa';
import type { Logger } from '../observability/logger.js';
import type { Caller } from './auth.js';

/**
 * One line per management API request, once it is answered: method, path, status, time
 * and the caller. Outside every other middleware, so the status is the one sent, errors
 * included. Crawler lookups are not logged here: they are counted in metrics.
 */
export function accessLog(logger: Logger, prefix: string): Koa.Middleware {
  return async (ctx, next) => {
    if (!ctx.path.startsWith(prefix)) {
      await next();
      return;
    }
    const started = performance.now();
    try {
      await next();
    } finally {
      const caller = ctx.state.caller as Caller | undefined;
      logger.info(
        { method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(performance.now() - started), user: caller?.user ?? null },
        'api request',
      );
    }
  };
}
