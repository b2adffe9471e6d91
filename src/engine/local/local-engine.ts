import { RateLimiterMemory, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { LocalRefreshRunner } from './local-refresh-runner.js';
import { moveInterruptedToFailed } from '../../jobs/job-states.js';
import type { RefreshService } from '../../jobs/refresh-service.js';
import { LocalRenderQueue } from './local-render-queue.js';
import { LocalScheduler } from './local-scheduler.js';
import type { Scheduler } from '../scheduler.js';
import type { Engine, EngineParts } from '../engine.js';

/** Everything in this process: p-queue for renders, node-cron for schedules. */
export class LocalEngine implements Engine {
  readonly kind = 'local';
  readonly queue: LocalRenderQueue;
  readonly runner: LocalRefreshRunner;
  private scheduler: Scheduler | null = null;

  constructor(private readonly parts: EngineParts) {
    const { config, renderer } = parts;
    if (!renderer) throw new Error('a single-process service renders its own pages (role "all")');
    this.queue = new LocalRenderQueue(renderer, { concurrency: config.render.concurrency, maxQueued: config.render.maxQueued });
    this.runner = new LocalRefreshRunner(parts.store, parts.sites, parts.discovery, this.queue, config.refresh, parts.logger);
  }

  async start(refresh: RefreshService): Promise<void> {
    const { config, store, sites, logger } = this.parts;
    await moveInterruptedToFailed(store, config.refresh, (jobId) => this.runner.isRunning(jobId), logger);
    if (!config.schedule.enabled) return;
    this.scheduler = new LocalScheduler({ sites, refresh, logger }, config.schedule);
    await this.scheduler.start();
  }

  createRateLimiter(points: number, windowSeconds: number): RateLimiterAbstract {
    return new RateLimiterMemory({ points, duration: windowSeconds });
  }

  ready(): Promise<boolean> {
    return Promise.resolve(true);
  }

  async stopWork(): Promise<void> {
    await this.scheduler?.stop();
    await this.runner.stop();
  }

  async close(): Promise<void> {
    await this.stopWork();
    await this.queue.close();
  }
}
