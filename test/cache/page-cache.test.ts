import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { HotTier } from '../../src/cache/hot-tier.js';
import { PageCache } from '../../src/cache/page-cache.js';
import type Keyv from 'keyv';
import { createLogger } from '../../src/observability/logger.js';
import { EMBEDDED, REDIS, redisBackend, storeBackends } from '../helpers/backends.js';
import { tempDir, uniqueNamespace } from '../helpers/service.js';

function capturingLogger() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger('info', sink), lines };
}

const page = (html: string) => ({
  url: 'http://a.test/p',
  status: 200,
  headers: { 'x-robots-tag': 'noindex' },
  html,
  renderTimeMs: 12,
  source: { trigger: 'api' as const, jobId: 'j1' },
});

const COMMAND_TIMEOUT_MS = 300;

function openCache(keyv: Keyv, logger = createLogger('silent')) {
  return new PageCache(keyv, new HotTier(1 << 20), { commandTimeoutMs: COMMAND_TIMEOUT_MS, staleAfterMs: 60_000 }, logger);
}

/** A Redis that is not there: nothing listens on port 1. */
const DEAD_REDIS = redisBackend('redis://127.0.0.1:1');

describe.each(storeBackends())('PageCache on the $name backend', (backend) => {
  it('keeps status, headers, HTML and provenance, and survives a restart of the process', async () => {
    const dir = tempDir();
    const ns = uniqueNamespace('pc');
    const first = openCache(backend.openKeyv('pc', { dir, namespace: ns }));
    await first.put('http://a.test/p', page('<html><body><p>hello</p></body></html>'));
    await first.close();
    const second = openCache(backend.openKeyv('pc', { dir, namespace: ns }));
    const entry = await second.get('http://a.test/p');
    expect(entry?.identity.toString()).toContain('<p>hello</p>');
    expect(entry?.stored).toMatchObject({ status: 200, headers: { 'x-robots-tag': 'noindex' }, renderTimeMs: 12, source: { trigger: 'api', jobId: 'j1' } });
    expect(entry?.stored.bytes).toBe(Buffer.byteLength('<html><body><p>hello</p></body></html>'));
    expect(entry?.gzip.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    await second.close();
  });

  it('records a failure beside the entry without touching it', async () => {
    const cache = openCache(backend.openKeyv('pc'));
    await cache.put('http://a.test/p', page('<html><body>good</body></html>'));
    await cache.recordFailure('http://a.test/p', { kind: 'timeout', detail: 'slow' });
    const entry = await cache.get('http://a.test/p');
    expect(entry?.identity.toString()).toContain('good');
    expect(entry && cache.stateOf(entry)).toBe('stale');
    expect((await cache.lastFailure('http://a.test/p'))?.kind).toBe('timeout');
    await cache.close();
  });
});

describe('a fresh Redis store', () => {
  it('takes every one of its first writes once connected, even when they come at once', async () => {
    const ns = uniqueNamespace('fresh');
    const cache = openCache(REDIS.openKeyv('fresh', { namespace: ns }));
    await cache.connect();
    const urls = Array.from({ length: 12 }, (_, i) => `http://a.test/first/${i}`);
    const results = await Promise.all(urls.map((url) => cache.put(url, { ...page(`<html><body>${url}</body></html>`), url })));
    expect(results.map((r) => r.writeError)).toEqual(urls.map(() => null));
    await cache.close();
    // Durable: another process reads every one from the store.
    const other = openCache(REDIS.openKeyv('fresh', { namespace: ns }));
    for (const url of urls) expect((await other.get(url))?.identity.toString()).toContain(url);
    await other.close();
  });

  it('refuses to connect to a store that does not answer', async () => {
    const cache = openCache(DEAD_REDIS.openKeyv('dead'));
    await expect(cache.connect()).rejects.toThrow();
    await cache.close();
  });
});

describe('a store that is down', () => {
  it('reads as a miss with a logged error, quickly, and writes never throw', async () => {
    const { logger, lines } = capturingLogger();
    const cache = openCache(DEAD_REDIS.openKeyv('dead'), logger);
    const started = Date.now();
    expect(await cache.get('http://a.test/p')).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(2000);
    const { entry, writeError } = await cache.put('http://a.test/p', page('<html><body>x</body></html>'));
    expect(entry.stored.status).toBe(200);
    // The caller learns the page is not durable (a refresh must not call it complete)…
    expect(writeError).toBeTruthy();
    // …and a lookup can still serve it from memory.
    expect(cache.peek('http://a.test/p')?.identity.toString()).toContain('x');
    expect(await cache.ping()).toBe(false);
    expect(lines.some((l) => l.includes('cache read failed'))).toBe(true);
    await cache.close();
  });
});

describe('a corrupted entry', () => {
  it('is ignored, never served', async () => {
    const store = EMBEDDED.openKeyv('bad');
    await store.set('page:http://a.test/bad', { v: 1, url: 42 });
    const cache = openCache(store);
    expect(await cache.get('http://a.test/bad')).toBeUndefined();
    await cache.close();
  });
});
