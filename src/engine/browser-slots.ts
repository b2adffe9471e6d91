import PQueue from 'p-queue';
import type { RenderCapacity } from './render-capacity.js';

/**
 * This instance's renders at once, in priority order: the gate in front of its Chromium when
 * its queue (BullMQ) hands it more work than it renders, so that work needing no browser,
 * such as a refresh page's revalidation, is not held to the pace of renders. As wide as the
 * instance's render capacity.
 */
export class BrowserSlots {
  private readonly queue: PQueue;

  constructor(private readonly capacity: RenderCapacity) {
    this.queue = new PQueue({ concurrency: capacity.concurrency });
    capacity.onChange((concurrency) => {
      this.queue.concurrency = concurrency;
    });
    capacity.addGate(() => ({ running: this.queue.pending, waiting: this.queue.size }));
  }

  /** Runs `render` once a slot is free; a higher `priority` goes first (see PRIORITY). */
  run<T>(render: () => Promise<T>, priority: number): Promise<T> {
    return this.queue.add(
      async () => {
        try {
          return await render();
        } finally {
          this.capacity.rendered();
        }
      },
      { priority },
    );
  }
}
