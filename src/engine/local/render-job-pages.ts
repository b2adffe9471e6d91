import PQueue from 'p-queue';
import type { Logger } from '../../observability/logger.js';
import { PRIORITY, QueueFullError, refreshPageTask, type RenderQueue, type RenderTask, type RenderTaskResult } from '../render-queue.js';
import { pageError } from '../../jobs/job-errors.js';
import { PAGE_READ_BATCH, type JobStore } from '../../jobs/job-store.js';
import { movePageBackToPending, movePageToFailed, movePageToFinished, movePageToProcessing } from '../../jobs/page-states.js';
import type { JobError, JobRecord, PageRecord } from '../../jobs/types.js';

export interface RefreshRunOptions {
  siteConcurrency: number;
  /** Pages of one job whose inputs are revalidated at once, beside its renders. */
  revalidateConcurrency: number;
  maxAttempts: number;
  retryBackoffMs: number;
}

/** Incremental refresh's question, asked without a browser: the page kept unchanged, or null to render it. */
export type KeepIfUnchanged = (task: RenderTask) => Promise<RenderTaskResult | null>;

/**
 * Renders the pending pages of one job through the shared render queue, at most
 * `siteConcurrency` at a time, retrying a failed page with exponential backoff.
 *
 * Each page is first asked whether its inputs changed (`keep`), up to
 * `revalidateConcurrency` pages at once and apart from the renders: an unchanged page
 * needs no browser, so a refresh where little changed is not held to the pace of renders.
 * Resolves when every page is complete or failed, or when the job was cancelled (renders
 * under way finish; pages not started go back to pending).
 */
export async function renderJobPages(
  job: JobRecord,
  store: JobStore,
  queue: RenderQueue,
  keep: KeepIfUnchanged,
  options: RefreshRunOptions,
  signal: AbortSignal,
  logger: Logger,
): Promise<void> {
  const checks = new PQueue({ concurrency: options.revalidateConcurrency });
  const renders = new PQueue({ concurrency: options.siteConcurrency });
  const settled = async () => {
    while (checks.size + checks.pending + renders.size + renders.pending > 0) await Promise.all([checks.onIdle(), renders.onIdle()]);
  };
  const render = (page: PageRecord) => {
    void renders.add(() => renderOne(job, page, store, queue, options, signal, logger));
  };
  for (;;) {
    if (signal.aborted) break;
    // Page by page from the store (PAGE_READ_BATCH at a time).
    const seqs = await store.pageSeqs(job.id, 'pending', PAGE_READ_BATCH);
    if (seqs.length === 0) break;
    for (const seq of seqs) {
      if (signal.aborted) break;
      // Bounded both ways: pages being asked about, and changed pages waiting for a render.
      await checks.onSizeLessThan(options.revalidateConcurrency);
      await renders.onSizeLessThan(options.siteConcurrency);
      const page = await store.getPage(job.id, seq);
      if (!page || page.status !== 'pending' || !(await movePageToProcessing(store, job.id, seq))) continue;
      void checks.add(async () => {
        if (signal.aborted) await movePageBackToPending(store, job.id, seq);
        else if (!(await keptUnchanged(job, page, store, keep, logger))) render(page);
      });
    }
    // No drain between batches: every page read is processing or done by now, so the next
    // read finds only pages not taken yet, and asking and rendering never pause for a read.
  }
  await settled();
}

/** Asks whether the page's inputs changed; true when it was kept and recorded complete. */
async function keptUnchanged(job: JobRecord, page: PageRecord, store: JobStore, keep: KeepIfUnchanged, logger: Logger): Promise<boolean> {
  try {
    const kept = await keep(refreshPageTask(job, page));
    if (!kept) return false;
    await movePageToFinished(store, job.id, page.seq, kept, page.attempts + 1);
    return true;
  } catch (err) {
    // Not knowing is no proof of "unchanged": render it.
    logger.warn({ url: page.pageUrl, variant: page.variant, err: err instanceof Error ? err.message : String(err) }, 'revalidation error; page rendered');
    return false;
  }
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
  // Cancelled while it waited for a browser: it was never started.
  if (signal.aborted) {
    await movePageBackToPending(store, job.id, page.seq);
    return;
  }
  let attempts = page.attempts;
  try {
    for (;;) {
      attempts++;
      const result = await submitWhenRoom(queue, { ...refreshPageTask(job, page), inputsChecked: true }, signal);
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
