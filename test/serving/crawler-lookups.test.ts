import { gunzipSync } from 'node:zlib';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.js';
import { startFixtureSite, type FixtureSite } from '../fixtures/fixture-site.js';
import { json, type ErrorBody } from '../helpers/json.js';
import { BACKENDS } from '../helpers/backends.js';
import { lookupUrl, startTestService } from '../helpers/service.js';
import { waitFor } from '../helpers/wait-for.js';

/** Raw GET that keeps the body compressed, as a crawler with Accept-Encoding gets it. */
function rawGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}

describe.each(BACKENDS)('crawler lookups on the $name backend', (backend) => {
  let site: FixtureSite;
  let service: RunningService;

  beforeAll(async () => {
    site = await startFixtureSite();
    service = await startTestService({
      ...backend.serviceConfig('lookups'),
      sites: [
        { id: 'fixture', name: 'Fixture', origin: site.origin },
        { id: 'off', name: 'Offline', origin: 'http://127.0.0.2:9', status: 'offline' },
      ],
    });
  });

  afterAll(async () => {
    await service?.stop();
    await site?.close();
  });

  it('renders on a miss, then serves hits with ETag, Last-Modified and 304', async () => {
    const first = await fetch(lookupUrl(service, `${site.origin}/page/1`));
    expect(first.status).toBe(200);
    expect(first.headers.get('x-rendercache-cache')).toBe('miss');
    expect(await first.text()).toContain('page-1');
    const second = await fetch(lookupUrl(service, `${site.origin}/page/1`));
    expect(second.headers.get('x-rendercache-cache')).toBe('hit');
    const etag = second.headers.get('etag');
    expect(etag).toMatch(/^".+"$/);
    expect(second.headers.get('last-modified')).toBeTruthy();
    const notModified = await fetch(lookupUrl(service, `${site.origin}/page/1`), { headers: { 'if-none-match': etag ?? '' } });
    expect(notModified.status).toBe(304);
    expect(site.hits.get('/page/1')).toBe(1);
  });

  it('answers the prerender-node and Rendertron URL shapes from the same entry', async () => {
    const pageUrl = `${site.origin}/page/2?b=1&a=2&utm_source=x#frag`;
    await fetch(lookupUrl(service, pageUrl));
    const prerenderShape = await fetch(`${service.url}/${site.origin}/page/2?a=2&b=1`);
    expect(prerenderShape.status).toBe(200);
    expect(prerenderShape.headers.get('x-rendercache-cache')).toBe('hit');
    const rendertronShape = await fetch(`${service.url}/render/${site.origin}/page/2?a=2&b=1&fbclid=zz`);
    expect(rendertronShape.headers.get('x-rendercache-cache')).toBe('hit');
    expect(await rendertronShape.text()).toContain('page-2');
    expect(site.hits.get('/page/2')).toBe(1);
  });

  it('serves gzip as stored to clients that accept it', async () => {
    await fetch(lookupUrl(service, `${site.origin}/page/3`));
    const res = await rawGet(lookupUrl(service, `${site.origin}/page/3`), { 'accept-encoding': 'gzip, br' });
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(res.body).toString()).toContain('page-3');
    expect(res.headers.vary).toMatch(/Accept-Encoding/);
  });

  it('renders once for many concurrent lookups of one URL (single flight)', async () => {
    const url = lookupUrl(service, `${site.origin}/slow?delay=600&n=1`);
    const answers = await Promise.all(Array.from({ length: 8 }, () => fetch(url)));
    expect(answers.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(site.hits.get('/slow')).toBe(1);
  });

  it('answers 404 with an error body for a URL of no configured site, and renders nothing', async () => {
    const res = await fetch(lookupUrl(service, 'https://not-configured.example.com/'));
    expect(res.status).toBe(404);
    const body = await json<ErrorBody>(res);
    expect(body).toMatchObject({ status: '404', 'o:errorCode': 'RENDERCACHE-URL-002', title: 'Not a Configured Site' });
    expect(body.type).toMatch(/^http:\/\/www\.w3\.org\/Protocols\/rfc2616/);
  });

  it('answers 404 for an offline site', async () => {
    const res = await fetch(lookupUrl(service, 'http://127.0.0.2:9/x'));
    expect(res.status).toBe(404);
    expect((await json<ErrorBody>(res))['o:errorCode']).toBe('RENDERCACHE-URL-003');
  });

  it.each([
    ['no url', '/render'],
    ['empty url', '/render?url='],
    ['relative url', '/render?url=%2Fpage%2F1'],
    ['ftp url', '/render?url=ftp%3A%2F%2Fx%2F'],
    ['garbage host', '/http://%zz/'],
    ['credentials', `/render?url=${encodeURIComponent('http://user:pw@127.0.0.1/')}`],
  ])('answers 400 for a malformed lookup (%s)', async (_label, path) => {
    const res = await fetch(`${service.url}${path}`);
    expect(res.status).toBe(400);
    expect((await json<ErrorBody>(res)).status).toBe('400');
  });

  it('never replaces a good entry with a failed render', async () => {
    site.setFlakyBroken(false);
    const good = await fetch(lookupUrl(service, `${site.origin}/flaky`));
    expect(good.status).toBe(200);
    site.setFlakyBroken(true);
    // A forced re-render through the queue, as a refresh would do.
    const result = await service.queue.submit({ url: `${site.origin}/flaky`, variant: 'desktop', siteId: 'fixture', source: { trigger: 'api' } }, 0);
    expect(result.ok).toBe(false);
    const after = await fetch(lookupUrl(service, `${site.origin}/flaky`));
    expect(after.status).toBe(200);
    expect(after.headers.get('x-rendercache-cache')).toBe('stale');
    expect(await after.text()).toContain('flaky ok');
    expect((await service.cache.lastFailure(`${site.origin}/flaky`))?.kind).toBe('origin-error');
    site.setFlakyBroken(false);
  });

  it('answers /healthz and /readyz', async () => {
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${service.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, browser: true, cache: true, queue: true });
  });

  it('answers an unknown route with the error body', async () => {
    const res = await fetch(`${service.url}/nope`);
    expect(res.status).toBe(404);
    expect((await json<ErrorBody>(res))['o:errorCode']).toBe('RENDERCACHE-404');
  });
});

describe('back-pressure', () => {
  let site: FixtureSite;
  let service: RunningService;

  beforeAll(async () => {
    site = await startFixtureSite();
    service = await startTestService({
      sites: [{ id: 'fixture', name: 'Fixture', origin: site.origin }],
      render: { concurrency: 1, maxQueued: 1 },
    });
  });

  afterAll(async () => {
    await service?.stop();
    await site?.close();
  });

  it('answers 503 with Retry-After when the render queue is full, never an empty 200', async () => {
    const slow = (n: number) => fetch(lookupUrl(service, `${site.origin}/slow?delay=1500&n=${n}`));
    const running = slow(1);
    // The one render slot is taken once Chromium has asked the site for the page.
    await waitFor('the first render to reach the site', () => site.hits.get('/slow') === 1, 10_000);
    const waiting = slow(2);
    await waitFor('the second lookup to wait in the queue', () => service.queue.unanswered() === 2, 10_000);
    expect(await (await fetch(`${service.url}/metrics`)).text()).toMatch(/^rendercache_render_queue_waiting 2$/m);
    const refused = await slow(3);
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await json<ErrorBody>(refused))['o:errorCode']).toBe('RENDERCACHE-RENDER-003');
    expect((await running).status).toBe(200);
    expect((await waiting).status).toBe(200);
  });
});
