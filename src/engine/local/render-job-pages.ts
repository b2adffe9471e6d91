import PQueue from 'p-queue';
import type { Logger } from '../../observability/logger.js';
import { PRIORITY, QueueFullError, refreshPageTask, type RenderQueue, type RenderTask } from '../render-queue.js';
import { pageError } from '../../jobs/job-errors.js';
import { PAGE_READ_BATCH, type JobStore } from '../../jobs/job-store.js';
import { movePageToFailed, movePageToFinished, movePageToProcessing } from '../../jobs/page-states.js';
import type { JobError, JobRecord, PageRecord } from '../../jobs/types.js';

export interface RefreshRunOptions {
  siteConcurrency: number;
  maxAttempts: number;
  retryBackoffMs: number;
}

/**
 * Renders the pending pages of one job through the shared render queue, at most
 * `siteConcurrency` at a time, retrying a failed page with exponential backoff.
 * Resolves when every page is complete or failed, or when the job was cancelled
 * (pages in flight finish; the others stay pending).
 */
export async function renderJobPages(
  job: JobRecord,
  store: JobStore,
  queue: RenderQueue,
  options: RefreshRunOptions,
  signal: AbortSignal,
  logger: Logger,
): Promise<void> {
  const lane = new PQueue({ concurrency: options.siteConcurrency });
  for (;;) {
    if (signal.aborted) break;
    // Page by page from the store (PAGE_READ_BATCH at a time).
    const seqs = await store.pageSeqs(job.id, 'pending', PAGE_READ_BATCH);
    if (seqs.length === 0) break;
    for (const seq of seqs) {
      if (signal.aborted) break;
      await lane.onSizeLessThan(options.siteConcurrency);
      const page = await store.getPage(job.id, seq);
      if (!page || page.status !== 'pending' || !(await movePageToProcessing(store, job.id, seq))) continue;
      void lane.add(() => renderOne(job, page, store, queue, options, signal, logger));
    }
    await lane.onIdle();
  }
  await lane.onIdle();
}

async function renderOne(
  job: JobRecord,
  page: PageRecord,
  store: JobStore,
  queue: RenderQueue,
  options: RefreshRunOptions,
  signal: AbortSignal,
  logger: Logger,
): Promise<void> {
  let attempts = page.attempts;
  try {
    for (;;) {
      attempts++;
      const result = await submitWhenRoom(queue, refreshPageTask(job, page), signal);
      if (!result.ok && attempts < options.maxAttempts && !signal.aborted) await sleep(options.retryBackoffMs * 2 ** (attempts - 1), signal);
      if (result.ok || attempts >= options.maxAttempts || signal.aborted) {
        await movePageToFinished(store, job.id, page.seq, result, attempts);
        return;
      }
    }
  } catch (err) {
    const error: JobError = pageError('chromium-error', err instanceof Error ? err.message : String(err));
    logger.warn({ url: page.pageUrl, variant: page.variant, err: error.detail }, 'page render error');
    await movePageToFailed(store, job.id, page.seq, 'processing', error, attempts);
  }
}

/** A full render queue (crawler lookups come first) means waiting, not failing. */
async function submitWhenRoom(queue: RenderQueue, task: RenderTask, signal: AbortSignal) {
  for (;;) {
    try {
      return await queue.submit(task, PRIORITY.refresh);
    } catch (err) {
      if (!(err instanceof QueueFullError) || signal.aborted) throw err;
      await sleep(Math.min(err.retryAfterSeconds * 1000, 5000), signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
