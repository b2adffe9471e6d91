import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.js';
import { freePort } from '../helpers/free-port.js';
import { startTestService, tempDir } from '../helpers/service.js';
import { RENDERED_MARKER, SHELL_MARKER, startNginx, startTestApp, type RunningNginx, type TestApp } from './nginx-support.js';

/**
 * integrations/nginx/ in front of a real app, against a real nginx and a real
 * rendercache. The site's origin in rendercache is nginx's public address: the snippet
 * sends `/{scheme}://{Host}{URI}`, the URL the crawler asked for, and rendercache's
 * Chromium loads that URL through nginx again, with X-Prerender (the loop guard sends it
 * to the app).
 */
const CRAWLERS = {
  Googlebot: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'Googlebot Smartphone':
    'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.204 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  Bingbot: 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
  GPTBot: 'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)',
  ClaudeBot: 'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)',
  PerplexityBot: 'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; PerplexityBot/1.0; +https://perplexity.ai/perplexitybot)',
  facebookexternalhit: 'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)',
} as const;
const GOOGLEBOT = CRAWLERS.Googlebot;
const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

let app: TestApp;
let service: RunningService | undefined;
let nginx: RunningNginx | undefined;

beforeAll(async () => {
  app = await startTestApp();
  const nginxPort = await freePort();
  service = await startTestService({
    sites: [{ id: 'shop', name: 'Shop', origin: `http://127.0.0.1:${nginxPort}` }],
  });
  const rendercachePort = Number(new URL(service.url).port);
  nginx = await startNginx({ dir: tempDir('rendercache-nginx-'), port: nginxPort, rendercachePort, appPort: app.port });
});

afterAll(async () => {
  await nginx?.stop();
  await service?.stop();
  await app?.close();
});

const get = (path: string, userAgent: string, headers: Record<string, string> = {}, init: RequestInit = {}) =>
  fetch(`${nginx!.origin}${path}`, { redirect: 'manual', ...init, headers: { 'user-agent': userAgent, ...headers }, signal: AbortSignal.timeout(30_000) });

function rawGet(path: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${nginx!.origin}${path}`, { headers, timeout: 30_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

/** rendercache_lookups_total, all results together. */
async function lookups(): Promise<number> {
  const text = await (await fetch(`${service!.url}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('rendercache_lookups_total'))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

describe('nginx in front of an app (integrations/nginx)', () => {
  it.each(Object.entries(CRAWLERS))('%s gets the rendered page from rendercache', async (name, userAgent) => {
    const path = `/products/${name.replace(/\W/g, '-').toLowerCase()}?ref=1`;
    const before = await lookups();
    const res = await get(path, userAgent);
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get('x-rendercache-cache')).toMatch(/^(hit|miss|stale)$/);
    expect(html).toContain(`${RENDERED_MARKER} ${path.split('?')[0]}`);
    expect(html).not.toContain(SHELL_MARKER);
    expect(await lookups()).toBe(before + 1);
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
    expect(new URL(res.headers.get('location')!, nginx!.origin).href).toBe(`${nginx!.origin}/target`);
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

  it('a URL of no configured site falls back to the app (rendercache answers 404)', async () => {
    // What nginx asks rendercache for: a 404 (no configured site).
    const direct = await fetch(`${service!.url}/http://unknown.example/products/other-host`, { headers: { 'user-agent': GOOGLEBOT } });
    await direct.arrayBuffer();
    expect(direct.status).toBe(404);
    // fetch() sets Host itself: a raw request names another host.
    const res = await rawGet('/products/other-host', { 'user-agent': GOOGLEBOT, host: 'unknown.example' });
    expect(res.status).toBe(200);
    expect(res.headers['x-served-by']).toBe('app');
    expect(res.body).toContain(SHELL_MARKER);
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
    expect(nginx!.stderr()).toMatch(/connect\(\) failed|no live upstreams/);
  });
});
