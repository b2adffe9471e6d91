import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { RendercacheConfig } from '../config/schema.js';
import type { PageCache } from '../cache/page-cache.js';
import type { PageSources } from '../jobs/refresh-flow.js';
import type { RefreshService } from '../jobs/refresh-service.js';
import type { JobStore } from '../jobs/job-store.js';
import type { Logger } from '../observability/logger.js';
import type { RenderAndStore } from './render-and-store.js';
import type { RenderCapacity } from './render-capacity.js';
import type { RenderQueue } from './render-queue.js';
import type { SiteDirectory } from '../sites/site-directory.js';

/** What the engines work with, built by the composition root. */
export interface EngineParts {
  config: RendercacheConfig;
  store: JobStore;
  sites: SiteDirectory;
  cache: PageCache;
  /** Where a refresh's pages come from, and what plans them (due, in order). */
  pages: PageSources;
  /** This instance's Chromium; null on an instance that only serves (role "api"). */
  renderer: RenderAndStore | null;
  /** This instance's renders at once, fixed or learned: every gate in front of its Chromium follows it. */
  capacity: RenderCapacity;
  logger: Logger;
}

/**
 * Where renders and refresh jobs run: one process (p-queue, node-cron, embedded store)
 * or a cluster (BullMQ over Redis). The API and its behaviour are the same over both.
 * An engine builds its parts in the order they depend on each other (render queue,
 * refresh runner, the RefreshService over that runner, then the schedulers that call the
 * service), so nothing built later is handed back to a part built before it.
 */
export interface Engine {
  readonly kind: 'local' | 'cluster';
  /** Where crawler lookups' renders go. */
  readonly queue: RenderQueue;
  /** Refresh and restart jobs, as the API and the schedulers start them, run by this engine. */
  readonly refresh: RefreshService;
  /** Takes work: start-up recovery, workers and schedules; called once the service listens. */
  start(): Promise<void>;
  /** The management API's request budget: per process, or shared by the cluster. */
  createRateLimiter(points: number, windowSeconds: number): RateLimiterAbstract;
  /** The engine's own backend answers (always true in one process). */
  ready(): Promise<boolean>;
  /**
   * Stops taking work (schedules, refresh runs, queue workers); work under way finishes
   * or, in a cluster, refresh pages go back to the queue for another instance. Lookups
   * already submitted still get their answer.
   */
  stopWork(): Promise<void>;
  /** Stops work, then releases the queue and its connections. */
  close(): Promise<void>;
}
