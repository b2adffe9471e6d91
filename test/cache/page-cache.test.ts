import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { HotTier } from '../../src/cache/hot-tier.js';
import { PageCache } from '../../src/cache/page-cache.js';
import { createKeyvStore } from '../../src/cache/store.js';
import { createLogger } from '../../src/observability/logger.js';
import { REDIS_URL, tempDir, uniqueNamespace } from '../helpers/service.js';

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

function openCache(store: string, dir: string, namespace: string, logger = createLogger('silent')) {
  return new PageCache(
    createKeyvStore({ store, dir, namespace, commandTimeoutMs: 300 }),
    new HotTier(1 << 20),
    { commandTimeoutMs: 300, staleAfterMs: 60_000 },
    logger,
  );
}

describe.each(['embedded', REDIS_URL])('PageCache on %s', (store) => {
  it('keeps status, headers, HTML and provenance, and survives a restart of the process', async () => {
    const dir = tempDir();
    const ns = uniqueNamespace('pc');
    const first = openCache(store, dir, ns);
    await first.put('http://a.test/p', page('<html><body><p>hello</p></body></html>'));
    await first.close();
    const second = openCache(store, dir, ns);
    const entry = await second.get('http://a.test/p');
    expect(entry?.identity.toString()).toContain('<p>hello</p>');
    expect(entry?.stored).toMatchObject({ status: 200, headers: { 'x-robots-tag': 'noindex' }, renderTimeMs: 12, source: { trigger: 'api', jobId: 'j1' } });
    expect(entry?.stored.bytes).toBe(Buffer.byteLength('<html><body><p>hello</p></body></html>'));
    expect(entry?.gzip.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    await second.close();
  });

  it('records a failure beside the entry without touching it', async () => {
    const cache = openCache(store, tempDir(), uniqueNamespace('pc'));
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
    const cache = openCache(REDIS_URL, tempDir(), ns);
    await cache.connect();
    const urls = Array.from({ length: 12 }, (_, i) => `http://a.test/first/${i}`);
    const results = await Promise.all(urls.map((url) => cache.put(url, { ...page(`<html><body>${url}</body></html>`), url })));
    expect(results.map((r) => r.writeError)).toEqual(urls.map(() => null));
    await cache.close();
    // Durable: another process reads every one from the store.
    const other = openCache(REDIS_URL, tempDir(), ns);
    for (const url of urls) expect((await other.get(url))?.identity.toString()).toContain(url);
    await other.close();
  });

  it('refuses to connect to a store that does not answer', async () => {
    const cache = openCache('redis://127.0.0.1:1', tempDir(), uniqueNamespace('dead'));
    await expect(cache.connect()).rejects.toThrow();
    await cache.close();
  });
});

describe('a store that is down', () => {
  it('reads as a miss with a logged error, quickly, and writes never throw', async () => {
    const { logger, lines } = capturingLogger();
    const cache = openCache('redis://127.0.0.1:1', tempDir(), uniqueNamespace('dead'), logger);
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
    const dir = tempDir();
    const ns = uniqueNamespace('bad');
    const store = createKeyvStore({ store: 'embedded', dir, namespace: ns, commandTimeoutMs: 300 });
    await store.set('page:http://a.test/bad', { v: 1, url: 42 });
    const cache = new PageCache(store, new HotTier(1 << 20), { commandTimeoutMs: 300, staleAfterMs: 60_000 }, createLogger('silent'));
    expect(await cache.get('http://a.test/bad')).toBeUndefined();
    await cache.close();
  });
});
