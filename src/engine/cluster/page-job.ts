import type { Logger } from '../../observability/logger.js';
import type { RenderAndStore } from '../render-and-store.js';
import type { BrowserSlots } from '../browser-slots.js';
import { PRIORITY, taskFailure, type RenderTaskResult } from '../render-queue.js';
import type { SiteDirectory } from '../../sites/site-directory.js';
import { pageError } from '../../jobs/job-errors.js';
import type { JobStore } from '../../jobs/job-store.js';
import type { JobEndOptions } from '../../jobs/job-states.js';
import { allPagesDone, isPageDone, movePageToFailed, movePageToFinished, movePageToProcessing } from '../../jobs/page-states.js';
import { finishRendering } from '../../jobs/refresh-flow.js';
import type { JobError, JobRecord } from '../../jobs/types.js';
import type { PageJobData } from './queues.js';

/** Where a job's on-failure origin restart is handed to (the control queue). */
export interface OriginRestartQueue {
  queueOriginRestart(job: Pick<JobRecord, 'id' | 'siteId'>): Promise<void>;
}

/** Thrown to have BullMQ retry a failed page after its backoff. */
export class RetryPageError extends Error {
  override name = 'RetryPageError';
}

/**
 * One page of a refresh job, on whichever instance took it: render, record the page,
 * and end the job when it was the last one (or have the origin restarted first, when the
 * site restarts it on failure). Safe to run twice (a stalled render taken
 * over by another instance): a page already complete or failed is left alone.
 */
export class PageJobProcessor {
  constructor(
    private readonly store: JobStore,
    private readonly sites: SiteDirectory,
    private readonly worker: RenderAndStore,
    private readonly options: JobEndOptions,
    private readonly logger: Logger,
    private readonly restarts: OriginRestartQueue,
    /** This instance's renders at once. */
    private readonly slots: BrowserSlots,
  ) {}

  /** `handedBack`: aborted when this instance gave the page back to the queue; nothing is recorded then. */
  async process(data: PageJobData, attemptsMade: number, handedBack?: AbortSignal): Promise<void> {
    const job = await this.store.getJob(data.jobId);
    if (!job || job.progress !== 'processing') return; // aborted or ended: nothing to do
    const page = await this.store.getPage(data.jobId, data.seq);
    if (!page || isPageDone(page.status)) return this.finishIfLast(data.jobId);
    if (page.status === 'pending') await movePageToProcessing(this.store, data.jobId, data.seq);
    const attempts = attemptsMade + 1;
    const result = await this.render(data, attemptsMade, handedBack);
    if (handedBack?.aborted) return;
    if (!result.ok && attempts < data.maxAttempts) throw new RetryPageError(result.failure.detail);
    await movePageToFinished(this.store, data.jobId, data.seq, result, attempts);
    await this.finishIfLast(data.jobId);
  }

  /** BullMQ gave the page up (an error out of our hands, or stalled too often). */
  async giveUp(data: PageJobData, attempts: number, reason: string): Promise<void> {
    const error: JobError = pageError('chromium-error', reason);
    const page = await this.store.getPage(data.jobId, data.seq);
    if (!page || isPageDone(page.status)) return;
    await movePageToFailed(this.store, data.jobId, data.seq, page.status, error, attempts);
    await this.finishIfLast(data.jobId);
  }

  /**
   * The page's first attempt asks whether its inputs changed, without a browser slot; only a
   * changed page (or a retry) waits for one.
   */
  private async render(data: PageJobData, attemptsMade: number, handedBack?: AbortSignal): Promise<RenderTaskResult> {
    try {
      const kept = attemptsMade === 0 ? await this.worker.keepIfUnchanged(data.task) : null;
      // Handed back while it waited for a slot: another instance renders it.
      const render = () =>
        handedBack?.aborted ? Promise.resolve(taskFailure('handed back before its render began')) : this.worker.run({ ...data.task, inputsChecked: true });
      return kept ?? (await this.slots.run(render, PRIORITY.refresh));
    } catch (err) {
      return taskFailure(err instanceof Error ? err.message : String(err));
    }
  }

  /** The page recorded last finishes the job (the flow's step): ends it, or has its origin restarted. */
  private async finishIfLast(jobId: string): Promise<void> {
    const job = await this.store.getJob(jobId);
    if (!job || job.progress !== 'processing' || !allPagesDone(job)) return;
    const deps = { store: this.store, sites: this.sites, options: this.options, logger: this.logger.child({ jobId, siteId: job.siteId }) };
    // Queued also when another caller won the restart: the control job's id dedupes, its
    // handler is idempotent, and it covers a winner that could not queue it.
    if ((await finishRendering(job, deps)) === 'restart') await this.restarts.queueOriginRestart(job);
  }
}
