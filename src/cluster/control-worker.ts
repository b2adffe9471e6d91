import { DelayedError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.js';
import type { Site } from '../sites/site.js';
import type { SiteDirectory } from '../sites/site-directory.js';
import type { PageDiscovery } from '../jobs/discovery/discover-pages.js';
import { addJobPages, endRefreshJob, failJob, type JobEndOptions } from '../jobs/job-lifecycle.js';
import type { JobStore } from '../jobs/types.js';
import { missedLastTick } from '../schedule/catch-up.js';
import { runScheduledRefresh, type ScheduledRefreshDeps } from '../schedule/scheduled-refresh.js';
import type { PageJobQueue } from './page-job-queue.js';
import { CONTROL_JOB, CONTROL_QUEUE, type CatchUpJobData, type DiscoverJobData, type TickJobData } from './queues.js';

export interface ControlWorkerDeps {
  store: JobStore;
  sites: SiteDirectory;
  discovery: PageDiscovery;
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

type ControlJobData = DiscoverJobData | TickJobData | CatchUpJobData;

/**
 * The cluster's light work, on every instance (no Chromium needed): discovering a
 * refresh job's pages and queueing them, and starting scheduled refreshes. A job taken
 * over from a dead instance is run again; each step is idempotent.
 */
export class ControlWorker {
  private readonly worker: Worker<ControlJobData>;

  constructor(connection: Redis, private readonly deps: ControlWorkerDeps, options: ControlWorkerOptions) {
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
    await this.worker.close();
  }

  private async process(job: Job<ControlJobData>, token: string | undefined): Promise<void> {
    if (job.name === CONTROL_JOB.discover) return this.discover(job.data as DiscoverJobData);
    const { siteId } = job.data as TickJobData;
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
    if (startAt > Date.now() + 50 && token) {
      // Back to the delayed set until the site's offset: no worker slot waits meanwhile.
      await job.moveToDelayed(startAt, token);
      throw new DelayedError();
    }
    await runScheduledRefresh(this.deps.scheduled, siteId, 'schedule');
  }

  private async discover(data: DiscoverJobData): Promise<void> {
    const { store, sites, logger } = this.deps;
    const log = logger.child({ jobId: data.jobId, siteId: data.siteId });
    const job = await store.getJob(data.jobId);
    const site = sites.registry.byId(data.siteId);
    if (!job || !site || (job.progress !== 'pending' && job.progress !== 'processing')) return;
    try {
      const pages = await addJobPages(job, site, data.pages, store, this.deps.discovery);
      await store.updateJob(job.id, { progress: 'processing' }, ['pending']);
      if ((await store.getJob(job.id))?.progress !== 'processing') return; // aborted meanwhile
      log.info({ pages }, 'refresh started');
      if (pages === 0) {
        await endRefreshJob(job.id, store, sites, this.deps.endOptions, log);
        return;
      }
      await this.deps.pageQueue.enqueuePending(job);
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      log.error({ err: detail }, 'refresh failed');
      await failJob(job, { title: 'Refresh Failed', detail }, store, this.deps.endOptions);
    }
  }
}
