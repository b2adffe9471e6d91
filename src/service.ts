import type http from 'node:http';
import v8 from 'node:v8';
import type { AddressInfo } from 'node:net';
import type { RendercacheConfig } from './config/schema.js';
import { HotTier } from './cache/hot-tier.js';
import { PageCache } from './cache/page-cache.js';
import type Keyv from 'keyv';
import { createKeyvStore } from './cache/store.js';
import { apiEdge, type ApiEdgeOptions } from './api/api-edge.js';
import { consoleRoutes } from './api/console-routes.js';
import { createApp } from './api/app.js';
import { healthRoutes } from './api/health-routes.js';
import { apiDocsRoutes } from './api/openapi/docs-routes.js';
import { HttpDrain } from './api/http-drain.js';
import { createHttpServer } from './api/http-server.js';
import { prerenderRoutes } from './api/prerender-routes.js';
import { purgeRoutes } from './api/purge-routes.js';
import { sitesRoutes, type SitesRoutesDeps } from './api/routes/index.js';
import { startDemoSite } from './demo/demo-site.js';
import { ClusterEngine } from './engine/cluster/cluster-engine.js';
import type { Engine, EngineParts } from './engine/engine.js';
import { LocalEngine } from './engine/local/local-engine.js';
import { RenderAndStore } from './engine/render-and-store.js';
import { RenderCapacity, systemCapacityClock } from './engine/render-capacity.js';
import type { RenderQueue } from './engine/render-queue.js';
import type { PageDiscovery } from './jobs/discovery/discover-pages.js';
import type { JobStore } from './jobs/job-store.js';
import type { RefreshService } from './jobs/refresh-service.js';
import { INSTANCE_ID } from './observability/instance.js';
import { createLogger, type Logger } from './observability/logger.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { ProcessTreeUsage } from './observability/process-tree-usage.js';
import type { BrowserPool } from './render/browser-pool.js';
import type { EgressProxy } from './render/egress/egress-proxy.js';
import { Renderer } from './render/renderer.js';
import { buildRenderingParts } from './rendering-parts.js';
import { crawlerRoutes } from './serving/crawler-routes.js';
import { createHotPath } from './serving/hot-path.js';
import { createLookupGate } from './serving/lookup-gate.js';
import { PageLookup } from './serving/page-lookup.js';
import { SiteDirectory } from './sites/site-directory.js';
import { SiteRegistry } from './sites/site-registry.js';
import type { SiteStateStore } from './sites/site-state.js';
import { openCommandConnection, redisPolicy } from './redis/redis-connection.js';
import { RedisStore } from './stores/redis-store.js';
import { SqliteStore } from './stores/sqlite-store.js';
import { IncrementalRefresh } from './revalidate/incremental-refresh.js';
import { InputRevalidator } from './revalidate/input-revalidator.js';
import { CrawlerDemand } from './freshness/crawler-demand.js';
import { RefreshPagePlanner } from './freshness/page-planner.js';

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

/** The stores and the state read from them. */
interface State {
  registry: SiteRegistry;
  stateStore: JobStore & SiteStateStore;
  sites: SiteDirectory;
  cache: PageCache;
  /** Which cached pages crawlers ask for: counted on lookups, read by refresh planning. */
  demand: CrawlerDemand;
}

/** What renders and fetches pages, behind the one egress guard. */
interface Rendering {
  egress: EgressProxy;
  /** This instance's Chromium; null on role "api". */
  pool: BrowserPool | null;
  renderer: RenderAndStore | null;
  /** Renders at once on this instance's Chromium: fixed, or learned ("auto"). */
  capacity: RenderCapacity;
  discovery: PageDiscovery;
}

/**
 * The composition root: builds every part from the config, each from the parts before it
 * (state, rendering, engine, HTTP), and starts serving. Nothing is handed back to a part
 * built earlier: the engine builds its RefreshService and schedulers itself.
 */
export async function startService(config: RendercacheConfig, options: ServiceOptions = {}): Promise<RunningService> {
  const logger = options.logger ?? createLogger(config.log.level, process.stdout, config.log.format);
  limitHeapGrowth(config.server.heapGrowingPercent);
  const metrics = createMetrics(logger);
  const backend = await openBackend(config);
  const state = await openState(config, backend, logger);
  const rendering = buildRendering(config, state, metrics, logger);
  const engine = await backend.openEngine({
    config,
    store: state.stateStore,
    sites: state.sites,
    cache: state.cache,
    pages: { discovery: rendering.discovery, planner: new RefreshPagePlanner(state.cache, state.demand) },
    renderer: rendering.renderer,
    capacity: rendering.capacity,
    logger,
  });
  metrics.watchRenderQueue(engine.queue);
  metrics.watchRenderCapacity(rendering.capacity);
  const { server, drain } = buildHttp(config, state, rendering, engine, metrics, logger);

  const demo = config.demo ? await startDemoSite(config.demo.root, config.demo.port) : null;
  await rendering.pool?.start();
  if (rendering.pool) rendering.capacity.start();
  const url = await listen(server, config.server);
  logger.info(
    { url, role: config.cluster.role, sites: state.registry.all().map((s) => s.id), backend: config.backend, instance: INSTANCE_ID },
    'rendercache listening',
  );
  await engine.start();

  let stopping: Promise<void> | null = null;
  const stop = () => (stopping ??= stopInOrder(config, { drain, engine, rendering, state, backend, demo }, logger));
  return { url, server, pool: rendering.pool, cache: state.cache, queue: engine.queue, engine, refresh: engine.refresh, sites: state.sites, stop };
}

/**
 * V8 reads this flag at each full collection, so it takes effect when set at run time (unlike
 * the heap's size limits, fixed at start-up). 0 leaves V8's own growing factor.
 */
function limitHeapGrowth(percent: number): void {
  if (percent > 0) v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}

/** The stores and the engine of the configured backend. */
interface Backend {
  /** Jobs and site state. */
  jobs: JobStore & SiteStateStore;
  /** The page cache's entries. */
  pages: Keyv;
  openEngine(parts: EngineParts): Promise<Engine>;
  /** Closes what the stores and the engine share (Redis's request connection), after them. */
  close(): Promise<void>;
}

/**
 * The one place that reads `backend`: SQLite, p-queue and node-cron in this process, or
 * Redis and BullMQ shared by every instance, all connected under one Redis policy.
 */
async function openBackend(config: RendercacheConfig): Promise<Backend> {
  const { dir, namespace } = config.cache;
  if (config.backend === 'embedded') {
    return {
      jobs: await SqliteStore.open(dir),
      pages: createKeyvStore({ backend: 'embedded', dir }, namespace),
      openEngine: (parts) => Promise.resolve(new LocalEngine(parts)),
      close: () => Promise.resolve(),
    };
  }
  const redis = redisPolicy(config.redis);
  // One request connection for the job store and the engine: readiness (the engine's ping) then speaks for both.
  const requests = await openCommandConnection(redis);
  return {
    jobs: RedisStore.over(requests, namespace),
    pages: createKeyvStore({ backend: 'redis', redis }, namespace),
    openEngine: (parts) => Promise.resolve(ClusterEngine.open(parts, redis, requests)),
    close: () =>
      requests.quit().then(
        () => undefined,
        () => requests.disconnect(),
      ),
  };
}

/** The sites with their run-time state, and the page cache, connected and proven before any work. */
async function openState(config: RendercacheConfig, backend: Backend, logger: Logger): Promise<State> {
  const registry = new SiteRegistry(config.sites);
  const { jobs: stateStore, pages } = backend;
  const sites = new SiteDirectory(registry, stateStore);
  await sites.load();
  const cache = new PageCache(
    pages,
    new HotTier(config.cache.hotTierBytes),
    { commandTimeoutMs: config.cache.commandTimeoutMs, staleAfterMs: config.cache.staleAfterSeconds * 1000 },
    logger,
  );
  // Connected and proven before any work: a write on a half-open store would be lost.
  await cache.connect().catch(async (err: unknown) => {
    await cache.close();
    await stateStore.close();
    await backend.close();
    throw err;
  });
  const demand = new CrawlerDemand(
    pages,
    {
      flushEveryMs: config.refresh.crawlerDemandFlushSeconds * 1000,
      windowMs: config.refresh.crawlerDemandWindow,
      commandTimeoutMs: config.cache.commandTimeoutMs,
    },
    logger,
  );
  demand.start();
  return { registry, stateStore, sites, cache, demand };
}

/** Chromium (none on role "api") and discovery; their connections to a site go through the one egress guard. */
function buildRendering(config: RendercacheConfig, state: State, metrics: Metrics, logger: Logger): Rendering {
  const { egress, pool, discovery } = buildRenderingParts(config, logger);
  const { discovery: fetching, fullRenderAfter, revalidateConcurrencyPerOrigin } = config.refresh;
  const revalidator = new InputRevalidator(
    egress,
    {
      timeoutMs: fetching.timeoutMs,
      maxBytes: fetching.maxDocumentBytes,
      concurrencyPerOrigin: revalidateConcurrencyPerOrigin,
    },
    logger,
  );
  const incremental = new IncrementalRefresh(state.cache, revalidator, { fullRenderAfterMs: fullRenderAfter }, logger);
  const renderer = pool ? new RenderAndStore(new Renderer(pool, logger), state.cache, state.registry, config.render, metrics, logger, incremental) : null;
  const capacity = buildRenderCapacity(config, logger);
  // Tabs beyond the renders at once hold memory: given back when memory is short.
  if (pool) capacity.onMemoryPressure((concurrency) => pool.keepIdlePages(concurrency));
  return { egress, pool, renderer, capacity, discovery };
}

/** `render.concurrency`: a fixed number, or "auto" within `render.autoConcurrency`. */
function buildRenderCapacity(config: RendercacheConfig, logger: Logger): RenderCapacity {
  const { concurrency, autoConcurrency: auto } = config.render;
  const deps = { usage: new ProcessTreeUsage(), clock: systemCapacityClock, logger };
  if (concurrency !== 'auto') return new RenderCapacity({ mode: 'fixed', concurrency }, deps);
  const limits = { min: auto.min, max: auto.max, memoryBudgetBytes: auto.memoryBudgetMb * 1024 * 1024 };
  return new RenderCapacity({ mode: 'auto', limits, initial: auto.initial, windowMs: auto.windowMs }, deps);
}

/**
 * The HTTP server: the hot path, then Koa (health, crawler lookups, the management API, the
 * console, the API reference); a worker answers health and metrics only.
 */
function buildHttp(
  config: RendercacheConfig,
  state: State,
  rendering: Rendering,
  engine: Engine,
  metrics: Metrics,
  logger: Logger,
): { server: http.Server; drain: HttpDrain } {
  const { registry, sites, cache, demand } = state;
  const role = config.cluster.role;
  const lookup = new PageLookup(registry, sites.servesCrawlers, cache, engine.queue, metrics, logger, demand);
  const mayLookUp = createLookupGate(config.lookup.tokens);
  // One request budget per token across the management API and the prerender.io-compatible routes.
  const edge: ApiEdgeOptions = {
    tokens: config.auth.tokens,
    limiter: engine.createRateLimiter(config.api.rateLimit.points, config.api.rateLimit.windowSeconds),
    maxBodyBytes: config.api.maxBodyBytes,
    bodyReadTimeoutMs: config.api.bodyReadTimeoutMs,
  };
  const health = healthRoutes({ browser: () => rendering.pool?.isReady ?? true, cache: () => cache.ping(), engine: () => engine.ready() }, metrics.registry);
  // Crawlers, the API and the console go to "api" instances.
  const app = createApp(
    logger,
    role === 'worker'
      ? [health]
      : [
          health,
          crawlerRoutes(lookup, mayLookUp),
          sitesRoutes(managementDeps(config, state, rendering, engine, edge)),
          prerenderRoutes({ sites, refresh: engine.refresh, discovery: rendering.discovery, edge }),
          purgeRoutes({ sites, cache, edge }),
          consoleRoutes({ logger }),
          apiDocsRoutes(),
        ],
    { trustProxy: config.server.trustProxy },
  );
  const serveHot = role === 'worker' ? () => false : createHotPath(lookup, cache, sites.servesCrawlers, mayLookUp, metrics, demand);
  const koa = app.callback();
  const server = createHttpServer(config.server, (req, res) => {
    // Tracked before any answer is written: once draining, it carries Connection: close.
    drain.track(res);
    if (!serveHot(req, res)) void koa(req, res);
  });
  const drain = new HttpDrain(server);
  return { server, drain };
}

/** What the management routes work with, behind one edge (token, the request budget, body limits). */
function managementDeps(config: RendercacheConfig, state: State, rendering: Rendering, engine: Engine, edge: ApiEdgeOptions): SitesRoutesDeps {
  const { discovery } = config.refresh;
  return {
    sites: state.sites,
    refresh: engine.refresh,
    discovery: rendering.discovery,
    pollIntervalMs: config.refresh.pollIntervalMs,
    publicUrl: config.server.publicUrl,
    jitterSeconds: config.schedule.jitterSeconds,
    edge: apiEdge(edge),
    cache: state.cache,
    staleAfterSeconds: config.cache.staleAfterSeconds,
    egress: rendering.egress,
    originFetch: { userAgent: config.render.userAgent ?? discovery.userAgent, timeoutMs: discovery.timeoutMs, maxBytes: discovery.maxDocumentBytes },
  };
}

/** Listens where the config says; resolves the service's base URL. */
async function listen(server: http.Server, options: RendercacheConfig['server']): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const address = server.address() as AddressInfo;
  const host = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  return `http://${host}:${address.port}`;
}

/**
 * Stops accepting and taking work at once; answers in flight finish (each closing its
 * connection), bounded by a render's deadline, since a lookup waits at most that. Then the
 * engine, Chromium, the egress guard and the stores close, one after the other.
 */
async function stopInOrder(
  config: RendercacheConfig,
  parts: { drain: HttpDrain; engine: Engine; rendering: Rendering; state: State; backend: Backend; demo: http.Server | null },
  logger: Logger,
): Promise<void> {
  const { drain, engine, rendering, state, backend, demo } = parts;
  const started = Date.now();
  // One part failing to close must not keep the others (Chromium above all) open.
  const step = (what: string, work: () => Promise<unknown>) =>
    work().catch((err: unknown) => logger.error({ err: err instanceof Error ? err.message : String(err) }, `stop: could not ${what}`));
  const drained = drain.drain(config.render.deadlineMs);
  await step('stop work', () => engine.stopWork());
  await drained;
  await step('close engine', () => engine.close());
  rendering.capacity.stop();
  rendering.renderer?.stop();
  await step('close Chromium', async () => rendering.pool?.close());
  await step('close egress', () => rendering.egress.close());
  await step('write crawler demand', () => state.demand.stop());
  await step('close cache store', () => state.cache.close());
  await step('close job store', () => state.stateStore.close());
  await step('close backend', () => backend.close());
  if (demo) await new Promise<void>((resolve) => demo.close(() => resolve()));
  logger.info({ ms: Date.now() - started }, 'rendercache stopped');
}
