import fs from 'node:fs';
import path from 'node:path';
import { freePort } from './free-port.js';
import { makeTempDir, redisCommand, removeTempDir, sleep, spawnRedisServer, type RedisProcess } from './redis-cluster.js';

/**
 * A real Redis Sentinel setup of the test's own: one master redis-server and one sentinel
 * monitoring it (quorum 1), on free ports on 127.0.0.1, files (the sentinel's config, which it
 * rewrites) in a temp dir, nothing persisted. Resolves once the sentinel names the master and
 * reports it as a plain, reachable master; close() kills both and removes the temp dir.
 */
export interface TestRedisSentinel {
  /** Sentinels as {host, port} */
  readonly sentinels: ReadonlyArray<{ host: string; port: number }>;
  /** The monitored master's name */
  readonly masterName: string;
  readonly master: { host: string; port: number };
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const MASTER_NAME = 'rendercache-test';
const READY_DEADLINE_MS = 15_000;

/** The fields of a SENTINEL MASTER reply (a flat name, value, name, value… array). */
function fields(reply: unknown): Map<string, string> {
  const map = new Map<string, string>();
  if (!Array.isArray(reply)) return map;
  for (let i = 0; i + 1 < reply.length; i += 2) map.set(String(reply[i]), String(reply[i + 1]));
  return map;
}

async function waitForSentinel(sentinelPort: number, masterPort: number): Promise<void> {
  const until = Date.now() + READY_DEADLINE_MS;
  let last = 'no answer yet';
  for (;;) {
    try {
      const addr = await redisCommand(sentinelPort, ['SENTINEL', 'get-master-addr-by-name', MASTER_NAME]);
      const master = fields(await redisCommand(sentinelPort, ['SENTINEL', 'master', MASTER_NAME]));
      const flags = master.get('flags');
      if (Array.isArray(addr) && addr[0] === HOST && addr[1] === String(masterPort) && flags === 'master') return;
      last = `get-master-addr-by-name ${JSON.stringify(addr)}, flags ${flags}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() >= until) {
      throw new Error(
        `sentinel on ${HOST}:${sentinelPort} did not report master ${MASTER_NAME} at ${HOST}:${masterPort} within ${READY_DEADLINE_MS / 1000} s; last: ${last}`,
      );
    }
    await sleep(50);
  }
}

export async function startTestRedisSentinel(): Promise<TestRedisSentinel> {
  const dir = makeTempDir('rendercache-redis-sentinel-');
  const processes: RedisProcess[] = [];
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= Promise.all(processes.map((p) => p.kill())).then(() => removeTempDir(dir));
    return closing;
  };
  try {
    const masterPort = await freePort();
    processes.push(await spawnRedisServer(masterPort, ['--port', String(masterPort), '--bind', HOST, '--dir', dir, '--save', '', '--appendonly', 'no']));
    const sentinelPort = await freePort();
    // The sentinel rewrites this file (its state): it must be writable, hence in the temp dir.
    const config = path.join(dir, 'sentinel.conf');
    fs.writeFileSync(
      config,
      [
        `port ${sentinelPort}`,
        `bind ${HOST}`,
        `dir ${dir}`,
        `sentinel monitor ${MASTER_NAME} ${HOST} ${masterPort} 1`,
        `sentinel down-after-milliseconds ${MASTER_NAME} 5000`,
        `sentinel failover-timeout ${MASTER_NAME} 10000`,
        '',
      ].join('\n'),
    );
    processes.push(await spawnRedisServer(sentinelPort, [config, '--sentinel']));
    await waitForSentinel(sentinelPort, masterPort);
    return {
      sentinels: [{ host: HOST, port: sentinelPort }],
      masterName: MASTER_NAME,
      master: { host: HOST, port: masterPort },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
