import { randomUUID } from 'node:crypto';
import type { Logger } from '../observability/logger.js';
import type { Site } from '../sites/site.js';
import type { SiteDirectory } from '../sites/site-directory.js';
import { jobError } from './job-errors.js';
import type { JobStore } from './job-store.js';
import { moveToAborted, moveToFailed, releaseJob, type JobEndOptions } from './job-states.js';
import type { RefreshRequest, RefreshRunner } from './refresh-runner.js';
import { isUnfinished, type JobAction, type JobRecord, type PageQuery, type PageRecord } from './types.js';

export type { RefreshRequest } from './refresh-runner.js';

/** The job that was started, or the one already running for the site. */
export type StartedRefresh = { job: JobRecord; created: boolean };

export const newJobId = () => randomUUID().replace(/-/g, '').toUpperCase();

/** A job as it is created: pending, no pages yet, started now. */
export function newJobRecord(siteId: string, action: JobAction, request: Pick<RefreshRequest, 'trigger' | 'requestedBy'>): JobRecord {
  return {
    id: newJobId(),
    siteId,
    action,
    trigger: request.trigger,
    progress: 'pending',
    requestedBy: request.requestedBy,
    startTime: new Date().toISOString(),
    endTime: null,
    pageCount: 0,
    completedCount: 0,
    unchangedCount: 0,
    failedCount: 0,
    error: null,
    restartSteps: [],
  };
}

/**
 * Refresh and restart jobs as the API sees them: one per site at a time, created here and handed
 * to a runner (this process, or the cluster). Progress and page records live in the
 * job store, so any instance answers for any job.
 */
export class RefreshService {
  constructor(
    private readonly store: JobStore,
    private readonly sites: SiteDirectory,
    private readonly runner: RefreshRunner,
    private readonly options: JobEndOptions,
    private readonly logger: Logger,
  ) {}

  /**
   * Starts a refresh of the site, unless a job holds the site: then that one is returned
   * (a refresh, or a restart job; the caller tells them apart by `action`).
   */
  async start(site: Site, request: RefreshRequest): Promise<StartedRefresh> {
    const started = await this.createHoldingSlot(site, 'refresh', request);
    if (!started.created) return started;
    await this.launchOrAbandon(started.job, async () => {
      await this.sites.update(site.id, { lastJobId: started.job.id });
      await this.runner.launch(started.job, site, request);
    });
    return started;
  }

  /**
   * Starts a restart job (the site's origin restart alone, no pages), unless a job holds
   * the site: then that one is returned. It takes the site's slot like a refresh, so a
   * refresh never renders an origin that is being restarted.
   */
  async restart(site: Site, request: Omit<RefreshRequest, 'pages'>): Promise<StartedRefresh> {
    const started = await this.createHoldingSlot(site, 'restart', request);
    if (started.created) await this.launchOrAbandon(started.job, () => this.runner.launch(started.job, site, request));
    return started;
  }

  /** A new pending job holding the site's one slot, or the unfinished job that holds it. */
  private async createHoldingSlot(site: Site, action: JobAction, request: Omit<RefreshRequest, 'pages'>): Promise<StartedRefresh> {
    const job = newJobRecord(site.id, action, request);
    const holder = await this.store.claimSiteSlot(site.id, job.id);
    if (holder) {
      const running = await this.store.getJob(holder);
      if (running && isUnfinished(running.progress)) return { job: running, created: false };
      // A slot left by a job that ended without releasing it: take it over.
      await this.store.releaseSiteSlot(site.id, holder);
      return this.createHoldingSlot(site, action, request);
    }
    await this.launchOrAbandon(job, () => this.store.createJob(job));
    return { job, created: true };
  }

  /**
   * Runs a step of starting a job that holds the site's slot. When it fails (the store or
   * the queue went away: the caller answers 503), the job is ended and the slot released,
   * so that no job that nothing runs holds the site. A write that timed out may still land
   * later; these commands go after it on the same connection, so they land after it too.
   */
  private async launchOrAbandon(job: JobRecord, step: () => Promise<unknown>): Promise<void> {
    try {
      await step();
    } catch (err) {
      const error = jobError('couldNotStart', err);
      await moveToFailed(job, error, this.store, this.options).catch(() => releaseJob(job, this.store, this.options));
      this.logger.warn({ jobId: job.id, siteId: job.siteId, err: error.detail }, 'a job could not be started; ended it and released the site');
      throw err;
    }
  }

  getJob(jobId: string): Promise<JobRecord | undefined> {
    return this.store.getJob(jobId);
  }

  /** A site's jobs, newest first. */
  jobsOfSite(siteId: string, limit: number): Promise<JobRecord[]> {
    return this.store.jobsOfSite(siteId, limit);
  }

  pages(jobId: string, query: PageQuery): Promise<{ items: PageRecord[]; total: number }> {
    return this.store.listPages(jobId, query);
  }

  /** Cancels a job: it ends aborted; pages in flight finish, cached pages stay. */
  async cancel(job: JobRecord): Promise<JobRecord> {
    await moveToAborted(job.id, this.store);
    await this.runner.abort(job.id);
    await releaseJob(job, this.store, this.options);
    return (await this.store.getJob(job.id)) ?? job;
  }

  /** Resolves when the job has ended, wherever it runs. */
  async whenDone(jobId: string, pollMs = 100): Promise<JobRecord | undefined> {
    for (;;) {
      const job = await this.store.getJob(jobId);
      if (!job || !isUnfinished(job.progress)) return job;
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  /** Stops this process's share of running jobs without marking them. */
  stop(): Promise<void> {
    return this.runner.stop();
  }
}
