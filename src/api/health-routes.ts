import Router from '@koa/router';
import type { Registry } from 'prom-client';

export interface Readiness {
  browser(): boolean;
  cache(): Promise<boolean>;
}

/** Liveness, readiness (Chromium launched and the cache reachable) and metrics. */
export function healthRoutes(readiness: Readiness, registry: Registry): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.set('cache-control', 'no-store');
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const browser = readiness.browser();
    const cache = await readiness.cache();
    ctx.set('cache-control', 'no-store');
    ctx.status = browser && cache ? 200 : 503;
    ctx.body = { ready: browser && cache, browser, cache };
  });
  router.get('/metrics', async (ctx) => {
    ctx.type = registry.contentType;
    ctx.body = await registry.metrics();
  });
  return router;
}
