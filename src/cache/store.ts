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

/**
 * The keys of a Keyv store that start with `prefix` (as Keyv is given them, without its
 * namespace), in batches of at most `batchSize`, keys only. Deleting the keys of a batch
 * before asking for the next is safe. Keyv's `iterator()` is not used: on SQLite it pages
 * with LIMIT/OFFSET and no ORDER BY, so deleting what it yielded skips as many other keys
 * (half of them when each one is deleted), and on every backend it reads and parses every value.
 *   SQLite: an ordered range scan on the key (its primary key), resumed after the last key.
 *   Redis: SCAN with a MATCH on each master (every node of a Redis Cluster): cursors stay
 *   valid while keys are deleted; a key may come twice.
 */
export async function* keysWithPrefix(keyv: Keyv, prefix: string, batchSize: number): AsyncGenerator<string[]> {
  const adapter: unknown = keyv.store;
  if (adapter instanceof KeyvRedis) {
    const stored = `${adapter.namespace ?? ''}${adapter.namespace ? adapter.keyPrefixSeparator : ''}`;
    const pattern = `${globEscape(stored + prefix)}*`;
    for (const client of await adapter.getMasterNodes()) {
      let cursor = '0';
      do {
        const result = await client.scan(cursor, { MATCH: pattern, COUNT: batchSize, TYPE: 'string' });
        cursor = String(result.cursor);
        if (result.keys.length > 0) yield result.keys.map((key) => key.slice(stored.length));
      } while (cursor !== '0');
    }
    return;
  }
  if (adapter instanceof KeyvSqlite) {
    const stored = keyv.namespace ? `${keyv.namespace}:` : '';
    const low = stored + prefix;
    // Every key that starts with `low` sorts below this (U+10FFFF is the greatest code point).
    const high = `${low}\u{10FFFF}`;
    const table = String(adapter.opts.table);
    let after: string | null = null;
    for (;;) {
      const rows = (await adapter.query(
        `SELECT key FROM ${table} WHERE key ${after === null ? '>=' : '>'} ? AND key < ? ORDER BY key LIMIT ?`,
        after ?? low,
        high,
        batchSize,
      )) as Array<{ key: string }>;
      if (rows.length === 0) return;
      after = rows[rows.length - 1]?.key ?? null;
      yield rows.map((row) => row.key.slice(stored.length));
      if (rows.length < batchSize) return;
    }
  }
  throw new Error('keysWithPrefix: the store is neither SQLite nor Redis');
}

/**
 * Deletes these keys (as Keyv is given them); how many were there. SQLite: one statement
 * (one transaction, not one per key); Redis: one DEL per key, pipelined by the client and
 * routed to each key's node on a Redis Cluster.
 */
export async function deleteKeys(keyv: Keyv, keys: readonly string[]): Promise<number> {
  if (keys.length === 0) return 0;
  const adapter: unknown = keyv.store;
  if (adapter instanceof KeyvSqlite) {
    const stored = keyv.namespace ? `${keyv.namespace}:` : '';
    const rows = (await adapter.query(
      `DELETE FROM ${String(adapter.opts.table)} WHERE key IN (SELECT value FROM json_each(?)) RETURNING key`,
      JSON.stringify(keys.map((key) => stored + key)),
    )) as unknown[];
    return rows.length;
  }
  const deleted = await Promise.all(keys.map((key) => keyv.delete(key)));
  return deleted.filter(Boolean).length;
}

/** A literal in a Redis glob (SCAN MATCH). */
const globEscape = (text: string) => text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
