import fs from 'node:fs';
import type KeyvRedis from '@keyv/redis';
import type { RedisClientOptions } from '@keyv/redis';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisConfig } from '../config/schema.js';

/**
 * The one Redis connection policy of rendercache, read once from `redis.*`: where the
 * server is (standalone, cluster or sentinel), TLS, the command timeout and the reconnect
 * backoff. The job store, BullMQ and the page cache all connect through this module; the
 * page cache with node-redis (the client of @keyv/redis), the rest with ioredis (BullMQ's).
 */
export interface RedisPolicy {
  readonly topology: RedisConfig['topology'];
  /** The url's node first, then the seeds: cluster nodes or sentinels. */
  readonly nodes: ReadonlyArray<{ host: string; port: number }>;
  readonly sentinelMaster: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly db: number;
  /** Present with rediss:// only. */
  readonly tls: { rejectUnauthorized: boolean; ca: string | undefined } | undefined;
  readonly commandTimeoutMs: number;
  readonly connectTimeoutMs: number;
  /** Wait before reconnection try `attempt` (1, 2, …): doubling from the minimum, capped. */
  reconnectDelayMs(attempt: number): number;
}

/** Redis Cluster or one server (directly or found through sentinels), as ioredis connects to it. */
export type RedisConnection = Redis | Cluster;

export function redisPolicy(config: RedisConfig): RedisPolicy {
  const url = new URL(config.url);
  const first = { host: unbracket(url.hostname), port: Number(url.port || 6379) };
  const seeds = config.seeds.map((seed) => {
    const at = seed.lastIndexOf(':');
    return { host: unbracket(seed.slice(0, at)), port: Number(seed.slice(at + 1)) };
  });
  const { reconnectMinDelayMs: min, reconnectMaxDelayMs: max } = config;
  return {
    topology: config.topology,
    nodes: [first, ...seeds],
    sentinelMaster: config.sentinelMaster,
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    db: Number(url.pathname.slice(1) || 0),
    tls: url.protocol === 'rediss:' ? { rejectUnauthorized: config.tlsRejectUnauthorized, ca: readCa(config.tlsCaFile) } : undefined,
    commandTimeoutMs: config.commandTimeoutMs,
    connectTimeoutMs: config.connectTimeoutMs,
    reconnectDelayMs: (attempt) => Math.min(min * 2 ** Math.min(Math.max(attempt - 1, 0), 20), max),
  };
}

/** IPv6 hosts are written in brackets in URLs and seeds, and connected to without. */
const unbracket = (host: string) => host.replace(/^\[(.*)\]$/, '$1');

function readCa(file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(
      `redis.tlsCaFile ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}): point it at the PEM file of your Redis CA`,
    );
  }
}

/**
 * Keys that one Lua script or MULTI touches together must share a Redis Cluster hash
 * slot: every key of one part (the job store, BullMQ's queues) starts with this tag.
 * The same on every topology, so that data never depends on how Redis is deployed.
 */
export const slotTag = (namespace: string, part: string) => `{${namespace}:${part}}`;

/**
 * A connection for requests: it fails fast while Redis is away (no offline queue, one
 * retry, the command timeout) so that an API call or a lookup never hangs on Redis.
 * Resolves once connected; rejects with the reason when Redis does not answer.
 */
export async function openCommandConnection(policy: RedisPolicy): Promise<RedisConnection> {
  const connection = connect(policy, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: policy.commandTimeoutMs });
  try {
    await connection.connect();
  } catch (err) {
    connection.disconnect();
    throw new Error(`cannot connect to Redis (${describeRedis(policy)}): ${err instanceof Error ? err.message : String(err)}`);
  }
  return connection;
}

/**
 * A connection for BullMQ's workers and event listeners and for pub/sub: blocking
 * commands wait as long as they need (no command timeout), and commands wait out a
 * reconnection; BullMQ requires both. Outages show in readiness, not here.
 */
export function openBlockingConnection(policy: RedisPolicy): RedisConnection {
  return connect(policy, { maxRetriesPerRequest: null });
}

function connect(
  policy: RedisPolicy,
  purpose: Pick<RedisOptions, 'lazyConnect' | 'enableOfflineQueue' | 'maxRetriesPerRequest' | 'commandTimeout'>,
): RedisConnection {
  const server: RedisOptions = {
    username: policy.username,
    password: policy.password,
    connectTimeout: policy.connectTimeoutMs,
    maxRetriesPerRequest: purpose.maxRetriesPerRequest,
    ...(purpose.commandTimeout === undefined ? {} : { commandTimeout: purpose.commandTimeout }),
    ...(policy.tls ? { tls: { rejectUnauthorized: policy.tls.rejectUnauthorized, ca: policy.tls.ca } } : {}),
  };
  const queueing = { lazyConnect: purpose.lazyConnect ?? false, enableOfflineQueue: purpose.enableOfflineQueue ?? true };
  let connection: RedisConnection;
  if (policy.topology === 'cluster') {
    const options: ClusterOptions = { ...queueing, redisOptions: server, clusterRetryStrategy: (times) => policy.reconnectDelayMs(times) };
    connection = new Cluster([...policy.nodes], options);
  } else {
    const where: RedisOptions =
      policy.topology === 'sentinel'
        ? { sentinels: [...policy.nodes], name: policy.sentinelMaster }
        : { host: policy.nodes[0]?.host, port: policy.nodes[0]?.port };
    connection = new Redis({ ...server, ...where, ...queueing, db: policy.db, retryStrategy: (times) => policy.reconnectDelayMs(times) });
  }
  connection.on('error', () => {
    /* each failing command reports itself; readiness shows an outage */
  });
  return connection;
}

type NodeRedisSocket = NonNullable<RedisClientOptions['socket']>;
/** What @keyv/redis connects to: client, cluster or sentinel options. */
type KeyvRedisConnect = Exclude<ConstructorParameters<typeof KeyvRedis>[0], string | undefined>;

/**
 * The same policy for node-redis, as @keyv/redis takes it: the offline queue off (a
 * command while disconnected fails at once), the connect timeout, backoff and TLS.
 */
export function keyvRedisOptions(policy: RedisPolicy): KeyvRedisConnect {
  const socket = {
    connectTimeout: policy.connectTimeoutMs,
    reconnectStrategy: (retries: number) => policy.reconnectDelayMs(retries + 1),
    ...(policy.tls ? { tls: true as const, rejectUnauthorized: policy.tls.rejectUnauthorized, ca: policy.tls.ca } : {}),
  } as NodeRedisSocket;
  const auth = { username: policy.username, password: policy.password };
  if (policy.topology === 'cluster') {
    const scheme = policy.tls ? 'rediss' : 'redis';
    return { rootNodes: policy.nodes.map((n) => ({ url: `${scheme}://${n.host}:${n.port}` })), defaults: { ...auth, socket, disableOfflineQueue: true } };
  }
  if (policy.topology === 'sentinel') {
    return {
      name: policy.sentinelMaster,
      sentinelRootNodes: [...policy.nodes],
      nodeClientOptions: { ...auth, database: policy.db, socket, disableOfflineQueue: true },
    };
  }
  const [node] = policy.nodes;
  return { ...auth, database: policy.db, disableOfflineQueue: true, socket: { ...socket, host: node?.host, port: node?.port } as NodeRedisSocket };
}

/** Where the policy connects, for error messages (never the password). */
export function describeRedis(policy: RedisPolicy): string {
  const nodes = policy.nodes.map((n) => `${n.host}:${n.port}`).join(', ');
  if (policy.topology === 'sentinel') return `master "${policy.sentinelMaster}" via sentinels ${nodes}`;
  return policy.topology === 'cluster' ? `cluster ${nodes}` : nodes;
}
