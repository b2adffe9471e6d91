import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { PageDiscovery } from '../../src/jobs/discovery/discover-pages.js';
import { parseSitemap } from '../../src/jobs/discovery/sitemap.js';
import { createLogger } from '../../src/observability/logger.js';
import { EgressProxy } from '../../src/render/egress/egress-proxy.js';
import { toSite } from '../../src/sites/site.js';

/** The config's defaults of discovery: it reads at most maxDocumentBytes (50 MiB) per document. */
const limits = parseConfig({}).refresh.discovery;
/** The bomb inflates past maxDocumentBytes (64 MiB). */
const BOMB_BYTES = limits.maxDocumentBytes + 14 * 1024 * 1024;

let server: http.Server;
let origin: string;
let bomb: Buffer;
const egress = new EgressProxy({ logger: createLogger('silent') });
const discovery = new PageDiscovery(egress, { ...limits, maxPages: 1000, userAgent: 'rendercache', timeoutMs: 10_000 });
const siteWith = (sitemap: string) => toSite(parseConfig({ sites: [{ id: 's', name: 'S', origin, pages: { sitemap } }] }).sites[0]!);

beforeAll(async () => {
  // A well-formed sitemap with one page, padded with whitespace: ~64 KB on the wire.
  const head = Buffer.from('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>PAGE</loc></url>');
  server = http.createServer((req, res) => {
    if (req.url === '/bomb.xml.gz') {
      res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': bomb.length });
      res.end(bomb);
    } else if (req.url === '/index.xml') {
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end(
        `<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>${origin}/bomb.xml.gz</loc></sitemap></sitemapindex>`,
      );
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const padded = Buffer.alloc(BOMB_BYTES, 0x20);
  head.copy(padded);
  Buffer.from(`${origin}/p</loc></url>`).copy(padded, head.indexOf('PAGE'));
  Buffer.from('</urlset>').copy(padded, BOMB_BYTES - '</urlset>'.length);
  bomb = gzipSync(padded, { level: 9 });
  expect(bomb.length).toBeLessThan(200_000);
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await egress.close();
});

describe('gzip-compressed sitemaps', () => {
  it('stops inflating at the size limit', () => {
    const small = gzipSync('<urlset><url><loc>https://a.example/x</loc></url></urlset>');
    expect(parseSitemap(small, 1024).pages).toEqual([{ loc: 'https://a.example/x' }]);
    // <lastmod> in W3C datetime is read; one that does not parse is left out.
    const dated = Buffer.from(
      '<urlset><url><loc>https://a.example/a</loc><lastmod>2026-11-30T10:00:00+00:00</lastmod></url><url><loc>https://a.example/b</loc><lastmod>soon</lastmod></url></urlset>',
    );
    expect(parseSitemap(dated, 1024).pages).toEqual([
      { loc: 'https://a.example/a', lastmod: Date.parse('2026-11-30T10:00:00Z') },
      { loc: 'https://a.example/b' },
    ]);
    expect(() => parseSitemap(gzipSync(Buffer.alloc(4096, 0x20)), 1024)).toThrow(/larger than 1024 bytes/);
  });

  it('refuses a gzip bomb served as the sitemap, and as the child of an index', async () => {
    for (const path of ['/bomb.xml.gz', '/index.xml']) {
      await expect(discovery.discover(siteWith(path))).rejects.toThrow(/bomb\.xml\.gz.*larger than \d+ bytes/);
    }
  });
});
