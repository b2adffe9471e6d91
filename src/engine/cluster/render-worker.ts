import { WaitingError, Worker, type Job } from 'bullmq';
import type { RedisConnection } from '../../redis/redis-connection.js';
import type { Logger } from '../../observability/logger.js';
import type { RenderAndStore } from '../render-and-store.js';
import type { BrowserSlots } from '../browser-slots.js';
import { PRIORITY, type RenderTaskResult } from '../render-queue.js';
import type { PageJobProcessor } from './page-job.js';
import { RENDER_JOB, RENDER_QUEUE, type LookupJobData, type PageJobData } from './queues.js';

export interface RenderWorkerOptions {
  prefix: string;
  /** Jobs taken at once by this instance: its renders, plus refresh pages being revalidated. */
  concurrency: number;
  /** A render whose instance stops renewing its lock for this long is taken over. */
  lockDurationMs: number;
  /** How often stalled renders are looked for. */
  stalledIntervalMs: number;
}

type RenderJobData = LookupJobData | PageJobData;

/**
 * This instance's Chromium, taking renders from the cluster's render queue. On close,
 * refresh pages under way are handed back to the queue at once (another instance takes
 * them without waiting for their lock to lapse); crawler lookups under way finish here,
 * since a crawler is waiting on each of them.
 */
export class RenderWorker {
  private readonly worker: Worker<RenderJobData, RenderTaskResult | void>;

  constructor(
    connection: RedisConnection,
    renderer: RenderAndStore,
    pages: PageJobProcessor,
    slots: BrowserSlots,
    options: RenderWorkerOptions,
    logger: Logger,
  ) {
    this.worker = new Worker<RenderJobData, RenderTaskResult | void>(
      RENDER_QUEUE,
      // Three parameters: BullMQ passes the abort signal only to a processor that declares it.
      async (job, token, signal) => {
        if (job.name === RENDER_JOB.page) {
          const work = pages.process(job.data as PageJobData, job.attemptsMade, signal);
          if (!signal || !token) return work;
          return handBackOnAbort(work, job, token, signal, () => {
            const { jobId, seq } = job.data as PageJobData;
            logger.info({ jobId, seq }, 'stopping: refresh page handed back to the render queue');
          });
        }
        const result = await slots.run(() => renderer.run(job.data.task), slotPriority(job.opts.priority));
        // The entry itself stays out of Redis's job record: the cache holds it.
        if (result.ok) delete result.entry;
        return result;
      },
      {
        connection,
        prefix: options.prefix,
        concurrency: options.concurrency,
        lockDuration: options.lockDurationMs,
        stalledInterval: options.stalledIntervalMs,
        maxStalledCount: 2,
        autorun: false,
      },
    );
    this.worker.on('error', (err) => logger.warn({ err: err.message }, 'render worker: redis error'));
    this.worker.on('failed', (job: Job<RenderJobData> | undefined, err: Error) => {
      const final = job !== undefined && (job.attemptsMade >= (job.opts.attempts ?? 1) || /stalled/i.test(err.message));
      if (!job || job.name !== RENDER_JOB.page || !final) return;
      pages
        .giveUp(job.data as PageJobData, job.attemptsMade, err.message)
        .catch((e: unknown) => logger.error({ err: String(e) }, 'could not record a failed page'));
    });
  }

  start(): void {
    void this.worker.run().catch(() => {});
  }

  /** Jobs taken at once from now on (the render capacity changed). */
  setConcurrency(jobs: number): void {
    this.worker.concurrency = jobs;
  }

  /** Stops taking renders; hands back the refresh pages under way, waits for lookups. */
  async close(): Promise<void> {
    const closed = this.worker.close();
    this.worker.cancelAllJobs('this instance is stopping');
    await closed;
  }
}

/** A lookup's place at this instance's browser, from its BullMQ priority (1 first). */
const slotPriority = (bullPriority: number | undefined): number => (bullPriority === 1 ? PRIORITY.lookup : PRIORITY.revalidate);

/**
 * The page's work, unless the worker is closed first: then the job goes back to the
 * queue (its lock released) and the work, still running, records nothing.
 */
async function handBackOnAbort<T>(work: Promise<T>, job: Job, token: string, signal: AbortSignal, handedBack: () => void): Promise<T> {
  work.catch(() => {}); // once handed back, its outcome is nobody's
  const aborted = new Promise<'aborted'>((resolve) => {
    if (signal.aborted) resolve('aborted');
    else signal.addEventListener('abort', () => resolve('aborted'), { once: true });
  });
  const first = await Promise.race([
    work.then(
      () => 'done' as const,
      () => 'done' as const,
    ),
    aborted,
  ]);
  if (first === 'done') return work;
  await job.moveToWait(token);
  handedBack();
  throw new WaitingError();
}
