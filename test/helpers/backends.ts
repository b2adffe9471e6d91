import { Redis } from 'ioredis';
import type Keyv from 'keyv';
import { createKeyvStore } from '../../src/cache/store.js';
import type { JobStore } from '../../src/jobs/job-store.js';
import type { SiteStateStore } from '../../src/sites/site-state.js';
import { SqliteStore } from '../../src/stores/sqlite-store.js';
import { onRedis, openRedisKeyv, openRedisStore, REDIS_TOPOLOGIES, useRedisTopology, type TestRedisSettings } from './redis-backend.js';
import { REDIS_URL, tempDir, uniqueNamespace } from './service.js';

/**
 * The backends every backend-dependent test runs on, once each. This file is the only
 * place in the tests that knows how a backend is configured and opened: the config a
 * service needs to run on it, and how to open its job store and its page-cache store
 * directly (to read what a service wrote, or to test a store alone).
 */
export type BackendName = 'embedded' | 'redis' | 'redis-cluster';

/** A job store that is also the site-state store, as each backend's store is. */
export type TestJobStore = JobStore & SiteStateStore & { close(): Promise<void> };

export interface OpenOptions {
  /** Folder of the embedded backend's files (default: a fresh one). Ignored by Redis. */
  dir?: string;
  /** Key namespace (default: a fresh one named after the label). */
  namespace?: string;
}

export interface TestBackend {
  /** 'embedded', 'redis', or 'redis-cluster' (Redis Cluster: the store suites only) */
  readonly name: BackendName;
  /**
   * The config fragment that puts a service on this backend under a fresh namespace (label
   * names it) and, for the embedded backend, a fresh folder; to spread at the TOP LEVEL of a
   * service config. `cacheExtras` are merged into its cache section (`namespace` or `dir`
   * there replace the fresh ones, for a test that must know them beforehand).
   */
  serviceConfig(label: string, cacheExtras?: Record<string, unknown>): Record<string, unknown>;
  /** A job + site-state store on this backend, fresh namespace/dir unless given. */
  openJobStore(label: string, options?: OpenOptions): Promise<TestJobStore>;
  /** A Keyv page-cache store on this backend (createKeyvStore), fresh namespace/dir unless given. */
  openKeyv(label: string, options?: OpenOptions): Keyv;
}

/** The embedded backend: SQLite files in a folder, one process. */
export const EMBEDDED: TestBackend = {
  name: 'embedded',
  serviceConfig: (label, cacheExtras = {}) => ({
    backend: 'embedded',
    cache: { dir: tempDir(), namespace: uniqueNamespace(label), ...cacheExtras },
  }),
  openJobStore: (_label, options = {}) => SqliteStore.open(options.dir ?? tempDir()),
  openKeyv: (label, options = {}) => createKeyvStore({ backend: 'embedded', dir: options.dir ?? tempDir() }, options.namespace ?? uniqueNamespace(label)),
};

/**
 * The Redis backend on the Redis that `redis` names: the test Redis by default; another for
 * a test about a particular server (one of its own, with users; one that is not there), or a
 * getter for one a suite starts itself (a Redis Cluster, see useRedisTopology).
 */
export function redisBackend(redis: TestRedisSettings | string | (() => TestRedisSettings) = REDIS_URL, name: BackendName = 'redis'): TestBackend {
  const settings = () => (typeof redis === 'function' ? redis() : redis);
  return {
    name,
    serviceConfig: (label, cacheExtras = {}) => ({
      ...onRedis(settings()),
      cache: { dir: tempDir(), namespace: uniqueNamespace(label), ...cacheExtras },
    }),
    openJobStore: (label, options = {}) => openRedisStore(settings(), options.namespace ?? uniqueNamespace(label)),
    openKeyv: (label, options = {}) => openRedisKeyv(settings(), options.namespace ?? uniqueNamespace(label)),
  };
}

/** The Redis backend on the test Redis (REDIS_URL). */
export const REDIS: TestBackend = redisBackend();

/**
 * A client of the test Redis that BullMQ accepts as a connection (no per-request retry
 * limit): to look into the queues of a service on the Redis backend. The caller closes it.
 */
export function openRedisClient(): Redis {
  return new Redis(REDIS_URL, { maxRetriesPerRequest: null });
}

/** Every backend, for `describe.each(BACKENDS)('… on the $name backend', (backend) => …)`. */
export const BACKENDS: readonly TestBackend[] = [EMBEDDED, REDIS];

/**
 * The store suites' backends: every backend, plus Redis on a real three-master Redis Cluster
 * that the calling file starts before its tests and ends after them. Call it at the top level
 * of a test file (it registers the hooks there).
 */
export function storeBackends(): readonly TestBackend[] {
  const cluster = REDIS_TOPOLOGIES.find((topology) => topology.name === 'cluster');
  if (!cluster) throw new Error('REDIS_TOPOLOGIES has no cluster topology');
  return [...BACKENDS, redisBackend(useRedisTopology(cluster), 'redis-cluster')];
}
