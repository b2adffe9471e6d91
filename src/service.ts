import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RendercacheConfig } from './config/schema.js';
import { HotTier } from './cache/hot-tier.js';
import { PageCache } from './cache/page-cache.js';
import { createKeyvStore } from './cache/store.js';
import { createApp } from './api/app.js';
import { healthRoutes } from './api/health-routes.js';
import { startDemoSite } from './demo/demo-site.js';
import { createLogger, type Logger } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import { LocalRenderQueue } from './queue/local-render-queue.js';
import { RenderAndStore } from './queue/render-and-store.js';
import { BrowserPool, resolveChromePath } from './render/browser-pool.js';
import { RequestGuard } from './render/request-guard.js';
import { Renderer } from './render/renderer.js';
import { crawlerRoutes } from './serving/crawler-routes.js';
import { createHotPath } from './serving/hot-path.js';
import { PageLookup, type ServingGate } from './serving/page-lookup.js';
import { SiteRegistry } from './sites/site-registry.js';

export interface ServiceOptions {
  logger?: Logger;
}

export interface RunningService {
  /** Base URL of the HTTP API, e.g. http://127.0.0.1:3000 */
  url: string;
  server: http.Server;
  pool: BrowserPool;
  cache: PageCache;
  queue: LocalRenderQueue;
  stop(): Promise<void>;
}

/** Crawlers are served a site's cache while it is online, public and pre-rendered. */
const servesCrawlers: ServingGate = (site) =>
  site.config.status === 'online' && site.config.security === 'public' && site.config.prerender;

/** The composition root: builds every part from the config and starts serving. */
export async function startService(config: RendercacheConfig, options: ServiceOptions = {}): Promise<RunningService> {
  const logger = options.logger ?? createLogger(config.log.level);
  const metrics = createMetrics();
  const sites = new SiteRegistry(config.sites);
  const cache = new PageCache(
    createKeyvStore(config.cache),
    new HotTier(config.cache.hotTierBytes),
    { commandTimeoutMs: config.cache.commandTimeoutMs, staleAfterMs: config.cache.staleAfterSeconds * 1000 },
    logger,
  );
  const pool = new BrowserPool({
    executablePath: resolveChromePath(config.render.chromePath),
    userAgent: config.render.userAgent,
    recycleAfterRenders: config.render.recycleAfterRenders,
    recycleAfterMs: config.render.recycleAfterMinutes * 60_000,
    logger,
  });
  const renderer = new Renderer(pool, new RequestGuard(), logger);
  const worker = new RenderAndStore(renderer, cache, sites, config.render, metrics, logger);
  const queue = new LocalRenderQueue(worker, { concurrency: config.render.concurrency, maxQueued: config.render.maxQueued });
  const lookup = new PageLookup(sites, servesCrawlers, cache, queue, metrics, logger);

  const app = createApp(logger, [
    healthRoutes({ browser: () => pool.isReady, cache: () => cache.ping() }, metrics.registry),
    crawlerRoutes(lookup),
  ]);
  const serveHot = createHotPath(lookup, cache, servesCrawlers, metrics);
  const koa = app.callback();
  const server = http.createServer((req, res) => {
    if (!serveHot(req, res)) void koa(req, res);
  });
  server.keepAliveTimeout = 65_000;

  const demo = config.demo ? await startDemoSite(config.demo.root, config.demo.port) : null;
  await pool.start();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.server.port, config.server.host, resolve);
  });
  const address = server.address() as AddressInfo;
  const host = config.server.host === '0.0.0.0' || config.server.host === '::' ? '127.0.0.1' : config.server.host;
  const url = `http://${host}:${address.port}`;
  logger.info({ url, sites: sites.all().map((s) => s.id), store: config.cache.store === 'embedded' ? 'embedded' : 'redis' }, 'rendercache listening');

  let stopping: Promise<void> | null = null;
  return {
    url,
    server,
    pool,
    cache,
    queue,
    stop() {
      stopping ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        await queue.close();
        await pool.close();
        await cache.close();
        if (demo) await new Promise<void>((resolve) => demo.close(() => resolve()));
      })();
      return stopping;
    },
  };
}
