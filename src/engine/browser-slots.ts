import PQueue from 'p-queue';

/**
 * This instance's renders at once, in priority order: the gate in front of its Chromium when
 * its queue (BullMQ) hands it more work than it renders, so that work needing no browser,
 * such as a refresh page's revalidation, is not held to the pace of renders.
 */
export class BrowserSlots {
  private readonly queue: PQueue;

  constructor(renders: number) {
    this.queue = new PQueue({ concurrency: renders });
  }

  /** Runs `render` once a slot is free; a higher `priority` goes first (see PRIORITY). */
  run<T>(render: () => Promise<T>, priority: number): Promise<T> {
    return this.queue.add(render, { priority });
  }
}
