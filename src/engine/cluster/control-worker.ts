import { DelayedError, Worker, type Job } from 'bullmq';
import type { RedisConnection } from '../../redis/redis-connection.js';
import type { Logger } from '../../observability/logger.js';
import type { Site } from '../../sites/site.js';
import type { SiteDirectory } from '../../sites/site-directory.js';
import { unexpectedJobError } from '../../jobs/job-errors.js';
import type { JobStore } from '../../jobs/job-store.js';
import { moveToFailed, type JobEndOptions } from '../../jobs/job-states.js';
import { runRestartJob } from '../../jobs/origin-restart.js';
import { beginRefresh, restartOnFailure, type RefreshStepDeps, type PageSources } from '../../jobs/refresh-flow.js';
import { isUnfinished, type JobRecord } from '../../jobs/types.js';
import { missedLastTick } from '../../schedule/catch-up.js';
import { runScheduledRefresh, type ScheduledRefreshDeps } from '../../schedule/scheduled-refresh.js';
import type { PageJobQueue } from './page-job-queue.js';
import {
  CONTROL_JOB,
  CONTROL_QUEUE,
  RETRY_ROUND_SUFFIX,
  type CatchUpJobData,
  type DiscoverJobData,
  type RestartOriginJobData,
  type TickJobData,
} from './queues.js';

export interface ControlWorkerDeps {
  store: JobStore;
  sites: SiteDirectory;
  pages: PageSources;
  pageQueue: PageJobQueue;
  scheduled: ScheduledRefreshDeps;
  endOptions: JobEndOptions;
  /** Delay after a tick before the site's refresh starts (its jitter offset). */
  jitterMs(site: Site): number;
  logger: Logger;
}

export interface ControlWorkerOptions {
  prefix: string;
  lockDurationMs: number;
  stalledIntervalMs: number;
}

type ControlJobData = DiscoverJobData | TickJobData | CatchUpJobData | RestartOriginJobData;

/** Thrown by a job this instance gives back while stopping: BullMQ hands it to another. */
class StoppingError extends Error {
  override name = 'StoppingError';
  constructor() {
    super('this instance is stopping; another instance takes the job over');
  }
}

/**
 * The cluster's light work, on every instance (no Chromium needed): discovering a
 * refresh job's pages and queueing them, origin restarts, and starting scheduled
 * refreshes. A job taken over from a dead or stopping instance is run again; each step
 * is idempotent (a restart cut short runs again from the start).
 */
export class ControlWorker {
  private readonly worker: Worker<ControlJobData>;
  /** Aborts origin restarts running here when the instance stops. */
  private readonly stopping = new AbortController();

  constructor(
    connection: RedisConnection,
    private readonly deps: ControlWorkerDeps,
    options: ControlWorkerOptions,
  ) {
    this.worker = new Worker<ControlJobData>(CONTROL_QUEUE, (job, token) => this.process(job, token), {
      connection,
      prefix: options.prefix,
      concurrency: 8,
      lockDuration: options.lockDurationMs,
      stalledInterval: options.stalledIntervalMs,
      maxStalledCount: 2,
      autorun: false,
    });
    this.worker.on('error', (err) => deps.logger.warn({ err: err.message }, 'control worker: redis error'));
  }

  start(): void {
    void this.worker.run().catch(() => {});
  }

  async close(): Promise<void> {
    this.stopping.abort();
    await this.worker.close();
  }

  private async process(job: Job<ControlJobData>, token: string | undefined): Promise<void> {
    if (job.name === CONTROL_JOB.discover) return this.discover(job.data as DiscoverJobData);
    if (job.name === CONTROL_JOB.restartOrigin) return this.restartOrigin(job.data as RestartOriginJobData);
    const { siteId } = job.data;
    const site = this.deps.sites.registry.byId(siteId);
    if (!site) return;
    // Other instances may have changed the site (deactivated it…): decide on fresh state.
    await this.deps.sites.reload(siteId);
    if (job.name === CONTROL_JOB.catchUp) {
      const { schedule, timezone } = site.config;
      await runScheduledRefresh(this.deps.scheduled, siteId, 'startup', (view) => missedLastTick(view.state.refreshedAt, schedule, timezone));
      return;
    }
    // The tick's own time (a scheduler's job is created early, delayed until its tick).
    const tickAt = job.timestamp + (job.opts.delay ?? 0);
    const startAt = tickAt + this.deps.jitterMs(site);
    const waitMs = startAt - Date.now();
    if (waitMs > 1000 && token) {
      // Back to the delayed set until the site's offset: no worker slot waits meanwhile.
      await job.moveToDelayed(startAt, token);
      throw new DelayedError();
    }
    // The last moment (or a delayed job promoted a little early) is waited for here.
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs + 1));
    await runScheduledRefresh(this.deps.scheduled, siteId, 'schedule');
  }

  /** The refresh flow's first step (jobs/refresh-flow), then its pages onto the render queue. */
  private async discover(data: DiscoverJobData): Promise<void> {
    const { store, sites, pages } = this.deps;
    const job = await store.getJob(data.jobId);
    const site = sites.registry.byId(data.siteId);
    if (!job || !site || !isUnfinished(job.progress)) return;
    const deps = this.stepDeps(job);
    try {
      const next = await beginRefresh(job, site, data.pages, { ...deps, ...pages });
      if (next === 'render') await this.deps.pageQueue.enqueuePending(job);
      else if (this.stopping.signal.aborted) throw new StoppingError();
    } catch (err) {
      if (err instanceof StoppingError) throw err;
      const detail = err instanceof Error ? err.message : String(err);
      deps.logger.error({ err: detail }, 'refresh failed');
      await moveToFailed(job, unexpectedJobError(job.action, err), store, this.deps.endOptions);
    }
  }

  /** A restart job, or a refresh job's on-failure restart (the flow's step) and its failed pages once more. */
  private async restartOrigin(data: RestartOriginJobData): Promise<void> {
    const { store, sites, endOptions } = this.deps;
    const job = await store.getJob(data.jobId);
    const site = sites.registry.byId(data.siteId);
    if (!job || !site || !isUnfinished(job.progress)) return;
    const deps = this.stepDeps(job);
    if (job.action === 'restart') await runRestartJob(job, site, deps, endOptions);
    // Page ids of this round take a suffix: BullMQ dedupes ids, the first round's are taken.
    else if ((await restartOnFailure(job, site, deps)) === 'render') await this.deps.pageQueue.enqueuePending(job, RETRY_ROUND_SUFFIX);
    if (this.stopping.signal.aborted) throw new StoppingError();
  }

  private stepDeps(job: Pick<JobRecord, 'id' | 'siteId'>): RefreshStepDeps {
    const { store, sites, endOptions, logger } = this.deps;
    return { store, sites, options: endOptions, logger: logger.child({ jobId: job.id, siteId: job.siteId }), signal: this.stopping.signal };
  }
}
