/** Request types that stay open by design and never make a page busy. */
const NEVER_BUSY = new Set(['eventsource', 'websocket', 'ping', 'cspviolationreport']);

export interface NetworkIdleOptions {
  /** Quiet time after the last busy request that marks the page ready. */
  idleWindowMs: number;
  /** A request open longer than this is treated as a long-poll and ignored. */
  longPollAfterMs: number;
}

/**
 * Tracks the requests of one render and tells when the network has been quiet for
 * `idleWindowMs`. Long-polls, EventSource and WebSocket traffic do not count.
 */
export class NetworkIdleTracker<R extends object> {
  private readonly open = new Map<R, number>();
  private quietSince: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private waiter: (() => void) | null = null;

  constructor(private readonly options: NetworkIdleOptions) {}

  started(request: R, resourceType: string): void {
    if (NEVER_BUSY.has(resourceType)) return;
    this.open.set(request, performance.now());
    this.quietSince = null;
    this.schedule();
  }

  ended(request: R): void {
    if (this.open.delete(request)) this.schedule();
  }

  /** Resolves once the page is idle; call once per render. */
  whenIdle(): Promise<void> {
    return new Promise((resolve) => {
      this.waiter = resolve;
      this.schedule();
    });
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.waiter = null;
    this.open.clear();
  }

  private schedule(): void {
    if (!this.waiter) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const now = performance.now();
    let oldestBusy = Infinity;
    for (const startedAt of this.open.values()) {
      if (now - startedAt < this.options.longPollAfterMs) oldestBusy = Math.min(oldestBusy, startedAt);
    }
    if (oldestBusy !== Infinity) {
      this.quietSince = null;
      // Wake up when the oldest busy request turns into a long-poll.
      this.timer = setTimeout(() => this.schedule(), oldestBusy + this.options.longPollAfterMs - now + 1);
      return;
    }
    this.quietSince ??= now;
    const left = this.quietSince + this.options.idleWindowMs - now;
    if (left <= 0) {
      const resolve = this.waiter;
      this.waiter = null;
      resolve();
      return;
    }
    this.timer = setTimeout(() => this.schedule(), left);
  }
}
