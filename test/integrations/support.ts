import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RendercacheMiddlewareOptions } from '../../src/integrations/fetch-render.js';
import type { RunningService } from '../../src/service.js';
import { freePort } from '../helpers/free-port.js';
import { startTestService } from '../helpers/service.js';
import { BROWSER, CRAWLER_DEVICE, CRAWLERS, type CrawlerName } from './crawlers.js';

/**
 * What the Koa and Express suites share: the site owner's app (the same routes in both
 * frameworks), the servers standing in for rendercache (a counting proxy in front of the real
 * service, one that never answers, one that fails), and the suite itself, run once per framework.
 */

/** The client-rendered shell: #app is filled by /static/app.js (as the fixture site's CSR pages). */
export const SHELL_HTML =
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>' +
  '<body><div id="app">Loading…</div><script src="/static/app.js"></script></body></html>';

export const APP_JS = `fetch('/api/product?path=' + encodeURIComponent(location.pathname))
  .then(function (r) { return r.json(); })
  .then(function (d) {
    document.getElementById('app').innerHTML = '<h1 id="rendered">' + d.name + '</h1>' +
      '<p id="device">' + (screen.width < 600 ? 'mobile' : 'desktop') + '</p>';
  });`;

/** What the page's script writes for a path: the proof that JavaScript ran. */
export const productName = (path: string) => `Product of ${path}`;

/**
 * The routes every framework's app serves (the test files write them in their framework):
 * GET /products/:id and / the shell; /static/app.js the script; /api/product the data;
 * /old a 301 to /products/1.
 */
export type StartApp = (options: RendercacheMiddlewareOptions) => Promise<http.Server>;

const GOOGLEBOT = CRAWLERS.Googlebot;
const HUMAN = BROWSER;

export const originOf = (server: http.Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

export async function listen(server: http.Server): Promise<http.Server> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return server;
}

export async function closeServer(server: http.Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A server standing in for rendercache that records every request it gets. */
export interface StandIn {
  url: string;
  requests: { url: string; headers: http.IncomingHttpHeaders }[];
  server: http.Server;
}

/** A proxy in front of the real service (set later with `target`): counts the lookups that reach it. */
export async function startCountingProxy(): Promise<StandIn & { target: string }> {
  const standIn = { url: '', requests: [] as StandIn['requests'], server: undefined as unknown as http.Server, target: '' };
  standIn.server = http.createServer((req, res) => {
    standIn.requests.push({ url: req.url ?? '', headers: req.headers });
    const upstream = http.request(`${standIn.target}${req.url ?? '/'}`, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await listen(standIn.server);
  standIn.url = originOf(standIn.server);
  return standIn;
}

/** A server that takes every request and never answers. */
export async function startHangingServer(): Promise<StandIn> {
  const requests: StandIn['requests'] = [];
  const server = await listen(http.createServer((req) => void requests.push({ url: req.url ?? '', headers: req.headers })));
  return { url: originOf(server), requests, server };
}

/** A server that answers every request with a 503 page (no X-Rendercache-Cache). */
export async function startFailingServer(): Promise<StandIn> {
  const requests: StandIn['requests'] = [];
  const server = await listen(
    http.createServer((req, res) => {
      requests.push({ url: req.url ?? '', headers: req.headers });
      res.writeHead(503, { 'content-type': 'text/html', 'x-rendercache-cache': 'miss' });
      res.end('<p>unavailable</p>');
    }),
  );
  return { url: originOf(server), requests, server };
}

const TOKEN = 'lookup-token-1';

/** The whole suite, for one framework's middleware. */
export function middlewareSuite(framework: string, startApp: StartApp): void {
  describe(`rendercache/${framework} in front of a real ${framework} app and a real rendercache`, () => {
    let proxy: Awaited<ReturnType<typeof startCountingProxy>>;
    let app: http.Server;
    let origin: string;
    let service: RunningService;
    const lookups = () => proxy.requests.length;
    const get = (path: string, headers: Record<string, string> = {}, base = origin) => fetch(`${base}${path}`, { headers, redirect: 'manual' });

    beforeAll(async () => {
      proxy = await startCountingProxy();
      app = await startApp({ serviceUrl: proxy.url, token: TOKEN });
      origin = originOf(app);
      service = await startTestService({ sites: [{ id: 'shop', name: 'Shop', origin, variants: ['desktop', 'mobile'] }] });
      proxy.target = service.url;
    });

    afterAll(async () => {
      await service?.stop();
      await closeServer(app);
      await closeServer(proxy?.server);
    });

    it.each(Object.keys(CRAWLERS) as CrawlerName[])(
      '%s gets the rendered page: the content the script writes (its variant), with X-Rendercache-Cache',
      async (name) => {
        const ua = CRAWLERS[name];
        const before = lookups();
        const res = await get('/products/7', { 'user-agent': ua });
        expect(res.status).toBe(200);
        expect(res.headers.get('x-rendercache-cache')).toMatch(/^(hit|miss|stale)$/);
        expect(res.headers.get('content-type')).toMatch(/text\/html/);
        expect(res.headers.get('vary')).toMatch(/User-Agent/i);
        const html = await res.text();
        expect(html).toContain('id="rendered"');
        expect(html).toContain(productName('/products/7'));
        // The crawler's User-Agent went with the lookup: Googlebot Smartphone got the phone's render.
        expect(html).toContain(`<p id="device">${CRAWLER_DEVICE[name]}</p>`);
        expect(lookups()).toBe(before + 1);
        const lookup = proxy.requests.at(-1);
        expect(new URL(lookup?.url ?? '', 'http://x').searchParams.get('url')).toBe(`${origin}/products/7`);
        // The crawler's User-Agent and the token go with the lookup.
        expect(lookup?.headers['user-agent']).toBe(ua);
        expect(lookup?.headers['x-rendercache-token']).toBe(TOKEN);
        expect(lookup?.headers['x-prerender-token']).toBe(TOKEN);
      },
    );

    it("a person's browser gets the app's shell untouched, and rendercache is not asked", async () => {
      const before = lookups();
      const res = await get('/products/7', { 'user-agent': HUMAN });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-rendercache-cache')).toBeNull();
      expect(await res.text()).toBe(SHELL_HTML);
      expect(lookups()).toBe(before);
    });

    it('static assets are never sent to the renderer, even for a crawler', async () => {
      const before = lookups();
      for (const path of ['/static/app.js', '/static/app.js?v=3', '/static/site.css', '/favicon.ico', '/static/logo.PNG', '/manifest.webmanifest']) {
        const res = await get(path, { 'user-agent': GOOGLEBOT });
        expect(res.headers.get('x-rendercache-cache'), path).toBeNull();
        if (path.startsWith('/static/app.js')) expect(await res.text()).toBe(APP_JS);
        else await res.arrayBuffer();
      }
      expect(lookups()).toBe(before);
    });

    it("an origin 301 reaches the crawler as a 301 with rendercache's Location", async () => {
      const res = await get('/old', { 'user-agent': GOOGLEBOT });
      expect(res.status).toBe(301);
      expect(res.headers.get('location')).toBe('/products/1');
      expect(res.headers.get('x-rendercache-cache')).toMatch(/^(hit|miss|stale)$/);
      const again = await get('/old', { 'user-agent': CRAWLERS.Bingbot });
      expect(again.status).toBe(301);
      expect(again.headers.get('x-rendercache-cache')).toBe('hit');
    });

    it('HEAD from a crawler gets the rendered status and headers, no body', async () => {
      const res = await fetch(`${origin}/products/7`, { method: 'HEAD', headers: { 'user-agent': GOOGLEBOT } });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-rendercache-cache')).toBe('hit');
      expect(await res.text()).toBe('');
    });

    it('other methods are never sent to the renderer', async () => {
      const before = lookups();
      const res = await fetch(`${origin}/products/7`, { method: 'POST', headers: { 'user-agent': GOOGLEBOT } });
      expect(res.headers.get('x-rendercache-cache')).toBeNull();
      await res.arrayBuffer();
      expect(lookups()).toBe(before);
    });

    it('loop guard: a request carrying X-Prerender (the renderer itself) is never forwarded', async () => {
      const before = lookups();
      const res = await get('/products/9', { 'user-agent': GOOGLEBOT, 'x-prerender': '1' });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-rendercache-cache')).toBeNull();
      expect(await res.text()).toBe(SHELL_HTML);
      expect(lookups()).toBe(before);
    });

    it('_escaped_fragment_ sends any client to the renderer, without the parameter in the page URL', async () => {
      const res = await get('/products/8?_escaped_fragment_=', { 'user-agent': HUMAN });
      expect(res.headers.get('x-rendercache-cache')).toMatch(/^(hit|miss|stale)$/);
      expect(await res.text()).toContain(productName('/products/8'));
      expect(new URL(proxy.requests.at(-1)?.url ?? '', 'http://x').searchParams.get('url')).toBe(`${origin}/products/8`);
    });

    it('a URL rendercache does not serve (its own 404 error) goes to the app: the host override names another site', async () => {
      const other = await startApp({ serviceUrl: proxy.url, host: 'www.not-configured.example' });
      try {
        const before = lookups();
        const res = await get('/products/7', { 'user-agent': GOOGLEBOT }, originOf(other));
        expect(lookups()).toBe(before + 1);
        expect(new URL(proxy.requests.at(-1)?.url ?? '', 'http://x').searchParams.get('url')).toBe('http://www.not-configured.example/products/7');
        expect(res.status).toBe(200);
        expect(res.headers.get('x-rendercache-cache')).toBeNull();
        expect(await res.text()).toBe(SHELL_HTML);
      } finally {
        await closeServer(other);
      }
    });

    it('extraBotPattern adds user agents isbot does not know; skipExtensions replaces the list; host overrides the page URL host', async () => {
      const acme = 'Mozilla/5.0 (X11; Linux x86_64) AcmeSnapshot/2.0';
      // Another port: `host` names the configured site's origin in the page URL (as behind a proxy).
      const custom = await startApp({ serviceUrl: proxy.url, host: new URL(origin).host, extraBotPattern: 'acmesnapshot', skipExtensions: ['.CSS'] });
      try {
        const before = lookups();
        const plain = await get('/products/7', { 'user-agent': acme });
        expect(plain.headers.get('x-rendercache-cache')).toBeNull();
        await plain.arrayBuffer();
        expect(lookups()).toBe(before);
        const res = await get('/products/7', { 'user-agent': acme }, originOf(custom));
        expect(res.headers.get('x-rendercache-cache')).toBe('hit');
        expect(await res.text()).toContain(productName('/products/7'));
        expect(lookups()).toBe(before + 1);
        const css = await get('/static/site.css', { 'user-agent': GOOGLEBOT }, originOf(custom));
        expect(css.headers.get('x-rendercache-cache')).toBeNull();
        await css.arrayBuffer();
        expect(lookups()).toBe(before + 1);
      } finally {
        await closeServer(custom);
      }
    });

    it('fails open, quickly, when rendercache is down (a closed port)', async () => {
      const down = await startApp({ serviceUrl: `http://127.0.0.1:${await freePort()}` });
      try {
        const started = performance.now();
        const res = await get('/products/7', { 'user-agent': GOOGLEBOT }, originOf(down));
        expect(res.status).toBe(200);
        expect(await res.text()).toBe(SHELL_HTML);
        expect(performance.now() - started).toBeLessThan(2_000);
      } finally {
        await closeServer(down);
      }
    });

    it('fails open after timeoutMs when rendercache never answers', async () => {
      const hanging = await startHangingServer();
      const slow = await startApp({ serviceUrl: hanging.url, timeoutMs: 400 });
      try {
        const started = performance.now();
        const res = await get('/products/7', { 'user-agent': GOOGLEBOT }, originOf(slow));
        const elapsed = performance.now() - started;
        expect(res.status).toBe(200);
        expect(await res.text()).toBe(SHELL_HTML);
        expect(hanging.requests).toHaveLength(1);
        expect(elapsed).toBeGreaterThanOrEqual(350);
        expect(elapsed).toBeLessThan(3_000);
      } finally {
        await closeServer(slow);
        await closeServer(hanging.server);
      }
    });

    it('fails open on a 5xx from rendercache', async () => {
      const failing = await startFailingServer();
      const app503 = await startApp({ serviceUrl: failing.url });
      try {
        const res = await get('/products/7', { 'user-agent': GOOGLEBOT }, originOf(app503));
        expect(res.status).toBe(200);
        expect(await res.text()).toBe(SHELL_HTML);
        expect(failing.requests).toHaveLength(1);
      } finally {
        await closeServer(app503);
        await closeServer(failing.server);
      }
    });
  });
}
