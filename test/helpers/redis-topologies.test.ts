import net from 'node:net';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedisCluster, type TestRedisCluster } from './redis-cluster.js';
import { startTestRedisSentinel, type TestRedisSentinel } from './redis-sentinel.js';

/** Does 127.0.0.1:port refuse connections (nothing listens)? */
function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setTimeout(1_000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

describe('startTestRedisCluster', () => {
  let cluster: TestRedisCluster;
  let client: Cluster;

  beforeAll(async () => {
    cluster = await startTestRedisCluster();
    client = new Cluster([{ ...cluster.nodes[0]! }], { lazyConnect: true });
    await client.connect();
  });

  afterAll(async () => {
    client?.disconnect();
    await cluster?.close();
  });

  it('is 3 masters on 127.0.0.1, the URL naming the first', () => {
    expect(cluster.nodes).toHaveLength(3);
    expect(new Set(cluster.nodes.map((node) => node.port)).size).toBe(3);
    for (const node of cluster.nodes) expect(node.host).toBe('127.0.0.1');
    expect(cluster.url).toBe(`redis://127.0.0.1:${cluster.nodes[0]!.port}`);
  });

  it('stores 100 keys spread over the slots of all 3 masters, each key on the master that owns its slot', async () => {
    const keys = Array.from({ length: 100 }, (_, i) => `key:${i}`);
    for (const key of keys) await client.set(key, `value of ${key}`);
    for (const key of keys) expect(await client.get(key)).toBe(`value of ${key}`);

    let total = 0;
    for (const { host, port } of cluster.nodes) {
      const node = new Redis({ host, port, lazyConnect: true });
      try {
        await node.connect();
        const owned = (await node.cluster('SLOTS')).filter(([, , master]) => master?.[1] === port).map(([from, to]) => [from, to] as const);
        const here = await node.keys('key:*');
        expect(here.length, `keys on master ${port}`).toBeGreaterThan(0);
        for (const key of here) {
          const slot = await node.cluster('KEYSLOT', key);
          expect(
            owned.some(([from, to]) => slot >= from && slot <= to),
            `${key} (slot ${slot}) on ${port}`,
          ).toBe(true);
        }
        total += here.length;
      } finally {
        node.disconnect();
      }
    }
    expect(total).toBe(100);
  });

  it('runs a MULTI over two keys of one hash tag; two keys of different slots give CROSSSLOT', async () => {
    expect(await client.multi().set('{t}a', '1').set('{t}b', '2').exec()).toEqual([
      [null, 'OK'],
      [null, 'OK'],
    ]);
    expect(await client.mget('{t}a', '{t}b')).toEqual(['1', '2']);

    expect(await client.cluster('KEYSLOT', 'a')).not.toBe(await client.cluster('KEYSLOT', 'b'));
    // The server's answer to a command over two slots, as a plain command and inside a MULTI
    // (queued with an error, so EXEC aborts). ioredis' own Cluster.multi() refuses such keys
    // before sending anything.
    await expect(client.mset('a', '1', 'b', '2')).rejects.toThrow(/^CROSSSLOT/);
    const node = new Redis({ ...cluster.nodes[0]!, lazyConnect: true });
    try {
      await node.connect();
      const failure = (await node
        .multi()
        .mset('a', '1', 'b', '2')
        .exec()
        .catch((err: unknown) => err)) as Error & { previousErrors?: Error[] };
      expect(failure).toBeInstanceOf(Error);
      expect(failure.message).toMatch(/^EXECABORT/);
      expect(failure.previousErrors?.map((err) => err.message)).toEqual([expect.stringMatching(/^CROSSSLOT/)]);
    } finally {
      node.disconnect();
    }
  });

  it('close() kills every node: their ports and bus ports refuse connections', async () => {
    client.disconnect();
    await cluster.close();
    for (const { port } of cluster.nodes) {
      expect(await refuses(port), `port ${port}`).toBe(true);
      expect(await refuses(port + 10_000), `bus port ${port + 10_000}`).toBe(true);
    }
  });
});

describe('startTestRedisSentinel', () => {
  let sentinel: TestRedisSentinel;

  beforeAll(async () => {
    sentinel = await startTestRedisSentinel();
  });

  afterAll(async () => {
    await sentinel?.close();
  });

  it('serves SET / GET through the sentinel, on the master it names', async () => {
    expect(sentinel.sentinels).toHaveLength(1);
    const client = new Redis({ sentinels: [...sentinel.sentinels], name: sentinel.masterName, lazyConnect: true });
    try {
      await client.connect();
      expect(await client.set('sentinel-key', 'sentinel-value')).toBe('OK');
      expect(await client.get('sentinel-key')).toBe('sentinel-value');
      expect(await client.config('GET', 'port')).toEqual(['port', String(sentinel.master.port)]);
    } finally {
      client.disconnect();
    }
  });

  it('close() kills the master and the sentinel: their ports refuse connections', async () => {
    await sentinel.close();
    for (const { port } of [sentinel.master, ...sentinel.sentinels]) expect(await refuses(port), `port ${port}`).toBe(true);
  });
});
