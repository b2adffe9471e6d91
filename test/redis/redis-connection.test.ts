import { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectStore, createKeyvStore } from '../../src/cache/store.js';
import { bullPrefix } from '../../src/engine/cluster/queues.js';
import { newJobRecord } from '../../src/jobs/refresh-service.js';
import { openBlockingConnection, openCommandConnection, type RedisPolicy } from '../../src/redis/redis-connection.js';
import { RedisStore } from '../../src/stores/redis-store.js';
import { freePort } from '../helpers/free-port.js';
import { REDIS_TOPOLOGIES, testRedisPolicy, type RedisTopology } from '../helpers/redis-backend.js';
import { startTestRedisSentinel } from '../helpers/redis-sentinel.js';
import { uniqueNamespace } from '../helpers/service.js';

/** Sentinel too: the one policy is proven on every topology it accepts (the long suites run on the first two). */
const SENTINEL: RedisTopology = {
  name: 'sentinel',
  async start() {
    const sentinel = await startTestRedisSentinel();
    const [first] = sentinel.sentinels;
    return {
      settings: { url: `redis://${first?.host}:${first?.port}`, topology: 'sentinel', sentinelMaster: sentinel.masterName },
      close: () => sentinel.close(),
    };
  },
};

describe.each([...REDIS_TOPOLOGIES, SENTINEL])('every connection from one policy, on a $name Redis', (topology) => {
  let policy: RedisPolicy;
  let close: () => Promise<void>;
  beforeAll(async () => {
    const running = await topology.start();
    policy = testRedisPolicy(running.settings);
    close = () => running.close();
  }, 60_000);
  afterAll(async () => close?.());

  it('the job store: its multi-key scripts and transactions run (one hash slot on a cluster)', async () => {
    const store = await RedisStore.open(policy, uniqueNamespace('conn-jobs'));
    try {
      const job = newJobRecord('s', 'refresh', { trigger: 'api', requestedBy: 'u' });
      await store.createJob(job);
      expect(
        await store.addPages(job.id, [
          { url: 'https://s.test/a', variant: 'desktop' },
          { url: 'https://s.test/b', variant: 'desktop' },
        ]),
      ).toBe(2);
      expect(await store.updatePage(job.id, 0, 'pending', { status: 'processing' })).toBe(true);
      expect(await store.updateJob(job.id, { progress: 'processing' }, ['pending'])).toBe(true);
      expect(await store.updateJob(job.id, { progress: 'succeeded' }, ['pending'])).toBe(false);
      expect((await store.listPages(job.id, { offset: 0, limit: 10, status: 'processing' })).total).toBe(1);
      expect((await store.unfinishedJobs()).map((j) => j.id)).toEqual([job.id]);
    } finally {
      await store.close();
    }
  });

  it("the page cache's Keyv (node-redis): set, get, delete", async () => {
    const keyv = createKeyvStore({ backend: 'redis', redis: policy }, uniqueNamespace('conn-pages'));
    try {
      await connectStore(keyv);
      const keys = Array.from({ length: 20 }, (_, i) => `https://s.test/page/${i}`);
      for (const key of keys) await keyv.set(key, { html: key });
      for (const key of keys) expect(await keyv.get(key)).toEqual({ html: key });
      await keyv.delete(keys[0]!);
      expect(await keyv.get(keys[0]!)).toBeUndefined();
    } finally {
      await keyv.disconnect();
    }
  });

  it("BullMQ: a job added on a request connection is run by a worker on a blocking one, under the engine's prefix", async () => {
    const prefix = bullPrefix(uniqueNamespace('conn-bull'));
    const producer = await openCommandConnection(policy);
    const queue = new Queue('render', { connection: producer, prefix });
    const worker = new Worker<{ n: number }, string>('render', (job) => Promise.resolve(`done:${job.data.n}`), {
      connection: openBlockingConnection(policy),
      prefix,
    });
    try {
      const finished = new Promise<string>((resolve) => worker.on('completed', (_job, result: string) => resolve(result)));
      await queue.add('lookup', { n: 7 });
      expect(await finished).toBe('done:7');
    } finally {
      await worker.close();
      await queue.close();
      await producer.quit();
    }
  });
});

describe('a Redis that does not answer', () => {
  it('fails a request connection at once, naming where it tried', async () => {
    const port = await freePort();
    const policy = testRedisPolicy({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 500 });
    await expect(openCommandConnection(policy)).rejects.toThrow(`cannot connect to Redis (127.0.0.1:${port})`);
  });
});
