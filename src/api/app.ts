import Koa from 'koa';
import type Router from '@koa/router';
import type { Logger } from '../observability/logger.js';
import { accessLog } from './access-log.js';
import { errorMiddleware } from './error-middleware.js';
import { API_BASE } from './routes/links.js';

export interface AppOptions {
  /** server.trustProxy: believe X-Forwarded-Host/-Proto/-For (ctx.host, ctx.protocol, ctx.ip). */
  trustProxy: boolean;
}

/** The Koa app: the access log, error bodies, then each router in order. */
export function createApp(logger: Logger, parts: ReadonlyArray<Koa.Middleware | Router>, options: AppOptions): Koa {
  const app = new Koa();
  app.proxy = options.trustProxy;
  // Errors are answered by errorMiddleware; Koa's own printer would only duplicate them.
  app.silent = true;
  app.use(accessLog(logger, API_BASE));
  app.use(errorMiddleware(logger));
  for (const part of parts) {
    if (typeof part === 'function') app.use(part);
    // 405 and 501 are left bodiless with their Allow header; errorMiddleware adds the body.
    // (throw mode would lose the Allow header RFC 9110 requires on a 405.)
    else app.use(part.routes()).use(part.allowedMethods());
  }
  return app;
}
