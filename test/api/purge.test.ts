import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizePageUrl, variantKey } from '../../src/cache/key.js';
import type { RunningService } from '../../src/service.js';
import { startFixtureSite, type FixtureSite } from '../fixtures/fixture-site.js';
import { json, type ErrorBody } from '../helpers/json.js';
import { API_BASE } from '../helpers/management-api.js';
import { lookupUrl, startTestService } from '../helpers/service.js';

const TOKENS = { owner: 'owner-token-123', viewer: 'viewer-token-123', stranger: 'stranger-token-1' };

/**
 * The three purge calls (issue 12 §2) against the real service: pages rendered by Chromium
 * and looked up, purged, and looked up again: a purged page is a miss (rendered again), a
 * page the purge did not name is still a hit.
 */
describe('cache purge: prerender.io cache-clear, the management API, Rendertron invalidate', () => {
  let site: FixtureSite;
  let service: RunningService;
  let other: string;

  beforeAll(async () => {
    site = await startFixtureSite();
    other = site.origin.replace('127.0.0.1', 'localhost');
    service = await startTestService({
      auth: { tokens: Object.entries(TOKENS).map(([user, token]) => ({ token, user })) },
      sites: [
        { id: 'shop', name: 'Shop', origin: site.origin, variants: ['desktop', 'mobile'], members: { owner: 'Owner', viewer: 'Viewer' } },
        { id: 'other', name: 'Other', origin: other, allowPrivateNetwork: true, members: { owner: 'Owner' } },
      ],
    });
  });
  afterAll(async () => {
    await service?.stop();
    await site?.close();
  });

  /** A crawler lookup (the site's first variant, desktop, unless `device` names one): what X-Rendercache-Cache says (hit, stale, miss). */
  const lookup = async (url: string, device?: string) => {
    const res = await fetch(lookupUrl(service, url), { headers: device ? { 'x-rendercache-device': device } : {} });
    expect(res.status, url).toBe(200);
    await res.arrayBuffer();
    return res.headers.get('x-rendercache-cache');
  };
  /** Rendered and cached: the first lookup renders, the second is a hit. */
  const cached = async (...urls: string[]) => {
    for (const url of urls) {
      await lookup(url);
      expect(await lookup(url), url).toBe('hit');
    }
  };
  const renders = (path: string) => site.hits.get(path) ?? 0;
  const cacheClear = (body: unknown) =>
    fetch(`${service.url}/cache-clear`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const deleteCache = (siteId: string, query: string, token: string | null = TOKENS.owner) =>
    fetch(`${service.url}${API_BASE}/sites/${siteId}/cache${query}`, { method: 'DELETE', headers: token ? { authorization: `Bearer ${token}` } : {} });
  const invalidate = (url: string, headers: Record<string, string> = { 'x-rendercache-token': TOKENS.owner }) =>
    fetch(`${service.url}/invalidate/${url}`, { headers });
  /** An error answer: its status and the error body's code (and the body is the documented shape). */
  const refusal = async (res: Response) => {
    const body = await json<ErrorBody>(res);
    expect(body.status).toBe(String(res.status));
    expect(body.type).toMatch(/^https?:/);
    expect([typeof body.title, typeof body.detail, typeof body['o:errorCode']]).toEqual(['string', 'string', 'string']);
    return { status: res.status, code: body['o:errorCode'], body };
  };

  it('POST /cache-clear removes the pages a % pattern names, every variant, and keeps the others', async () => {
    const [blog1, blog2, news] = ['/page/blog/1', '/page/blog/2?b=2&a=1', '/page/news/1'].map((path) => `${site.origin}${path}`) as [string, string, string];
    await cached(blog1, blog2, news);
    // blog/1 rendered as a phone sees it too: another entry.
    await lookup(blog1, 'mobile');
    expect(await lookup(blog1, 'mobile')).toBe('hit');
    expect(service.cache.peek(variantKey(normalizePageUrl(blog1), 'mobile'))).toBeDefined();
    const before = renders('/page/blog/1');

    const res = await cacheClear({ prerenderToken: TOKENS.owner, query: `${site.origin}/page/blog/%` });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ ok: true, deleted: 3 });

    expect(await lookup(blog1)).toBe('miss');
    expect(await lookup(blog1, 'mobile')).toBe('miss');
    expect(renders('/page/blog/1')).toBe(before + 2);
    expect(await lookup(blog2)).toBe('miss');
    expect(await lookup(news)).toBe('hit');
    // One URL exactly, without a %: as the cache writes it (query sorted).
    const one = await cacheClear({ prerenderToken: TOKENS.owner, query: `${site.origin}/page/blog/2?a=1&b=2` });
    expect(await json(one)).toEqual({ ok: true, deleted: 1 });
    expect(await lookup(blog1)).toBe('hit');
    expect(await lookup(blog2)).toBe('miss');
  });

  it("DELETE …/sites/{id}/cache?match= removes the pages a path glob names; without match, the whole site's", async () => {
    const [docA, docB, keep] = ['/page/docs/a', '/page/docs/b?x=1', '/page/keep'].map((path) => `${site.origin}${path}`) as [string, string, string];
    const elsewhere = `${other}/page/o1`;
    await cached(docA, docB, keep, elsewhere);

    const res = await deleteCache('shop', `?match=${encodeURIComponent('/page/docs/*')}`);
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ deleted: 2 });
    expect(await lookup(docA)).toBe('miss');
    expect(await lookup(docB)).toBe('miss');
    expect(await lookup(keep)).toBe('hit');

    const all = await deleteCache('name:Shop', '');
    expect(all.status).toBe(200);
    expect((await json<{ deleted: number }>(all)).deleted).toBeGreaterThanOrEqual(3);
    for (const url of [docA, keep, `${site.origin}/page/news/1`]) expect(await lookup(url), url).toBe('miss');
    // Another site's pages are not the site's cache.
    expect(await lookup(elsewhere)).toBe('hit');
  });

  it('GET /invalidate/{url} removes one page, the URL raw or percent-encoded, the token in either header', async () => {
    const [raw, encoded, sibling] = ['/page/inv?b=2&a=1', '/page/inv2', '/page/inv22'].map((path) => `${site.origin}${path}`) as [string, string, string];
    await cached(raw, encoded, sibling);

    const first = await invalidate(raw);
    expect(first.status).toBe(200);
    expect(await json(first)).toEqual({ ok: true, deleted: 1 });
    expect(await lookup(raw)).toBe('miss');

    const second = await invalidate(encodeURIComponent(encoded), { authorization: `Bearer ${TOKENS.owner}` });
    expect(await json(second)).toEqual({ ok: true, deleted: 1 });
    expect(await lookup(encoded)).toBe('miss');
    expect(await lookup(sibling)).toBe('hit');
  });

  it('refuses without a valid token (401), below Manager (403), for no site it may see (404), and what is malformed (400), purging nothing', async () => {
    const page = `${site.origin}/page/guarded`;
    await cached(page);
    const query = `${site.origin}/page/%`;

    // 401: no or a wrong token.
    expect(await refusal(await cacheClear({ prerenderToken: 'not-a-token-1', query }))).toMatchObject({ status: 401, code: 'RENDERCACHE-401' });
    expect(await refusal(await deleteCache('shop', '', null))).toMatchObject({ status: 401, code: 'RENDERCACHE-401' });
    expect(await refusal(await invalidate(page, {}))).toMatchObject({ status: 401, code: 'RENDERCACHE-401' });
    expect(await refusal(await invalidate(page, { 'x-rendercache-token': 'not-a-token-1' }))).toMatchObject({ status: 401, code: 'RENDERCACHE-401' });

    // 403: a Viewer of the site.
    const viewer = await refusal(await cacheClear({ prerenderToken: TOKENS.viewer, query }));
    expect(viewer).toMatchObject({ status: 403, code: 'OCE-SITEMGMT-009026', body: { site: { id: 'shop' } } });
    expect(await refusal(await deleteCache('shop', '', TOKENS.viewer))).toMatchObject({ status: 403, code: 'OCE-SITEMGMT-009026' });
    expect(await refusal(await invalidate(page, { 'x-rendercache-token': TOKENS.viewer }))).toMatchObject({ status: 403, code: 'OCE-SITEMGMT-009026' });

    // 404: no configured site, or one the token has no role on (the same answer, the site never named).
    const unknown = await refusal(await cacheClear({ prerenderToken: TOKENS.owner, query: 'https://elsewhere.example.com/%' }));
    expect(unknown).toMatchObject({ status: 404, code: 'RENDERCACHE-URL-002' });
    const hidden = await refusal(await cacheClear({ prerenderToken: TOKENS.stranger, query }));
    expect(hidden).toMatchObject({ status: 404, code: 'RENDERCACHE-URL-002' });
    expect(hidden.body.detail).toBe(unknown.body.detail);
    expect(JSON.stringify(hidden.body)).not.toContain('shop');
    // A prefix that is not a whole origin names no site either.
    expect((await refusal(await cacheClear({ prerenderToken: TOKENS.owner, query: `${site.origin.slice(0, -1)}%` }))).status).toBe(404);
    expect(await refusal(await deleteCache('nope', ''))).toMatchObject({ status: 404, code: 'OCE-SITEMGMT-009003' });
    expect(await refusal(await deleteCache('shop', '', TOKENS.stranger))).toMatchObject({ status: 404, code: 'OCE-SITEMGMT-009003' });
    expect(await refusal(await invalidate('https://elsewhere.example.com/x'))).toMatchObject({ status: 404, code: 'RENDERCACHE-URL-002' });
    expect(await refusal(await invalidate(page, { 'x-rendercache-token': TOKENS.stranger }))).toMatchObject({ status: 404, code: 'RENDERCACHE-URL-002' });

    // 400: a malformed body, pattern, match or URL.
    for (const body of [
      { prerenderToken: TOKENS.owner },
      { query },
      { prerenderToken: TOKENS.owner, query: '/page/%' },
      { prerenderToken: TOKENS.owner, query: 42 },
    ]) {
      expect(await refusal(await cacheClear(body)), JSON.stringify(body)).toMatchObject({ status: 400, code: 'RENDERCACHE-400' });
    }
    const notJson = await fetch(`${service.url}/cache-clear`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    expect(await refusal(notJson)).toMatchObject({ status: 400 });
    for (const match of ['page/*', '/page#x', '/p%C3%A4ge*'.replace('%C3%A4', 'ä'), '']) {
      const bad = await refusal(await deleteCache('shop', `?match=${encodeURIComponent(match)}`));
      expect(bad, match).toMatchObject({ status: 400, code: 'RENDERCACHE-400' });
      expect(bad.body.detail).toMatch(/match/);
    }
    expect(await refusal(await deleteCache('shop', '?other=1'))).toMatchObject({ status: 400, code: 'RENDERCACHE-400' });
    expect(await refusal(await invalidate('not-a-url'))).toMatchObject({ status: 400, code: 'RENDERCACHE-400' });

    expect(await lookup(page)).toBe('hit');
  });
});
