import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.js';
import { freePort } from '../helpers/free-port.js';
import { startTestService, tempDir } from '../helpers/service.js';
import { BROWSER, CRAWLER_DEVICE, CRAWLERS, GOOGLEBOT, type CrawlerName } from './crawlers.js';
import { startFailingServer, closeServer } from './support.js';

export { BROWSER, CRAWLER_DEVICE, CRAWLERS, GOOGLEBOT, type CrawlerName };

/**
 * The suite every proxy-style edge runs (integrations/nginx, integrations/apache,
 * integrations/cloudflare), once per edge, against a real rendercache and a real app: the
 * edge's own test file says how to start it (`EdgeUnderTest`) and calls `edgeSuite`.
 * Lookups are counted from rendercache's own metrics (`rendercache_lookups_total`).
 */

/** The sites of rendercache in every edge suite: one site, whose origin is the one page URLs name. The one place to change them. */
export function edgeSites(origin: string): Record<string, unknown>[] {
  return [{ id: 'shop', name: 'Shop', origin, variants: ['desktop', 'mobile'] }];
}

export const SHELL_MARKER = 'app-shell-loading';
export const RENDERED_MARKER = 'filled-by-script';

/**
 * The app behind the edge: a client-rendered shell whose script fills #app from
 * /api/content.json, static assets, a 301 to /target (on the Host it was asked for) and a
 * count of hits per path.
 */
export interface TestApp {
  origin: string;
  port: number;
  hits: Map<string, number>;
  close(): Promise<void>;
}

export async function startTestApp(): Promise<TestApp> {
  const hits = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://app');
    hits.set(url.pathname, (hits.get(url.pathname) ?? 0) + 1);
    if (url.pathname === '/api/content.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ text: RENDERED_MARKER }));
    }
    if (url.pathname === '/assets/app.js' || url.pathname === '/assets/logo.png' || url.pathname === '/sitemap.xml') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-served-by': 'app' });
      return res.end('asset');
    }
    if (url.pathname === '/moved') {
      res.writeHead(301, { location: `http://${req.headers.host}/target`, 'x-served-by': 'app' });
      return res.end();
    }
    const body =
      `<!doctype html><html><head><meta charset="utf-8"><title>App</title></head><body>` +
      `<div id="app">${SHELL_MARKER}</div><script>fetch('/api/content.json').then(function (r) { return r.json(); })` +
      `.then(function (d) { document.getElementById('app').innerHTML = '<h1 id="content">' + d.text + ' ' + location.pathname + '</h1>' +` +
      `'<p id="device">' + (screen.width < 600 ? 'mobile' : 'desktop') + '</p>'; });</script>` +
      `</body></html>`;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'x-served-by': 'app' });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The binary `name` on PATH or in /usr/sbin, /usr/local/sbin (not on every user's PATH); null when there is none. */
export function findBinary(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return null;
}

export interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A GET with exactly these headers (fetch() sets Host itself: this one may name another host). */
export function rawGet(url: string, headers: Record<string, string>): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, timeout: 30_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

export interface EdgeStartContext {
  /** Where the edge listens: 127.0.0.1:`port`. */
  port: number;
  /** rendercache's base URL, `http://127.0.0.1:{rendercachePort}`. */
  rendercacheUrl: string;
  rendercachePort: number;
  app: TestApp;
  /** A fresh folder of its own. */
  dir: string;
}

export interface RunningEdge {
  /** Where crawlers and browsers send their requests. */
  origin: string;
  /** What the edge logged (its error log). */
  log(): string;
  /** GET `path` through the edge as a request for a host of no configured site. */
  getForOtherHost(path: string, headers: Record<string, string>): Promise<RawAnswer>;
  stop(): Promise<void>;
}

export interface EdgeUnderTest {
  /** `nginx`, `Apache httpd`, … */
  name: string;
  /** The folder of the integration (integrations/…), for the suite's title. */
  kit: string;
  /** Why the suite cannot run here (the server is not installed …), or null. */
  skipReason: string | null;
  /** The origin of the page URLs the edge sends: the configured site's origin. */
  siteOrigin(context: { port: number; app: TestApp }): string;
  start(context: EdgeStartContext): Promise<RunningEdge>;
  /** Does the edge send `?_escaped_fragment_=` of any client to rendercache? */
  escapedFragment: boolean;
  /** What the edge logs when rendercache is down, when it logs it. */
  downLog?: RegExp;
}

/** The shared suite, for one edge. */
export function edgeSuite(edge: EdgeUnderTest): void {
  if (edge.skipReason) console.warn(`${edge.kit}: suite skipped: ${edge.skipReason}`);

  describe.skipIf(edge.skipReason !== null)(`${edge.name} in front of an app (${edge.kit}), against a real rendercache`, () => {
    let app: TestApp;
    let service: RunningService | undefined;
    let running: RunningEdge | undefined;
    let siteOrigin: string;

    beforeAll(async () => {
      app = await startTestApp();
      const port = await freePort();
      siteOrigin = edge.siteOrigin({ port, app });
      service = await startTestService({ sites: edgeSites(siteOrigin) });
      const rendercachePort = Number(new URL(service.url).port);
      running = await edge.start({ port, rendercacheUrl: service.url, rendercachePort, app, dir: tempDir('rendercache-edge-') });
    });

    afterAll(async () => {
      await running?.stop();
      await service?.stop();
      await app?.close();
    });

    const get = (path: string, userAgent: string, headers: Record<string, string> = {}, init: RequestInit = {}) =>
      fetch(`${running!.origin}${path}`, {
        redirect: 'manual',
        ...init,
        headers: { 'user-agent': userAgent, ...headers },
        signal: AbortSignal.timeout(30_000),
      });

    /** rendercache_lookups_total, all results together. */
    async function lookups(): Promise<number> {
      const text = await (await fetch(`${service!.url}/metrics`)).text();
      return text
        .split('\n')
        .filter((line) => line.startsWith('rendercache_lookups_total'))
        .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
    }

    it.each(Object.keys(CRAWLERS) as CrawlerName[])('%s gets the rendered page from rendercache', async (name) => {
      const userAgent = CRAWLERS[name];
      const path = `/products/${name.replace(/\W/g, '-').toLowerCase()}?ref=1`;
      const before = await lookups();
      const res = await get(path, userAgent);
      const html = await res.text();
      expect(res.status).toBe(200);
      expect(res.headers.get('x-rendercache-cache')).toMatch(/^(hit|miss|stale)$/);
      expect(html).toContain(`${RENDERED_MARKER} ${path.split('?')[0]}`);
      expect(html).not.toContain(SHELL_MARKER);
      expect(await lookups()).toBe(before + 1);
      // The crawler's User-Agent went through the edge: Googlebot Smartphone got the phone's render.
      expect(html).toContain(`<p id="device">${CRAWLER_DEVICE[name]}</p>`);
    });

    it('HEAD from a crawler gets the rendered status and headers, no body', async () => {
      await (await get('/products/head', GOOGLEBOT)).arrayBuffer();
      const res = await get('/products/head', GOOGLEBOT, {}, { method: 'HEAD' });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-rendercache-cache')).toBe('hit');
      expect(await res.text()).toBe('');
    });

    it('a browser gets the app untouched', async () => {
      const before = await lookups();
      const res = await get('/products/for-humans', BROWSER);
      const html = await res.text();
      expect(res.status).toBe(200);
      expect(res.headers.get('x-served-by')).toBe('app');
      expect(res.headers.get('x-rendercache-cache')).toBeNull();
      expect(html).toContain(SHELL_MARKER);
      expect(html).not.toContain(`${RENDERED_MARKER} `);
      expect(app.hits.get('/products/for-humans')).toBe(1);
      expect(await lookups()).toBe(before);
    });

    it('static files and non-GET requests of a crawler never reach rendercache', async () => {
      const before = await lookups();
      for (const path of ['/assets/app.js', '/assets/logo.png', '/sitemap.xml', '/assets/APP.JS?v=3']) {
        const res = await get(path, GOOGLEBOT);
        await res.arrayBuffer();
        expect(res.headers.get('x-rendercache-cache'), path).toBeNull();
      }
      const posted = await get('/products/form', GOOGLEBOT, { 'content-type': 'text/plain' }, { method: 'POST', body: 'x' });
      expect(await posted.text()).toContain(SHELL_MARKER);
      expect(posted.headers.get('x-served-by')).toBe('app');
      expect(await lookups()).toBe(before);
    });

    it('a 301 reaches the crawler as 301 with its Location', async () => {
      const res = await get('/moved', GOOGLEBOT);
      await res.arrayBuffer();
      expect(res.status).toBe(301);
      expect(res.headers.get('x-rendercache-cache')).toMatch(/^(hit|miss|stale)$/);
      expect(new URL(res.headers.get('location')!, running!.origin).href).toBe(`${siteOrigin}/target`);
      // Cached by rendercache: the next crawler gets the same 301 from the cache.
      const again = await get('/moved', CRAWLERS.Bingbot);
      await again.arrayBuffer();
      expect(again.status).toBe(301);
      expect(again.headers.get('x-rendercache-cache')).toBe('hit');
      expect(new URL(again.headers.get('location')!, running!.origin).href).toBe(`${siteOrigin}/target`);
    });

    it('a request that carries X-Prerender goes to the app (loop guard)', async () => {
      const before = await lookups();
      const hitsBefore = app.hits.get('/products/loop') ?? 0;
      const res = await get('/products/loop', GOOGLEBOT, { 'x-prerender': '1' });
      expect(await res.text()).toContain(SHELL_MARKER);
      expect(res.headers.get('x-served-by')).toBe('app');
      expect(res.headers.get('x-rendercache-cache')).toBeNull();
      expect(app.hits.get('/products/loop')).toBe(hitsBefore + 1);
      expect(await lookups()).toBe(before);
    });

    it.runIf(edge.escapedFragment)('_escaped_fragment_ sends any client to rendercache', async () => {
      const before = await lookups();
      const res = await get('/products/fragment?_escaped_fragment_=', BROWSER);
      const html = await res.text();
      expect(res.headers.get('x-rendercache-cache')).toMatch(/^(hit|miss|stale)$/);
      expect(html).toContain(`${RENDERED_MARKER} /products/fragment`);
      expect(await lookups()).toBe(before + 1);
    });

    it('a URL of no configured site falls back to the app (rendercache answers 404)', async () => {
      // What the edge asks rendercache for: a 404 (no configured site).
      const direct = await fetch(`${service!.url}/http://unknown.example/products/other-host`, { headers: { 'user-agent': GOOGLEBOT } });
      await direct.arrayBuffer();
      expect(direct.status).toBe(404);
      const res = await running!.getForOtherHost('/products/other-host', { 'user-agent': GOOGLEBOT });
      expect(res.status).toBe(200);
      expect(res.headers['x-served-by']).toBe('app');
      expect(res.headers['x-rendercache-cache']).toBeUndefined();
      expect(res.body).toContain(SHELL_MARKER);
    });

    it('a 5xx of rendercache: the crawler gets the app (fail open)', async () => {
      const failing = await startFailingServer();
      const port = await freePort();
      const second = await edge.start({
        port,
        rendercacheUrl: failing.url,
        rendercachePort: Number(new URL(failing.url).port),
        app,
        dir: tempDir('rendercache-edge-'),
      });
      try {
        const res = await fetch(`${second.origin}/products/failing`, { headers: { 'user-agent': GOOGLEBOT }, redirect: 'manual' });
        const html = await res.text();
        expect(failing.requests).toHaveLength(1);
        expect(res.status).toBe(200);
        expect(res.headers.get('x-served-by')).toBe('app');
        expect(html).toContain(SHELL_MARKER);
      } finally {
        await second.stop();
        await closeServer(failing.server);
      }
    });

    it('with rendercache down, crawlers get the app within seconds (fail open)', async () => {
      await service!.stop();
      service = undefined;
      for (const userAgent of [GOOGLEBOT, CRAWLERS.GPTBot, CRAWLERS.facebookexternalhit]) {
        const started = Date.now();
        const res = await get('/products/while-down', userAgent);
        const html = await res.text();
        expect(res.status).toBe(200);
        expect(res.headers.get('x-served-by')).toBe('app');
        expect(html).toContain(SHELL_MARKER);
        expect(Date.now() - started).toBeLessThan(3000);
      }
      if (edge.downLog) expect(running!.log()).toMatch(edge.downLog);
    });
  });
}
