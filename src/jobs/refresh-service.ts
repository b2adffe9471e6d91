import { randomUUID } from 'node:crypto';
import type { Logger } from '../observability/logger.js';
import type { RenderQueue } from '../queue/render-task.js';
import type { Site } from '../sites/site.js';
import type { SiteDirectory } from '../sites/site-directory.js';
import type { PageDiscovery } from './discovery/discover-pages.js';
import { renderJobPages, type RefreshRunOptions } from './refresh-run.js';
import type { JobError, JobRecord, JobStore, JobTrigger, PageQuery, PageRecord } from './types.js';

export interface RefreshServiceOptions extends RefreshRunOptions {
  maxFailedPercent: number;
  keepJobs: number;
}

export interface RefreshRequest {
  trigger: JobTrigger;
  requestedBy: string;
  /** Only these pages (normalised URLs of the site); all discovered pages when absent. */
  pages?: string[];
}

/** The job that was started, or the one already running for the site. */
export type StartedRefresh = { job: JobRecord; created: boolean };

export const newJobId = () => randomUUID().replace(/-/g, '').toUpperCase();

/**
 * Refresh jobs: one per site at a time, pages discovered then rendered through the
 * shared queue, progress and page records in the job store. A successful render
 * replaces the cached page; a failed one leaves the old page served.
 */
export class RefreshService {
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void> }>();

  constructor(
    private readonly store: JobStore,
    private readonly sites: SiteDirectory,
    private readonly discovery: PageDiscovery,
    private readonly queue: RenderQueue,
    private readonly options: RefreshServiceOptions,
    private readonly logger: Logger,
  ) {}

  /** Starts a refresh of the site, unless one is running: then that one is returned. */
  async start(site: Site, request: RefreshRequest): Promise<StartedRefresh> {
    const job: JobRecord = {
      id: newJobId(),
      siteId: site.id,
      action: 'refresh',
      trigger: request.trigger,
      progress: 'pending',
      requestedBy: request.requestedBy,
      startTime: new Date().toISOString(),
      endTime: null,
      pageCount: 0,
      completedCount: 0,
      failedCount: 0,
      error: null,
      restartSteps: [],
    };
    const holder = await this.store.claimSiteSlot(site.id, job.id);
    if (holder) {
      const running = await this.store.getJob(holder);
      if (running && (running.progress === 'pending' || running.progress === 'processing')) return { job: running, created: false };
      // A slot left by a job that ended without releasing it: take it over.
      await this.store.releaseSiteSlot(site.id, holder);
      return this.start(site, request);
    }
    await this.store.createJob(job);
    await this.sites.update(site.id, { lastJobId: job.id });
    const controller = new AbortController();
    const done = this.run(job, site, request, controller.signal).finally(() => this.running.delete(job.id));
    this.running.set(job.id, { controller, done });
    return { job, created: true };
  }

  getJob(jobId: string): Promise<JobRecord | undefined> {
    return this.store.getJob(jobId);
  }

  pages(jobId: string, query: PageQuery): Promise<{ items: PageRecord[]; total: number }> {
    return this.store.listPages(jobId, query);
  }

  /** Cancels a job: it ends aborted; pages in flight finish, cached pages stay. */
  async cancel(job: JobRecord): Promise<JobRecord> {
    const local = this.running.get(job.id);
    await this.store.updateJob(job.id, { progress: 'aborted', endTime: new Date().toISOString() });
    if (local) {
      local.controller.abort();
      await local.done;
    } else {
      await this.store.releaseSiteSlot(job.siteId, job.id);
    }
    return (await this.store.getJob(job.id)) ?? job;
  }

  /** Resolves when the job (run by this process) has ended. */
  async whenDone(jobId: string): Promise<void> {
    await this.running.get(jobId)?.done;
  }

  /**
   * Jobs left pending or processing by a process that stopped are ended as failed, with
   * an error that says so; their rendered pages stay cached. (Documented in README.)
   */
  async failInterruptedJobs(): Promise<number> {
    const orphans = (await this.store.unfinishedJobs()).filter((job) => !this.running.has(job.id));
    for (const job of orphans) {
      const left = job.pageCount - job.completedCount - job.failedCount;
      await this.store.updateJob(job.id, {
        progress: 'failed',
        endTime: new Date().toISOString(),
        error: { title: 'Service Restarted', detail: `The service stopped while this job was running; ${left} of ${job.pageCount} pages were not refreshed. Pages already rendered stay cached. Start a new refresh.` },
      });
      await this.store.releaseSiteSlot(job.siteId, job.id);
      this.logger.warn({ jobId: job.id, siteId: job.siteId, left }, 'ended a job interrupted by a restart');
    }
    return orphans.length;
  }

  /** Stops running jobs without marking them (a restart ends them as failed). */
  async stop(): Promise<void> {
    for (const { controller } of this.running.values()) controller.abort();
    await Promise.all([...this.running.values()].map((r) => r.done.catch(() => {})));
  }

  private async run(job: JobRecord, site: Site, request: RefreshRequest, signal: AbortSignal): Promise<void> {
    const log = this.logger.child({ jobId: job.id, siteId: site.id, trigger: job.trigger });
    try {
      const urls = request.pages ?? (await this.discovery.discover(site));
      await this.store.addPages(job.id, urls);
      if (signal.aborted) return;
      await this.store.updateJob(job.id, { progress: 'processing' });
      log.info({ pages: urls.length }, 'refresh started');
      await renderJobPages(job, this.store, this.queue, this.options, signal, log);
      if (signal.aborted) return;
      await this.finish(job.id, site, log);
    } catch (err) {
      if (signal.aborted) return;
      const error: JobError = { title: 'Refresh Failed', detail: err instanceof Error ? err.message : String(err) };
      log.error({ err: error.detail }, 'refresh failed');
      await this.store.updateJob(job.id, { progress: 'failed', endTime: new Date().toISOString(), error }).catch(() => {});
    } finally {
      await this.store.releaseSiteSlot(site.id, job.id).catch(() => {});
      await this.store.pruneJobs(site.id, this.options.keepJobs).catch(() => {});
    }
  }

  /** Applies the failure rule: more than maxFailedPercent of the pages failed → failed. */
  private async finish(jobId: string, site: Site, log: Logger): Promise<void> {
    const job = await this.store.getJob(jobId);
    if (!job) return;
    const failedPercent = job.pageCount === 0 ? 0 : (100 * job.failedCount) / job.pageCount;
    const failed = job.failedCount > 0 && failedPercent > this.options.maxFailedPercent;
    const endTime = new Date().toISOString();
    const error: JobError | null = job.failedCount > 0
      ? { title: 'Pages Failed', detail: `${job.failedCount} of ${job.pageCount} pages failed to render; their previously cached versions are still served.` }
      : null;
    await this.store.updateJob(jobId, { progress: failed ? 'failed' : 'succeeded', endTime, error });
    if (!failed) await this.sites.update(site.id, { refreshedAt: endTime, lastTrigger: job.trigger });
    log.info({ pages: job.pageCount, complete: job.completedCount, failed: job.failedCount, progress: failed ? 'failed' : 'succeeded' }, 'refresh ended');
  }
}
