import fs from 'node:fs';
import path from 'node:path';
import Keyv from 'keyv';
import KeyvRedis from '@keyv/redis';
import KeyvSqlite from '@keyv/sqlite';
import { keyvRedisOptions, type RedisPolicy } from '../redis/redis-connection.js';

/** Where a Keyv keeps its entries: SQLite under a folder, or Redis under the connection policy. */
export type KeyvLocation = { backend: 'embedded'; dir: string } | { backend: 'redis'; redis: RedisPolicy };

/**
 * A Keyv over SQLite (embedded: no server, survives restarts) or Redis (shared by
 * every instance). Redis commands fail fast while disconnected instead of queueing,
 * so a dead Redis is a logged miss, never a hang.
 */
export function createKeyvStore(location: KeyvLocation, namespace: string, table = 'pages'): Keyv {
  if (location.backend === 'embedded') {
    fs.mkdirSync(location.dir, { recursive: true });
    const file = path.resolve(location.dir, 'rendercache.sqlite');
    const adapter = new KeyvSqlite({ uri: `sqlite://${file}`, table, busyTimeout: 5000, keySize: 2048 });
    return new Keyv({ store: adapter, namespace, throwOnErrors: true });
  }
  const prefix = `${namespace}:${table}`;
  const adapter = new KeyvRedis(keyvRedisOptions(location.redis), {
    namespace: prefix,
    throwOnConnectError: false,
    throwOnErrors: true,
    connectionTimeout: location.redis.connectTimeoutMs,
  });
  return new Keyv({ store: adapter, namespace: prefix, useKeyPrefix: false, throwOnErrors: true });
}

/**
 * Opens the store's connection and waits for it. @keyv/redis connects on first use, and
 * with the offline queue off, commands sent while that connection is still opening fail.
 */
export async function connectStore(keyv: Keyv): Promise<void> {
  const adapter: unknown = keyv.store;
  if (adapter instanceof KeyvRedis) {
    // A failed connect is not thrown here (throwOnConnectError off): the caller's round trip shows it.
    await adapter.getClient();
  }
}
