import Router from '@koa/router';
import type { Registry } from 'prom-client';
import { recordRoute } from './openapi/route-doc.js';
import { healthSchema, readySchema } from './openapi/schemas.js';

export interface Readiness {
  browser(): boolean;
  cache(): Promise<boolean>;
  /** The render/job backend (Redis in a cluster). */
  engine(): Promise<boolean>;
}

/** Liveness, readiness (Chromium launched, the cache and the queue reachable) and metrics. */
export function healthRoutes(readiness: Readiness, registry: Registry): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.set('cache-control', 'no-store');
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const browser = readiness.browser();
    const [cache, engine] = await Promise.all([readiness.cache(), readiness.engine()]);
    const ready = browser && cache && engine;
    ctx.set('cache-control', 'no-store');
    ctx.status = ready ? 200 : 503;
    ctx.body = { ready, browser, cache, queue: engine };
  });
  router.get('/metrics', async (ctx) => {
    ctx.type = registry.contentType;
    ctx.body = await registry.metrics();
  });
  const tags = ['Health'];
  recordRoute(router, {
    method: 'get',
    path: '/healthz',
    doc: { summary: 'Liveness', tags, responses: { 200: { description: 'The process answers', schema: healthSchema } }, errors: [] },
  });
  recordRoute(router, {
    method: 'get',
    path: '/readyz',
    doc: {
      summary: 'Readiness: Chromium launched, the cache and the queue reachable',
      tags,
      responses: { 200: { description: 'Ready', schema: readySchema }, 503: { description: 'Not ready: which part is not', schema: readySchema } },
      errors: [],
    },
  });
  recordRoute(router, {
    method: 'get',
    path: '/metrics',
    doc: {
      summary: 'Prometheus metrics',
      tags,
      responses: { 200: { description: 'The Prometheus text exposition format', mediaType: registry.contentType } },
      errors: [],
    },
  });
  return router;
}
