import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { keyvRedisOptions, redisPolicy, slotTag } from '../../src/redis/redis-connection.js';

const policyOf = (redis: Record<string, unknown>) => redisPolicy(parseConfig({ backend: 'redis', redis }).redis);

describe('the backend setting', () => {
  it('is one explicit value: embedded unless set, redis with REDIS_URL', () => {
    expect(parseConfig({}).backend).toBe('embedded');
    expect(parseConfig({}, { REDIS_URL: 'rediss://u:p@cache.internal:6380/2' })).toMatchObject({
      backend: 'redis',
      redis: { url: 'rediss://u:p@cache.internal:6380/2' },
    });
    expect(() => parseConfig({ backend: 'memcached' })).toThrow(/backend: Invalid option: expected one of "embedded"\|"redis"/);
  });

  it('names what replaced cache.store, instead of taking any string for Redis', () => {
    expect(() => parseConfig({ cache: { store: 'redis://x:6379' } })).toThrow(ConfigError);
    expect(() => parseConfig({ cache: { store: 'embedded' } })).toThrow(/cache\.store was replaced by "backend".*backend: redis and redis\.url/);
  });

  it('rejects a role that needs Redis on the embedded backend, and Redis settings that cannot work', () => {
    expect(() => parseConfig({ cluster: { role: 'worker' } })).toThrow(/cluster\.role: role "worker" needs backend "redis"/);
    expect(() => parseConfig({ redis: { url: 'http://x' } })).toThrow(/redis\.url: must be a redis:\/\/ or rediss:\/\/ URL/);
    expect(() => parseConfig({ redis: { seeds: ['10.0.0.2'] } })).toThrow(/redis\.seeds\[0\]: must be host:port/);
    expect(() => parseConfig({ redis: { topology: 'ring' } })).toThrow(/redis\.topology/);
    expect(() => parseConfig({ redis: { reconnectMinDelayMs: 5000, reconnectMaxDelayMs: 1000 } })).toThrow(/redis\.reconnectMinDelayMs: must not exceed/);
  });
});

describe('the Redis connection policy', () => {
  it('reads user, password, db and TLS from the url once, and the seeds after the url node', () => {
    const policy = policyOf({ url: 'rediss://app:s%40cret@r1.internal:6380/3', topology: 'cluster', seeds: ['r2.internal:6381', '[::1]:6382'] });
    expect(policy).toMatchObject({
      topology: 'cluster',
      username: 'app',
      password: 's@cret',
      db: 3,
      tls: { rejectUnauthorized: true, ca: undefined },
      nodes: [
        { host: 'r1.internal', port: 6380 },
        { host: 'r2.internal', port: 6381 },
        { host: '::1', port: 6382 },
      ],
    });
    expect(policyOf({ url: 'redis://localhost' })).toMatchObject({ tls: undefined, db: 0, nodes: [{ host: 'localhost', port: 6379 }] });
  });

  it('backs off from the minimum, doubling, up to the maximum', () => {
    const policy = policyOf({ reconnectMinDelayMs: 100, reconnectMaxDelayMs: 1000 });
    expect([1, 2, 3, 4, 5, 50].map((attempt) => policy.reconnectDelayMs(attempt))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('gives node-redis (the page cache) the same servers, credentials, TLS and timeouts, the offline queue off', () => {
    const cluster = keyvRedisOptions(policyOf({ url: 'rediss://app:pw@r1:7000', topology: 'cluster', seeds: ['r2:7001'], connectTimeoutMs: 1500 }));
    expect(cluster).toMatchObject({
      rootNodes: [{ url: 'rediss://r1:7000' }, { url: 'rediss://r2:7001' }],
      defaults: { username: 'app', password: 'pw', disableOfflineQueue: true, socket: { tls: true, connectTimeout: 1500, rejectUnauthorized: true } },
    });
    const sentinel = keyvRedisOptions(policyOf({ url: 'redis://s1:26379/2', topology: 'sentinel', sentinelMaster: 'cache' }));
    expect(sentinel).toMatchObject({
      name: 'cache',
      sentinelRootNodes: [{ host: 's1', port: 26379 }],
      nodeClientOptions: { database: 2, disableOfflineQueue: true },
    });
    const single = keyvRedisOptions(policyOf({ url: 'redis://r1:6390/1' }));
    expect(single).toMatchObject({ database: 1, disableOfflineQueue: true, socket: { host: 'r1', port: 6390 } });
  });

  it('says which file is wrong when the TLS CA cannot be read', () => {
    expect(() => policyOf({ url: 'rediss://r1', tlsCaFile: '/nonexistent/ca.pem' })).toThrow(
      /redis\.tlsCaFile \/nonexistent\/ca\.pem cannot be read \(ENOENT\)/,
    );
  });

  it('tags every key of a part with one hash slot', () => {
    expect(slotTag('rc', 'bull')).toBe('{rc:bull}');
  });
});
