import Koa from 'koa';
import type Router from '@koa/router';
import type { Logger } from '../observability/logger.js';
import { errorMiddleware } from './error-middleware.js';

/** The Koa app: error bodies first, then each router in order. */
export function createApp(logger: Logger, parts: ReadonlyArray<Koa.Middleware | Router>): Koa {
  const app = new Koa();
  app.proxy = true;
  // Errors are answered by errorMiddleware; Koa's own printer would only duplicate them.
  app.silent = true;
  app.use(errorMiddleware(logger));
  for (const part of parts) {
    if (typeof part === 'function') app.use(part);
    else app.use(part.routes()).use(part.allowedMethods());
  }
  return app;
}
