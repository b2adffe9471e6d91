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
import { apiEdge } from './api/api-edge.js';
import { API_BASE, sitesRoutes } from './api/sites-routes.js';
import { PageDiscovery } from './jobs/discovery/discover-pages.js';
import { RefreshService } from './jobs/refresh-service.js';
import type { JobStore } from './jobs/types.js';
import { crawlerRoutes } from './serving/crawler-routes.js';
import { createHotPath } from './serving/hot-path.js';
import { PageLookup } from './serving/page-lookup.js';
import { SiteDirectory } from './sites/site-directory.js';
import { SiteRegistry } from './sites/site-registry.js';
import type { SiteStateStore } from './sites/site-state.js';
import { storeKind } from './cache/store.js';
import { RedisStore } from './stores/redis-store.js';
import { SqliteStore } from './stores/sqlite-store.js';

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
  refresh: RefreshService;
  sites: SiteDirectory;
  stop(): Promise<void>;
}

/** Jobs and site state live in the same kind of store as the cache: embedded or Redis. */
async function openStateStore(config: RendercacheConfig): Promise<JobStore & SiteStateStore> {
  if (storeKind(config.cache.store) === 'embedded') return SqliteStore.open(config.cache.dir);
  return new RedisStore(config.cache.store, config.cache.namespace);
}

/** The composition root: builds every part from the config and starts serving. */
export async function startService(config: RendercacheConfig, options: ServiceOptions = {}): Promise<RunningService> {
  const logger = options.logger ?? createLogger(config.log.level);
  const metrics = createMetrics();
  const registry = new SiteRegistry(config.sites);
  const stateStore = await openStateStore(config);
  const sites = new SiteDirectory(registry, stateStore);
  await sites.load();
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
  const guard = new RequestGuard();
  const renderer = new Renderer(pool, guard, logger);
  const worker = new RenderAndStore(renderer, cache, registry, config.render, metrics, logger);
  const queue = new LocalRenderQueue(worker, { concurrency: config.render.concurrency, maxQueued: config.render.maxQueued });
  const lookup = new PageLookup(registry, sites.servesCrawlers, cache, queue, metrics, logger);
  const discovery = new PageDiscovery(guard, {
    maxPages: config.refresh.maxPagesPerJob,
    userAgent: config.render.userAgent ?? 'rendercache',
    timeoutMs: 15_000,
  });
  const refresh = new RefreshService(stateStore, sites, discovery, queue, config.refresh, logger);
  await refresh.failInterruptedJobs();

  const app = createApp(logger, [
    healthRoutes({ browser: () => pool.isReady, cache: () => cache.ping() }, metrics.registry),
    crawlerRoutes(lookup),
    apiEdge(API_BASE, { tokens: config.auth.tokens, rateLimit: config.api.rateLimit, maxBodyBytes: config.api.maxBodyBytes }),
    sitesRoutes({ sites, refresh, discovery, pollIntervalMs: config.refresh.pollIntervalMs, publicUrl: config.server.publicUrl }),
  ]);
  const serveHot = createHotPath(lookup, cache, sites.servesCrawlers, metrics);
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
  logger.info({ url, sites: registry.all().map((s) => s.id), store: config.cache.store === 'embedded' ? 'embedded' : 'redis' }, 'rendercache listening');

  let stopping: Promise<void> | null = null;
  return {
    url,
    server,
    pool,
    cache,
    queue,
    refresh,
    sites,
    stop() {
      stopping ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        await refresh.stop();
        await queue.close();
        await pool.close();
        await cache.close();
        await stateStore.close();
        if (demo) await new Promise<void>((resolve) => demo.close(() => resolve()));
      })();
      return stopping;
    },
  };
}
