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
import { RenderAndStore } from './engine/render-and-store.js';
import { INSTANCE_ID } from './observability/instance.js';
import { HttpDrain } from './api/http-drain.js';
import { BrowserPool, resolveChromePath } from './render/browser-pool.js';
import { EgressProxy } from './render/egress/egress-proxy.js';
import { Renderer } from './render/renderer.js';
import { apiEdge } from './api/api-edge.js';
import { createHttpServer } from './api/http-server.js';
import { sitesRoutes } from './api/routes/index.js';
import { PageDiscovery } from './jobs/discovery/discover-pages.js';
import { RefreshService } from './jobs/refresh-service.js';
import type { JobStore } from './jobs/job-store.js';
import { crawlerRoutes } from './serving/crawler-routes.js';
import { createHotPath } from './serving/hot-path.js';
import { PageLookup } from './serving/page-lookup.js';
import { SiteDirectory } from './sites/site-directory.js';
import { SiteRegistry } from './sites/site-registry.js';
import type { SiteStateStore } from './sites/site-state.js';
import { storeKind } from './cache/store.js';
import { RedisStore } from './stores/redis-store.js';
import { SqliteStore } from './stores/sqlite-store.js';
import { ClusterEngine } from './engine/cluster/cluster-engine.js';
import type { Engine, EngineParts } from './engine/engine.js';
import { LocalEngine } from './engine/local/local-engine.js';
import type { RenderQueue } from './engine/render-queue.js';

export interface ServiceOptions {
  logger?: Logger;
}

export interface RunningService {
  /** Base URL of the HTTP API, e.g. http://127.0.0.1:3000 */
  url: string;
  server: http.Server;
  /** This instance's Chromium; null on role "api". */
  pool: BrowserPool | null;
  cache: PageCache;
  queue: RenderQueue;
  engine: Engine;
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
  // Connected and proven before any work: a write on a half-open store would be lost.
  await cache.connect().catch(async (err: unknown) => {
    await cache.close();
    await stateStore.close();
    throw err;
  });
  const role = config.cluster.role;
  // The one egress guard: Chromium's connections and discovery's fetches for a site go through it.
  const egress = new EgressProxy({ logger });
  const pool = role === 'api' ? null : new BrowserPool({
    egress,
    executablePath: resolveChromePath(config.render.chromePath),
    userAgent: config.render.userAgent,
    recycleAfterRenders: config.render.recycleAfterRenders,
    recycleAfterMs: config.render.recycleAfterMinutes * 60_000,
    logger,
  });
  const renderer = pool ? new RenderAndStore(new Renderer(pool, logger), cache, registry, config.render, metrics, logger) : null;
  const discovery = new PageDiscovery(egress, {
    maxPages: config.refresh.maxPagesPerJob,
    userAgent: config.render.userAgent ?? 'rendercache',
    timeoutMs: 15_000,
  });
  const parts: EngineParts = { config, store: stateStore, sites, cache, discovery, renderer, logger };
  const engine: Engine = storeKind(config.cache.store) === 'embedded' ? new LocalEngine(parts) : await ClusterEngine.open(parts);
  const queue = engine.queue;
  const lookup = new PageLookup(registry, sites.servesCrawlers, cache, queue, metrics, logger);
  const refresh = new RefreshService(stateStore, sites, engine.runner, config.refresh, logger);

  const health = healthRoutes({ browser: () => pool?.isReady ?? true, cache: () => cache.ping(), engine: () => engine.ready() }, metrics.registry);
  // A worker answers health and metrics only: crawlers and the API go to "api" instances.
  const app = createApp(logger, role === 'worker' ? [health] : [
    health,
    crawlerRoutes(lookup),
    sitesRoutes({
      sites, refresh, discovery, pollIntervalMs: config.refresh.pollIntervalMs, publicUrl: config.server.publicUrl, jitterSeconds: config.schedule.jitterSeconds,
      edge: apiEdge({
        tokens: config.auth.tokens,
        limiter: engine.createRateLimiter(config.api.rateLimit.points, config.api.rateLimit.windowSeconds),
        maxBodyBytes: config.api.maxBodyBytes,
        bodyReadTimeoutMs: config.api.bodyReadTimeoutMs,
      }),
    }),
  ], { trustProxy: config.server.trustProxy });
  const serveHot = role === 'worker' ? () => false : createHotPath(lookup, cache, sites.servesCrawlers, metrics);
  const koa = app.callback();
  const server = createHttpServer(config.server, (req, res) => {
    drain.track(res);
    if (!serveHot(req, res)) void koa(req, res);
  });
  const drain = new HttpDrain(server);

  const demo = config.demo ? await startDemoSite(config.demo.root, config.demo.port) : null;
  await pool?.start();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.server.port, config.server.host, resolve);
  });
  const address = server.address() as AddressInfo;
  const host = config.server.host === '0.0.0.0' || config.server.host === '::' ? '127.0.0.1' : config.server.host;
  const url = `http://${host}:${address.port}`;
  logger.info({ url, role, sites: registry.all().map((s) => s.id), store: storeKind(config.cache.store), instance: INSTANCE_ID }, 'rendercache listening');
  await engine.start(refresh);

  // One part failing to close must not keep the others (Chromium above all) open.
  const step = (what: string, work: () => Promise<unknown>) =>
    work().catch((err: unknown) => logger.error({ err: err instanceof Error ? err.message : String(err) }, `stop: could not ${what}`));
  let stopping: Promise<void> | null = null;
  return {
    url,
    server,
    pool,
    cache,
    queue,
    engine,
    refresh,
    sites,
    stop() {
      stopping ??= (async () => {
        const started = Date.now();
        // Stop accepting and taking work at once. Answers in flight finish (each closing
        // its connection), bounded by a render's deadline: a lookup waits at most that.
        const drained = drain.drain(config.render.deadlineMs);
        await step('stop work', () => engine.stopWork());
        await drained;
        await step('close engine', () => engine.close());
        renderer?.stop();
        await step('close Chromium', async () => pool?.close());
        await step('close egress', () => egress.close());
        await step('close cache store', () => cache.close());
        await step('close job store', () => stateStore.close());
        if (demo) await new Promise<void>((resolve) => demo.close(() => resolve()));
        logger.info({ ms: Date.now() - started }, 'rendercache stopped');
      })();
      return stopping;
    },
  };
}
