import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.js';
import type { RenderAndStore } from '../queue/render-and-store.js';
import type { RenderTaskResult } from '../queue/render-task.js';
import type { PageJobProcessor } from './page-job.js';
import { RENDER_JOB, RENDER_QUEUE, type LookupJobData, type PageJobData } from './queues.js';

export interface RenderWorkerOptions {
  prefix: string;
  /** Renders at once on this instance. */
  concurrency: number;
  /** A render whose instance stops renewing its lock for this long is taken over. */
  lockDurationMs: number;
  /** How often stalled renders are looked for. */
  stalledIntervalMs: number;
}

type RenderJobData = LookupJobData | PageJobData;

/** This instance's Chromium, taking renders from the cluster's render queue. */
export class RenderWorker {
  private readonly worker: Worker<RenderJobData, RenderTaskResult | void>;

  constructor(connection: Redis, renderer: RenderAndStore, pages: PageJobProcessor, options: RenderWorkerOptions, logger: Logger) {
    this.worker = new Worker<RenderJobData, RenderTaskResult | void>(
      RENDER_QUEUE,
      async (job) => {
        if (job.name === RENDER_JOB.page) return pages.process(job.data as PageJobData, job.attemptsMade);
        const result = await renderer.run(job.data.task);
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
      pages.giveUp(job.data as PageJobData, job.attemptsMade, err.message).catch((e: unknown) => logger.error({ err: String(e) }, 'could not record a failed page'));
    });
  }

  start(): void {
    void this.worker.run().catch(() => {});
  }

  async close(): Promise<void> {
    await this.worker.close();
  }
}
