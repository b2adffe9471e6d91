import type { Queue, QueueEvents } from 'bullmq';
import type { Logger } from '../../observability/logger.js';
import { QueueFullError, type RenderQueue, type RenderTask, type RenderTaskResult } from '../render-queue.js';
import type { KeptJobs } from '../../config/schema.js';
import { bullPriority, removeOptions, RENDER_JOB, type LookupJobData } from './queues.js';
import type { RedisWatch } from './redis-watch.js';

export interface ClusterRenderQueueOptions {
  /** Lookups of this instance waiting for a render beyond this are refused (503). */
  maxWaiting: number;
  /** A render not finished by then answers as timed out, so a lookup never hangs. */
  waitTimeoutMs: number;
  /** Finished lookup jobs kept in Redis (cluster.retention.lookups). */
  retention: KeptJobs;
}

/**
 * Lookups' renders through BullMQ: any instance's Chromium may take them. While Redis
 * is unreachable, an instance with its own Chromium renders locally instead; one
 * without answers "busy" (503), never a hang.
 */
export class ClusterRenderQueue implements RenderQueue {
  private waitingHere = 0;

  constructor(
    private readonly queue: Queue<LookupJobData, RenderTaskResult>,
    private readonly events: QueueEvents,
    private readonly fallback: RenderQueue | null,
    private readonly redis: RedisWatch,
    private readonly options: ClusterRenderQueueOptions,
    private readonly logger: Logger,
  ) {}

  async submit(task: RenderTask, priority: number): Promise<RenderTaskResult> {
    if (this.waitingHere >= this.options.maxWaiting) throw new QueueFullError(5);
    this.waitingHere++;
    try {
      let job;
      try {
        job = await this.queue.add(
          RENDER_JOB.lookup,
          { task },
          {
            priority: bullPriority(priority),
            ...removeOptions(this.options.retention),
          },
        );
      } catch (err) {
        this.logger.error({ url: task.url, err: String(err) }, 'render queue unreachable');
        if (this.fallback) return await this.fallback.submit(task, priority);
        throw new QueueFullError(5);
      }
      let result: RenderTaskResult | null;
      try {
        result = await this.redis.whileAlive(job.waitUntilFinished(this.events, this.options.waitTimeoutMs));
      } catch (err) {
        return {
          ok: false,
          failure: { kind: 'timeout', detail: `no renderer finished the page in time: ${String(err)}` },
          renderTimeMs: 0,
          renderedBy: 'cluster',
        };
      }
      if (result) return result;
      // Redis went away while the render was queued or running: nobody could tell us its end.
      this.logger.error({ url: task.url }, 'lost Redis while waiting for a render');
      if (this.fallback) return await this.fallback.submit(task, priority);
      throw new QueueFullError(5);
    } finally {
      this.waitingHere--;
    }
  }

  /** Lookups waiting here for a render on any instance (or on the local fallback while Redis is away). */
  unanswered(): number {
    return this.waitingHere;
  }

  async close(): Promise<void> {
    await this.fallback?.close();
  }
}
