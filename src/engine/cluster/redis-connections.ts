import { Redis } from 'ioredis';

/**
 * The two kinds of Redis connection the cluster needs. Producers fail fast while Redis
 * is away (no offline queue), so a request never hangs on it; BullMQ's workers and
 * event listeners retry for ever (BullMQ requires it) and recover on their own.
 */
export async function openProducerConnection(url: string, commandTimeoutMs: number): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: commandTimeoutMs,
    retryStrategy: (times) => Math.min(250 * 2 ** Math.min(times, 4), 4000),
  });
  redis.on('error', () => {
    /* each failing command reports itself */
  });
  await redis.connect();
  return redis;
}

export function openWorkerConnection(url: string): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(250 * 2 ** Math.min(times, 4), 4000),
  });
  redis.on('error', () => {
    /* BullMQ reconnects; outages show in readiness */
  });
  return redis;
}
