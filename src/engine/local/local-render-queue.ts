import PQueue from 'p-queue';
import type { RenderAndStore } from '../render-and-store.js';
import type { RenderCapacity } from '../render-capacity.js';
import { QueueFullError, type RenderQueue, type RenderTask, type RenderTaskResult } from '../render-queue.js';

export interface LocalRenderQueueOptions {
  /** Waiting tasks beyond this are refused with QueueFullError. */
  maxQueued: number;
}

/** The render queue of a single process: p-queue, bounded, with priorities, as wide as the instance's render capacity. */
export class LocalRenderQueue implements RenderQueue {
  private readonly queue: PQueue;
  private averageRenderMs = 1000;

  constructor(
    private readonly worker: RenderAndStore,
    private readonly capacity: RenderCapacity,
    private readonly options: LocalRenderQueueOptions,
  ) {
    this.queue = new PQueue({ concurrency: capacity.concurrency });
    capacity.onChange((concurrency) => {
      this.queue.concurrency = concurrency;
    });
    capacity.addGate(() => ({ running: this.queue.pending, waiting: this.queue.size }));
  }

  submit(task: RenderTask, priority: number): Promise<RenderTaskResult> {
    if (this.queue.size >= this.options.maxQueued) {
      const seconds = Math.ceil(((this.queue.size + 1) * this.averageRenderMs) / this.capacity.concurrency / 1000);
      return Promise.reject(new QueueFullError(Math.max(1, seconds)));
    }
    return this.queue.add(
      async () => {
        try {
          const result = await this.worker.run(task);
          // A moving average keeps Retry-After honest.
          this.averageRenderMs = this.averageRenderMs * 0.9 + result.renderTimeMs * 0.1;
          return result;
        } finally {
          this.capacity.rendered();
        }
      },
      { priority },
    );
  }

  unanswered(): number {
    return this.queue.size + this.queue.pending;
  }

  async close(): Promise<void> {
    this.queue.clear();
    await this.queue.onIdle();
  }
}
