import { afterAll, beforeAll } from 'vitest';
import { createKeyvStore } from '../../src/cache/store.js';
import { parseConfig } from '../../src/config/load.js';
import type { RedisConfig } from '../../src/config/schema.js';
import { redisPolicy, type RedisPolicy } from '../../src/redis/redis-connection.js';
import { RedisStore } from '../../src/stores/redis-store.js';
import { startTestRedisCluster } from './redis-cluster.js';
import { REDIS_URL } from './service.js';

/** The `redis` section of a test's config: a url, and for a test cluster its topology. */
export type TestRedisSettings = { url: string } & Partial<Omit<RedisConfig, 'url'>>;

/** The config fragment that puts a service on Redis, spread at the top level of its config. */
export const onRedis = (redis: TestRedisSettings | string) => ({ backend: 'redis' as const, redis: typeof redis === 'string' ? { url: redis } : redis });

/** The connection policy a service on these settings uses (the schema's defaults filled in). */
export const testRedisPolicy = (redis: TestRedisSettings | string): RedisPolicy => redisPolicy(parseConfig(onRedis(redis)).redis);

/** A job store on Redis, as a service on these settings opens it: to read or seed what the service stores. */
export const openRedisStore = (redis: TestRedisSettings | string, namespace: string) => RedisStore.open(testRedisPolicy(redis), namespace);

/** The page cache's Keyv on Redis, as a service on these settings opens it. */
export const openRedisKeyv = (redis: TestRedisSettings | string, namespace: string) =>
  createKeyvStore({ backend: 'redis', redis: testRedisPolicy(redis) }, namespace);

/** A Redis deployment the service supports, started for a suite that runs once per topology. */
export interface RedisTopology {
  readonly name: 'standalone' | 'cluster' | 'sentinel';
  start(): Promise<{ settings: TestRedisSettings; close(): Promise<void> }>;
}

/**
 * The topologies a Redis suite runs on: the shared test Redis, and a real Redis Cluster of
 * three masters that the suite starts for itself.
 */
export const REDIS_TOPOLOGIES: readonly RedisTopology[] = [
  { name: 'standalone', start: () => Promise.resolve({ settings: { url: REDIS_URL }, close: () => Promise.resolve() }) },
  {
    name: 'cluster',
    async start() {
      const cluster = await startTestRedisCluster({ masters: 3 });
      return { settings: { url: cluster.url, topology: 'cluster' }, close: () => cluster.close() };
    },
  },
];

/** Inside a describe block: the topology is started before its tests and ended after them; the getter gives its settings. */
export function useRedisTopology(topology: RedisTopology): () => TestRedisSettings {
  let running: Awaited<ReturnType<RedisTopology['start']>> | undefined;
  beforeAll(async () => {
    running = await topology.start();
  }, 60_000);
  afterAll(async () => running?.close());
  return () => {
    if (!running) throw new Error(`the ${topology.name} Redis is not running (useRedisTopology outside a describe block?)`);
    return running.settings;
  };
}
