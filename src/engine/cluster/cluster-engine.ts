import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents } from 'bullmq';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { ClusterBus } from './cluster-bus.js';
import { ClusterRefreshRunner } from './cluster-refresh-runner.js';
import { ClusterRenderQueue } from './cluster-render-queue.js';
import { ClusterScheduler } from './cluster-scheduler.js';
import { ControlWorker } from './control-worker.js';
import { PageJobProcessor } from './page-job.js';
import { PageJobQueue } from './page-job-queue.js';
import { bullPrefix, CONTROL_QUEUE, RENDER_QUEUE, type LookupJobData } from './queues.js';
import { RedisWatch } from './redis-watch.js';
import { openBlockingConnection, type RedisConnection, type RedisPolicy } from '../../redis/redis-connection.js';
import { BrowserSlots } from '../browser-slots.js';
import { RenderWorker } from './render-worker.js';
import { withTimeout } from '../../cache/with-timeout.js';
import { RefreshService } from '../../jobs/refresh-service.js';
import { LocalRenderQueue } from '../local/local-render-queue.js';
import { INSTANCE_ID } from '../../observability/instance.js';
import { siteJitterMs } from '../../schedule/jitter.js';
import type { Engine, EngineParts } from '../engine.js';
import type { RenderTaskResult } from '../render-queue.js';

/**
 * Several instances over one Redis: renders on a BullMQ queue that every instance's
 * Chromium takes from, refresh jobs that no instance owns, schedules held by BullMQ
 * job schedulers, and pub/sub that keeps each instance's hot tier and site state true.
 */
export class ClusterEngine implements Engine {
  readonly kind = 'cluster';
  readonly queue: ClusterRenderQueue;
  readonly refresh: RefreshService;
  private readonly runner: ClusterRefreshRunner;
  private readonly renderQueue: Queue;
  private readonly controlQueue: Queue;
  private readonly events: QueueEvents;
  private readonly bus: ClusterBus;
  private readonly closers: Array<() => Promise<unknown>> = [];

  private constructor(
    private readonly parts: EngineParts,
    private readonly producer: RedisConnection,
    private readonly workerConnection: RedisConnection,
    eventsConnection: RedisConnection,
    subscriber: RedisConnection,
  ) {
    const { config, renderer, capacity, logger } = parts;
    const prefix = bullPrefix(config.cache.namespace);
    this.renderQueue = new Queue(RENDER_QUEUE, { connection: producer, prefix });
    this.controlQueue = new Queue(CONTROL_QUEUE, { connection: producer, prefix });
    this.events = new QueueEvents(RENDER_QUEUE, { connection: eventsConnection, prefix });
    // Outages show in readiness and in the failing calls; the emitters must not throw.
    this.renderQueue.on('error', () => {});
    this.controlQueue.on('error', () => {});
    this.events.on('error', () => {});
    // With its own Chromium, an instance still renders lookups while Redis is away.
    const fallback = renderer ? new LocalRenderQueue(renderer, capacity, { maxQueued: config.render.maxQueued }) : null;
    // A ping is given at least 1 s whatever cache.commandTimeoutMs: a floor, so that a store
    // timeout tuned low for lookups does not take Redis for gone.
    const watch = new RedisWatch(producer, { pingEveryMs: config.cluster.redisPingEveryMs, pingTimeoutMs: Math.max(1000, config.cache.commandTimeoutMs) });
    // The render queue carries lookups and refresh pages; ClusterRenderQueue adds and awaits lookups only.
    const lookups = this.renderQueue as Queue<LookupJobData, RenderTaskResult>;
    this.queue = new ClusterRenderQueue(
      lookups,
      this.events,
      fallback,
      watch,
      {
        maxWaiting: config.render.maxQueued,
        waitTimeoutMs: config.render.deadlineMs * config.cluster.lookupWaitDeadlines + config.cluster.lookupWaitExtraMs,
        retention: config.cluster.retention.lookups,
      },
      logger,
    );
    this.runner = new ClusterRefreshRunner(this.controlQueue, config.cluster.retention);
    this.refresh = new RefreshService(parts.store, parts.sites, this.runner, config.refresh, logger);
    // Unique per engine, not per process: two services in one process are two instances.
    this.bus = new ClusterBus(producer, subscriber, `${config.cache.namespace}:events`, `${INSTANCE_ID}:${randomUUID()}`, logger);
  }

  /**
   * Over the instance's request connection (shared with the job store, so that what
   * readiness sees of Redis is what the API gets; its opener closes it), plus blocking
   * connections of its own under the Redis policy for workers, queue events and pub/sub.
   */
  static open(parts: EngineParts, redis: RedisPolicy, requests: RedisConnection): ClusterEngine {
    return new ClusterEngine(parts, requests, openBlockingConnection(redis), openBlockingConnection(redis), openBlockingConnection(redis));
  }

  async start(): Promise<void> {
    await this.startBus();
    this.startWorkers();
    const { config, sites, logger } = this.parts;
    await new ClusterScheduler(this.controlQueue, sites.registry, { ...config.schedule, retention: config.cluster.retention }, logger).start();
  }

  /** Hot tier and site state kept true across instances: what one writes, the others drop or reload. */
  private async startBus(): Promise<void> {
    const { sites, cache, logger } = this.parts;
    this.bus.onMessage((message) => {
      if (message.kind === 'page') cache.forgetLocal(message.key);
      else if (message.kind === 'purge') cache.forgetMatching(message.match);
      else void sites.reload(message.siteId).catch((err: unknown) => logger.warn({ err: String(err) }, 'could not reload a site'));
    });
    cache.onWrite((key) => this.bus.publish({ kind: 'page', key }));
    cache.onPurge((match) => this.bus.publish({ kind: 'purge', match }));
    sites.onChange((siteId) => this.bus.publish({ kind: 'site', siteId }));
    await this.bus.start();
  }

  /** This instance's render worker (with its own Chromium only) and control worker. */
  private startWorkers(): void {
    const { config, store, sites, pages: sources, renderer, capacity, logger } = this.parts;
    const workerOptions = {
      prefix: bullPrefix(config.cache.namespace),
      lockDurationMs: config.cluster.lockDurationMs,
      stalledIntervalMs: config.cluster.stalledIntervalMs,
    };
    const pageQueue = new PageJobQueue(this.renderQueue, store, { ...config.refresh, retention: config.cluster.retention.pages });
    if (renderer) {
      // The worker takes more jobs than it renders: refresh pages are revalidated beside the renders.
      const slots = new BrowserSlots(capacity);
      const pages = new PageJobProcessor(store, sites, renderer, config.refresh, logger, this.runner, slots);
      const jobsAtOnce = (renders: number) => renders + config.refresh.revalidateConcurrency;
      const worker = new RenderWorker(
        this.workerConnection,
        renderer,
        pages,
        slots,
        { ...workerOptions, concurrency: jobsAtOnce(capacity.concurrency) },
        logger,
      );
      capacity.onChange((renders) => worker.setConcurrency(jobsAtOnce(renders)));
      worker.start();
      this.closers.push(() => worker.close());
    }
    const control = new ControlWorker(
      this.workerConnection,
      {
        store,
        sites,
        pages: sources,
        pageQueue,
        logger,
        scheduled: { sites, refresh: this.refresh, logger },
        endOptions: config.refresh,
        jitterMs: (site) => siteJitterMs(site.id, site.config.schedule, site.config.timezone, config.schedule.jitterSeconds),
      },
      workerOptions,
    );
    control.start();
    this.closers.push(() => control.close());
  }

  /** One budget per token for the whole cluster; per instance while Redis is away. */
  createRateLimiter(points: number, windowSeconds: number): RateLimiterAbstract {
    return new RateLimiterRedis({
      storeClient: this.producer,
      keyPrefix: `${this.parts.config.cache.namespace}:ratelimit`,
      points,
      duration: windowSeconds,
      insuranceLimiter: new RateLimiterMemory({ points, duration: windowSeconds }),
    });
  }

  async ready(): Promise<boolean> {
    try {
      await withTimeout(this.producer.ping(), 1000, 'redis ping');
      return true;
    } catch {
      return false;
    }
  }

  async stopWork(): Promise<void> {
    // Render and control workers at once: the render worker hands its refresh pages back.
    await Promise.all(this.closers.splice(0).map((close) => close().catch(() => {})));
  }

  async close(): Promise<void> {
    await this.stopWork();
    await this.queue.close();
    await Promise.all([this.renderQueue.close(), this.controlQueue.close(), this.events.close()].map((p) => p.catch(() => {})));
    await this.workerConnection.quit().catch(() => this.workerConnection.disconnect());
    await this.bus.close();
  }
}
