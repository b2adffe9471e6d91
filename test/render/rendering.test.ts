import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.js';
import { startFixtureSite, startSecretServer, type FixtureSite } from '../fixtures/fixture-site.js';
import { json, type ErrorBody } from '../helpers/json.js';
import { lookupUrl, startTestService } from '../helpers/service.js';

// Real Chromium rendering the fixture site through the crawler endpoint.
let site: FixtureSite;
let secret: Awaited<ReturnType<typeof startSecretServer>>;
let service: RunningService;

const get = (path: string, headers: Record<string, string> = {}) => fetch(lookupUrl(service, `${site.origin}${path}`), { headers, redirect: 'manual' });

beforeAll(async () => {
  secret = await startSecretServer();
  site = await startFixtureSite({ secretOrigin: secret.origin });
  service = await startTestService({
    sites: [{ id: 'fixture', name: 'Fixture', origin: site.origin, render: { deadlineMs: 8000 } }],
    render: { longPollAfterMs: 2000 },
  });
});

afterAll(async () => {
  await service?.stop();
  await site?.close();
  await secret?.close();
});

describe('readiness', () => {
  it('waits for client-side rendering after a delayed fetch', async () => {
    const res = await get('/csr?delay=400&label=late-content');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<h1 id="rendered">late-content</h1>');
  });

  it('honours window.prerenderReady going from false to true', async () => {
    const started = Date.now();
    const res = await get('/ready-flag?delay=1500');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('id="flag-set"');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
  });

  it('does not let a long-poll or an EventSource keep the page busy', async () => {
    const res = await get('/long-poll');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<p id="rendered">after-poll</p>');
  });

  it('fails a page that never goes idle at the deadline, and caches nothing', async () => {
    const started = Date.now();
    const res = await get('/never-idle');
    expect(res.status).toBe(504);
    const body = await json<ErrorBody>(res);
    expect(body['o:errorCode']).toBe('RENDERCACHE-RENDER-002');
    expect(Date.now() - started).toBeGreaterThanOrEqual(7900);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await service.cache.get(`${site.origin}/never-idle`)).toBeUndefined();
  });
});

describe('status codes and headers', () => {
  it('serves a soft 404 declared by prerender-status-code', async () => {
    const res = await get('/soft-404');
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('This product does not exist');
  });

  it('keeps an origin 301 with its Location instead of following it', async () => {
    const res = await get('/moved');
    expect(res.status).toBe(301);
    expect(res.headers.get('location')).toBe('/target');
    expect(site.hits.get('/target') ?? 0).toBe(0);
    const again = await get('/moved');
    expect(again.status).toBe(301);
    expect(again.headers.get('x-rendercache-cache')).toBe('hit');
  });

  it('applies prerender-header and a 3xx from meta tags', async () => {
    const res = await get('/meta-redirect');
    expect(res.status).toBe(301);
    expect(res.headers.get('location')).toBe('https://www.example.com/new-home');
  });

  it('replays only allow-listed meta headers, and never a declared 304', async () => {
    const res = await get('/hostile-headers', { 'accept-encoding': 'identity' });
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain('hostile headers');
    expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
    expect(res.headers.get('transfer-encoding')).toBeNull();
    expect(res.headers.get('content-encoding')).toBeNull();
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(res.headers.get('link')).toBe('</canonical>; rel="canonical"');
  });

  it('replays Vary: User-Agent and X-Robots-Tag, but never Set-Cookie', async () => {
    const res = await get('/vary');
    expect(res.headers.get('vary')).toMatch(/User-Agent/);
    expect(res.headers.get('x-robots-tag')).toBe('noarchive');
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it("sends X-Prerender: 1 on the page's own requests", async () => {
    await get('/csr?delay=10&label=xp');
    expect(site.lastHeaders.get('/csr')?.['x-prerender']).toBe('1');
    expect(site.lastHeaders.get('/api/data.json')?.['x-prerender']).toBe('1');
  });
});

describe('the HTML', () => {
  it('serialises open shadow roots', async () => {
    const html = await (await get('/shadow')).text();
    expect(html).toContain('<template shadowrootmode="open">');
    expect(html).toContain('Shadow price 42');
  });

  it('removes executable scripts and keeps JSON-LD and og:image untouched', async () => {
    const html = await (await get('/scripts')).text();
    expect(html).not.toContain('window.inline');
    expect(html).not.toContain('type="module"');
    expect(html).not.toContain('src="/app.js"');
    expect(html).toContain('{"@type":"Product","name":"Kept"}');
    expect(html).toContain('content="https://cdn.example.com/og.png"');
    expect(site.hits.get('/app.js')).toBe(1);
  });

  it('blocks images, media and fonts but keeps their URLs in the HTML', async () => {
    const html = await (await get('/assets')).text();
    expect(html).toContain('src="/img.png"');
    expect(site.hits.get('/img.png') ?? 0).toBe(0);
    expect(site.hits.get('/clip.mp4') ?? 0).toBe(0);
    expect(site.hits.get('/font.woff2') ?? 0).toBe(0);
  });
});

describe('safety', () => {
  it('never reaches loopback or metadata addresses from iframes, fetches or redirects', async () => {
    const res = await get('/ssrf');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<p id="rendered">content</p>');
    // The same-origin fetch that redirects to the secret server was made, then refused.
    expect(site.hits.get('/bounce-to-secret')).toBe(1);
    expect(secret.hits).toEqual([]);
  });

  it('keeps an origin redirect to an internal address as a 301/302 and does not follow it', async () => {
    const res = await get('/moved-to-secret');
    expect(res.status).toBe(302);
    expect(secret.hits).toEqual([]);
  });

  it('fails a render whose main frame navigates away from the site', async () => {
    const res = await get('/nav-away');
    expect(res.status).toBe(502);
    expect((await json<ErrorBody>(res)).detail).toMatch(/navigat/);
    expect(secret.hits).toEqual([]);
  });

  it('never follows a file: navigation, nor renders a file: URL', async () => {
    // The page tries to go to file:///etc/passwd while it loads (before any snapshot, as the
    // "tried" marker proves): Chromium refuses a file: navigation from a web page, so the
    // page stays where it is and is served as rendered.
    const res = await get('/nav-file');
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(html).toContain('<p>leaving</p><p id="tried">tried</p>');
    expect(html).not.toContain('root:');
    const direct = await fetch(`${service.url}/render?url=${encodeURIComponent('file:///etc/passwd')}`);
    expect(direct.status).toBe(400);
    expect((await json<ErrorBody>(direct))['o:errorCode']).toBe('RENDERCACHE-URL-001');
  });
});

describe('failures', () => {
  it('treats a 5xx from the origin as a failed render', async () => {
    const res = await get('/error');
    expect(res.status).toBe(502);
    expect((await json<ErrorBody>(res)).detail).toContain('503');
  });

  it('treats an empty body as a failed render', async () => {
    const res = await get('/empty');
    expect(res.status).toBe(502);
    expect((await json<ErrorBody>(res)).detail).toContain('empty');
  });
});
