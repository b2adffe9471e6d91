import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { HotTier } from '../../src/cache/hot-tier.js';
import { toServable, toStoredEntry } from '../../src/cache/entry.js';
import { variantKey } from '../../src/cache/key.js';
import { PageCache } from '../../src/cache/page-cache.js';
import { siteScope, type PurgeMatch } from '../../src/cache/purge-match.js';
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

function openCache(keyv: Keyv, logger = createLogger('silent'), hot = new HotTier(1 << 20)) {
  return new PageCache(keyv, hot, { commandTimeoutMs: COMMAND_TIMEOUT_MS, staleAfterMs: 60_000 }, logger);
}

/** A purge of https://a.test's pages (the only site, at /) whose URLs the glob pieces match. */
const purgeOf = (...parts: string[]): PurgeMatch => ({ scope: siteScope({ origin: 'https://a.test', basePath: '/' }, []), parts });
/** A URL longer than 512 characters: its store keys are digests, the URL only in the value. */
const longUrl = (path: string) => `https://a.test/${path}/${'x'.repeat(600)}`;

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

describe.each(storeBackends())('PageCache purge on the $name backend', (backend) => {
  it('removes every variant of every matching URL, long ones and failure records too, in batches, and keeps the rest', async () => {
    const hot = new HotTier(64 << 20);
    const where = { dir: tempDir(), namespace: uniqueNamespace('purge') };
    const cache = openCache(backend.openKeyv('purge', where), createLogger('silent'), hot);
    await cache.connect();
    const put = async (url: string, variant = 'desktop') => {
      const { writeError } = await cache.put(variantKey(url, variant), { ...page(`<p>${url} ${variant}</p>`), url });
      expect(writeError).toBeNull();
    };
    // More than one scan batch (500) of matching keys, and keys that stay around them.
    const many = Array.from({ length: 1100 }, (_, i) => `https://a.test/blog/${i}`);
    const kept = Array.from({ length: 150 }, (_, i) => `https://a.test/blogroll/${i}`);
    for (let at = 0; at < many.length; at += 100) await Promise.all(many.slice(at, at + 100).map((url) => put(url)));
    await Promise.all(kept.map((url) => put(url)));
    await put('https://a.test/blog/0', 'mobile');
    await put(longUrl('blog'));
    await put(longUrl('blog'), 'mobile');
    await put(longUrl('news'));
    await put('https://a.test/news/1');
    await put('https://a.test/news/1', 'mobile');
    // Failure records: beside an entry, alone, of a long URL's variant, and one that stays.
    await cache.recordFailure('https://a.test/blog/1', { kind: 'timeout', detail: 'slow' });
    await cache.recordFailure('https://a.test/blog/failed-only', { kind: 'http', detail: '500' });
    await cache.recordFailure(variantKey(longUrl('blog'), 'mobile'), { kind: 'timeout', detail: 'slow' });
    await cache.recordFailure('https://a.test/news/1', { kind: 'timeout', detail: 'slow' });
    // An entry only in this instance's memory (its store write failed, say).
    hot.set('https://a.test/blog/memory-only#tablet', toServable(toStoredEntry({ ...page('<p>memory</p>'), url: 'https://a.test/blog/memory-only' })));
    const told: PurgeMatch[] = [];
    cache.onPurge((match) => told.push(match));

    const match = purgeOf('https://a.test/blog/', '');
    // 1100 + /blog/0#mobile + the long URL's two variants.
    expect(await cache.purge(match)).toBe(1103);
    expect(told).toEqual([match]);

    // Gone from memory and from the store (another instance over the same store reads nothing).
    const other = openCache(backend.openKeyv('purge', where));
    for (const key of [many[0], variantKey(many[0] ?? '', 'mobile'), many[1099], longUrl('blog'), variantKey(longUrl('blog'), 'mobile')]) {
      expect(cache.peek(key ?? ''), key).toBeUndefined();
      expect(await cache.get(key ?? ''), key).toBeUndefined();
      expect(await other.get(key ?? ''), key).toBeUndefined();
    }
    await other.close();
    expect(cache.peek('https://a.test/blog/memory-only#tablet')).toBeUndefined();
    for (const key of ['https://a.test/blog/1', 'https://a.test/blog/failed-only', variantKey(longUrl('blog'), 'mobile')]) {
      expect(await cache.lastFailure(key), key).toBeUndefined();
    }
    // What the glob does not name stays, with its failure record.
    for (const key of [kept[0], kept[149], longUrl('news'), 'https://a.test/news/1', variantKey('https://a.test/news/1', 'mobile')]) {
      expect((await cache.get(key ?? ''))?.identity.toString(), key).toContain('<p>');
    }
    expect((await cache.lastFailure('https://a.test/news/1'))?.kind).toBe('timeout');

    // One URL exactly: every variant of it, not the URLs it is a prefix of.
    await put('https://a.test/p');
    await put('https://a.test/p', 'mobile');
    await put('https://a.test/p2');
    expect(await cache.purge(purgeOf('https://a.test/p'))).toBe(2);
    expect(await cache.get('https://a.test/p#mobile')).toBeUndefined();
    expect(await cache.get('https://a.test/p2')).toBeDefined();
    await cache.close();
  });
});

describe('a purge while the store is down', () => {
  it('still drops the hot copies and tells the other instances, then fails', async () => {
    const cache = openCache(DEAD_REDIS.openKeyv('dead'));
    await cache.put('https://a.test/blog/1', { ...page('<p>x</p>'), url: 'https://a.test/blog/1' });
    expect(cache.peek('https://a.test/blog/1')).toBeDefined();
    const told: PurgeMatch[] = [];
    cache.onPurge((match) => told.push(match));
    await expect(cache.purge(purgeOf('https://a.test/blog/', ''))).rejects.toThrow();
    expect(cache.peek('https://a.test/blog/1')).toBeUndefined();
    expect(told).toHaveLength(1);
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
