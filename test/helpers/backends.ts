import { Redis } from 'ioredis';
import type Keyv from 'keyv';
import { createKeyvStore } from '../../src/cache/store.js';
import type { JobStore } from '../../src/jobs/job-store.js';
import type { SiteStateStore } from '../../src/sites/site-state.js';
import { RedisStore } from '../../src/stores/redis-store.js';
import { SqliteStore } from '../../src/stores/sqlite-store.js';
import { REDIS_URL, tempDir, uniqueNamespace } from './service.js';

/**
 * The backends every backend-dependent test runs on, once each. This file is the only
 * place in the tests that knows how a backend is configured and opened: the config a
 * service needs to run on it, and how to open its job store and its page-cache store
 * directly (to read what a service wrote, or to test a store alone).
 */
export type BackendName = 'embedded' | 'redis';

/** A job store that is also the site-state store, as each backend's store is. */
export type TestJobStore = JobStore & SiteStateStore & { close(): Promise<void> };

export interface OpenOptions {
  /** Folder of the embedded backend's files (default: a fresh one). Ignored by Redis. */
  dir?: string;
  /** Key namespace (default: a fresh one named after the label). */
  namespace?: string;
}

export interface TestBackend {
  /** 'embedded' or 'redis' */
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
  openKeyv(label: string, options?: OpenOptions & { commandTimeoutMs?: number }): Keyv;
}

/** The config's default command timeout of the page-cache store. */
const DEFAULT_COMMAND_TIMEOUT_MS = 1000;

/** The embedded backend: SQLite files in a folder, one process. */
export const EMBEDDED: TestBackend = {
  name: 'embedded',
  serviceConfig: (label, cacheExtras = {}) => ({
    cache: { store: 'embedded', dir: tempDir(), namespace: uniqueNamespace(label), ...cacheExtras },
  }),
  openJobStore: (_label, options = {}) => SqliteStore.open(options.dir ?? tempDir()),
  openKeyv: (label, options = {}) =>
    createKeyvStore({
      store: 'embedded',
      dir: options.dir ?? tempDir(),
      namespace: options.namespace ?? uniqueNamespace(label),
      commandTimeoutMs: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    }),
};

/**
 * The Redis backend on the Redis at `url`: the test Redis by default; another URL for a
 * test about a particular server (one of its own, with users; one that is not there).
 */
export function redisBackend(url: string = REDIS_URL): TestBackend {
  return {
    name: 'redis',
    serviceConfig: (label, cacheExtras = {}) => ({
      cache: { store: url, dir: tempDir(), namespace: uniqueNamespace(label), ...cacheExtras },
    }),
    openJobStore: (label, options = {}) => Promise.resolve(new RedisStore(url, options.namespace ?? uniqueNamespace(label))),
    openKeyv: (label, options = {}) =>
      createKeyvStore({
        store: url,
        dir: options.dir ?? tempDir(),
        namespace: options.namespace ?? uniqueNamespace(label),
        commandTimeoutMs: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
      }),
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
