import { RateLimiterMemory, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { moveInterruptedToFailed } from '../../jobs/job-states.js';
import { RefreshService } from '../../jobs/refresh-service.js';
import type { Engine, EngineParts } from '../engine.js';
import type { Scheduler } from '../scheduler.js';
import { LocalRefreshRunner } from './local-refresh-runner.js';
import { LocalRenderQueue } from './local-render-queue.js';
import { LocalScheduler } from './local-scheduler.js';

/** Everything in this process: p-queue for renders, node-cron for schedules. */
export class LocalEngine implements Engine {
  readonly kind = 'local';
  readonly queue: LocalRenderQueue;
  readonly refresh: RefreshService;
  private readonly runner: LocalRefreshRunner;
  private readonly scheduler: Scheduler | null;

  constructor(private readonly parts: EngineParts) {
    const { config, store, sites, pages, renderer, capacity, logger } = parts;
    if (!renderer) throw new Error('a single-process service renders its own pages (role "all")');
    this.queue = new LocalRenderQueue(renderer, capacity, { maxQueued: config.render.maxQueued });
    this.runner = new LocalRefreshRunner(store, sites, pages, this.queue, (task) => renderer.keepIfUnchanged(task), config.refresh, logger);
    this.refresh = new RefreshService(store, sites, this.runner, config.refresh, logger);
    this.scheduler = config.schedule.enabled ? new LocalScheduler({ sites, refresh: this.refresh, logger }, config.schedule) : null;
  }

  async start(): Promise<void> {
    const { config, store, logger } = this.parts;
    // Jobs of a process that stopped: nothing runs them any more (see moveInterruptedToFailed).
    await moveInterruptedToFailed(store, config.refresh, (jobId) => this.runner.isRunning(jobId), logger);
    await this.scheduler?.start();
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
