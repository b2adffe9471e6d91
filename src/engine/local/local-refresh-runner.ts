import type { Logger } from '../../observability/logger.js';
import type { Site } from '../../sites/site.js';
import type { SiteDirectory } from '../../sites/site-directory.js';
import { unexpectedJobError } from '../../jobs/job-errors.js';
import type { JobStore } from '../../jobs/job-store.js';
import { moveToFailed, releaseJob, type JobEndOptions } from '../../jobs/job-states.js';
import { runRestartJob } from '../../jobs/origin-restart.js';
import type { RefreshRequest, RefreshRunner } from '../../jobs/refresh-runner.js';
import { beginRefresh, finishRendering, restartOnFailure, type NextStep, type RefreshStepDeps, type PageSources } from '../../jobs/refresh-flow.js';
import type { JobRecord } from '../../jobs/types.js';
import type { RenderQueue } from '../render-queue.js';
import { renderJobPages, type KeepIfUnchanged, type RefreshRunOptions } from './render-job-pages.js';

/** Runs refresh and restart jobs inside this process: one async run per job, pages through p-queue. */
export class LocalRefreshRunner implements RefreshRunner {
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void> }>();

  constructor(
    private readonly store: JobStore,
    private readonly sites: SiteDirectory,
    private readonly pages: PageSources,
    private readonly queue: RenderQueue,
    private readonly keep: KeepIfUnchanged,
    private readonly options: RefreshRunOptions & JobEndOptions,
    private readonly logger: Logger,
  ) {}

  launch(job: JobRecord, site: Site, request: RefreshRequest): Promise<void> {
    const controller = new AbortController();
    const work = job.action === 'restart' ? this.restart(job, site, controller.signal) : this.run(job, site, request, controller.signal);
    const done = work.finally(() => this.running.delete(job.id));
    this.running.set(job.id, { controller, done });
    return Promise.resolve();
  }

  async abort(jobId: string): Promise<void> {
    const local = this.running.get(jobId);
    if (!local) return;
    local.controller.abort();
    await local.done;
  }

  isRunning(jobId: string): boolean {
    return this.running.has(jobId);
  }

  async stop(): Promise<void> {
    for (const { controller } of this.running.values()) controller.abort();
    await Promise.all([...this.running.values()].map((r) => r.done.catch(() => {})));
  }

  /** The refresh flow's steps one after the other (jobs/refresh-flow), the pages rendered here. */
  private run(job: JobRecord, site: Site, request: RefreshRequest, signal: AbortSignal): Promise<void> {
    const log = this.logger.child({ jobId: job.id, siteId: site.id, trigger: job.trigger });
    const deps: RefreshStepDeps = { store: this.store, sites: this.sites, options: this.options, logger: log, signal };
    return this.settle(job, signal, log, async () => {
      let next: NextStep = await beginRefresh(job, site, request.pages, { ...deps, ...this.pages });
      while (next === 'render') {
        await renderJobPages(job, this.store, this.queue, this.keep, this.options, signal, log);
        if (signal.aborted) return;
        const rendered = (await this.store.getJob(job.id)) ?? job;
        next = (await finishRendering(rendered, deps)) === 'restart' ? await restartOnFailure(rendered, site, deps) : 'done';
      }
    });
  }

  /** A restart job: the origin restart alone, no pages. */
  private restart(job: JobRecord, site: Site, signal: AbortSignal): Promise<void> {
    const log = this.logger.child({ jobId: job.id, siteId: site.id, action: job.action });
    return this.settle(job, signal, log, () => runRestartJob(job, site, { store: this.store, logger: log, signal }, this.options));
  }

  /** An unexpected error fails the job (jobs/job-errors unexpectedJobError); an aborted or stopped job still frees its site. */
  private async settle(job: JobRecord, signal: AbortSignal, log: Logger, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (err) {
      if (signal.aborted) return;
      const detail = err instanceof Error ? err.message : String(err);
      log.error({ err: detail }, `${job.action} job failed`);
      await moveToFailed(job, unexpectedJobError(job.action, err), this.store, this.options).catch(() => {});
    } finally {
      if (signal.aborted) await releaseJob(job, this.store, this.options);
    }
  }
}
