import type { Queue } from 'bullmq';
import type { KeptJobs } from '../../config/schema.js';
import { PAGE_READ_BATCH, type JobStore } from '../../jobs/job-store.js';
import { isPageDone } from '../../jobs/page-states.js';
import type { JobRecord } from '../../jobs/types.js';
import { PRIORITY, refreshPageTask } from '../render-queue.js';
import { bullPriority, removeOptions, RENDER_JOB, type PageJobData } from './queues.js';

export interface PageJobQueueOptions {
  /** Tries per page, with exponential backoff from retryBackoffMs. */
  maxAttempts: number;
  retryBackoffMs: number;
  /** Finished page jobs kept in Redis (cluster.retention.pages). */
  retention: KeptJobs;
}

/** Puts a refresh job's pages on the cluster's render queue, one BullMQ job per page. */
export class PageJobQueue {
  constructor(
    private readonly queue: Queue,
    private readonly store: JobStore,
    private readonly options: PageJobQueueOptions,
  ) {}

  /**
   * Queues every page still pending, in batches read from the store. The BullMQ job id
   * is the page's own (job id + seq), so queueing again after a crash adds nothing twice;
   * pages queued again after an origin restart take `idSuffix`, a new round of ids.
   */
  async enqueuePending(job: JobRecord, idSuffix = ''): Promise<number> {
    let queued = 0;
    for (let offset = 0; ; offset += PAGE_READ_BATCH) {
      const { items } = await this.store.listPages(job.id, { offset, limit: PAGE_READ_BATCH });
      if (items.length === 0) return queued;
      const pending = items.filter((page) => !isPageDone(page.status));
      await this.queue.addBulk(
        pending.map((page) => ({
          name: RENDER_JOB.page,
          data: {
            task: refreshPageTask(job, page),
            jobId: job.id,
            seq: page.seq,
            maxAttempts: this.options.maxAttempts,
          } satisfies PageJobData,
          opts: {
            jobId: `${job.id}-${page.seq}${idSuffix}`,
            priority: bullPriority(PRIORITY.refresh),
            attempts: this.options.maxAttempts,
            backoff: { type: 'exponential', delay: this.options.retryBackoffMs },
            ...removeOptions(this.options.retention),
          },
        })),
      );
      queued += pending.length;
    }
  }
}
