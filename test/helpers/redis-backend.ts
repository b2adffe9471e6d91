import { createKeyvStore } from '../../src/cache/store.js';
import { parseConfig } from '../../src/config/load.js';
import type { RedisConfig } from '../../src/config/schema.js';
import { redisPolicy, type RedisPolicy } from '../../src/redis/redis-connection.js';
import { RedisStore } from '../../src/stores/redis-store.js';

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
