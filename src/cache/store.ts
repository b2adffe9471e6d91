import fs from 'node:fs';
import path from 'node:path';
import Keyv from 'keyv';
import KeyvRedis from '@keyv/redis';
import KeyvSqlite from '@keyv/sqlite';

export interface StoreOptions {
  /** "embedded" or a redis:// URL. */
  store: string;
  /** Folder of the embedded SQLite file. */
  dir: string;
  namespace: string;
  commandTimeoutMs: number;
}

export type StoreKind = 'embedded' | 'redis';

export const storeKind = (store: string): StoreKind => (store === 'embedded' ? 'embedded' : 'redis');

/**
 * A Keyv over SQLite (embedded: no server, survives restarts) or Redis (shared by
 * every instance). Redis commands fail fast while disconnected instead of queueing,
 * so a dead Redis is a logged miss, never a hang.
 */
export function createKeyvStore(options: StoreOptions, table = 'pages'): Keyv {
  if (storeKind(options.store) === 'embedded') {
    fs.mkdirSync(options.dir, { recursive: true });
    const file = path.resolve(options.dir, 'rendercache.sqlite');
    const adapter = new KeyvSqlite({ uri: `sqlite://${file}`, table, busyTimeout: 5000, keySize: 2048 });
    return new Keyv({ store: adapter, namespace: options.namespace, throwOnErrors: true });
  }
  const adapter = new KeyvRedis(
    {
      url: options.store,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: Math.max(1000, options.commandTimeoutMs * 4),
        reconnectStrategy: (retries: number) => Math.min(250 * 2 ** Math.min(retries, 4), 4000),
      },
    },
    { namespace: `${options.namespace}:${table}`, throwOnConnectError: false, throwOnErrors: true, connectionTimeout: options.commandTimeoutMs * 4 },
  );
  return new Keyv({ store: adapter, namespace: `${options.namespace}:${table}`, useKeyPrefix: false, throwOnErrors: true });
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
