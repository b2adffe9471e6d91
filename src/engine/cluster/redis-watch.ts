import type { RedisConnection } from '../../redis/redis-connection.js';
import { withTimeout } from '../../cache/with-timeout.js';

/**
 * Tells those waiting on Redis (a lookup waiting for a render on BullMQ) that it stopped
 * answering, so they can give up at once instead of waiting out their whole timeout: a
 * closed connection (Redis killed) is seen at once, a frozen Redis by a ping that does
 * not come back in time. It pings only while someone waits.
 */
export class RedisWatch {
  private readonly waiters = new Set<() => void>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly redis: RedisConnection,
    private readonly options: { pingEveryMs: number; pingTimeoutMs: number },
  ) {
    redis.on('close', () => this.lost());
  }

  /** Runs `work` until it settles or Redis is lost, whichever comes first; null when lost. */
  async whileAlive<T>(work: Promise<T>): Promise<T | null> {
    let onLost: () => void = () => {};
    const lost = new Promise<null>((resolve) => {
      onLost = () => resolve(null);
    });
    this.waiters.add(onLost);
    this.timer ??= setInterval(() => void this.ping(), this.options.pingEveryMs);
    try {
      if (this.redis.status !== 'ready') return null;
      return await Promise.race([work, lost]);
    } finally {
      this.waiters.delete(onLost);
      if (this.waiters.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    }
  }

  private async ping(): Promise<void> {
    try {
      await withTimeout(this.redis.ping(), this.options.pingTimeoutMs, 'redis ping');
    } catch {
      this.lost();
    }
  }

  private lost(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
