import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.js';
import { startFixtureSite, type FixtureSite } from '../fixtures/fixture-site.js';
import { json, type ErrorBody } from '../helpers/json.js';
import { managementApi } from '../helpers/management-api.js';
import { lookupUrl, startTestService } from '../helpers/service.js';

const TOKENS = { owner: 'owner-token-123', viewer: 'viewer-token-123', stranger: 'stranger-token-1' };

interface RecacheAnswer {
  ok: true;
  jobs: Array<{ siteId: string; jobId: string; pages: number; progress: string }>;
  rejected: Array<{ url: string; reason: string }>;
}

describe("POST /recache (prerender.io's re-cache call)", () => {
  let site: FixtureSite;
  let service: RunningService;
  let other: string;
  const api = managementApi(() => service, TOKENS);
  const recache = (body: unknown) =>
    fetch(`${service.url}/recache`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  beforeAll(async () => {
    site = await startFixtureSite();
    other = site.origin.replace('127.0.0.1', 'localhost');
    service = await startTestService({
      auth: { tokens: Object.entries(TOKENS).map(([user, token]) => ({ token, user })) },
      sites: [
        { id: 'shop', name: 'Shop', origin: site.origin, members: { owner: 'Owner', viewer: 'Viewer' } },
        { id: 'other', name: 'Other', origin: other, allowPrivateNetwork: true, members: { owner: 'Owner' } },
      ],
    });
  });
  afterAll(async () => {
    await service?.stop();
    await site?.close();
  });

  it('re-renders a batch of URLs as the Magento 2 module sends it: one job per site, foreign URLs rejected', async () => {
    site.setVersion('before');
    expect(await (await fetch(lookupUrl(service, `${site.origin}/version`))).text()).toContain('before');
    site.setVersion('after');
    const urls = [`${site.origin}/page/r1`, `${site.origin}/page/r2`, `${site.origin}/version`, `${other}/page/r3`, 'https://elsewhere.example.com/x'];
    const res = await recache({ prerenderToken: TOKENS.owner, urls });
    expect(res.status).toBe(200);
    const answer = await json<RecacheAnswer>(res);
    expect(answer.ok).toBe(true);
    expect(answer.rejected).toEqual([{ url: 'https://elsewhere.example.com/x', reason: 'not a page of a configured site' }]);
    expect(answer.jobs.map((j) => [j.siteId, j.pages]).sort()).toEqual([
      ['other', 1],
      ['shop', 3],
    ]);
    for (const job of answer.jobs) expect((await api.waitForEnd(job.jobId, 'owner')).progress).toBe('succeeded');
    // Every page is in the cache now, the changed one in its new version.
    for (const url of urls.slice(0, 4)) expect((await fetch(lookupUrl(service, url))).headers.get('x-rendercache-cache')).toBe('hit');
    expect(await (await fetch(lookupUrl(service, `${site.origin}/version`))).text()).toContain('after');
  });

  it('takes one "url" too, and lists what a token may not refresh without naming sites it has no role on', async () => {
    // adaptiveType "mobile" on a desktop-only site: the page is re-rendered all the same, as desktop.
    const one = await json<RecacheAnswer>(await recache({ prerenderToken: TOKENS.owner, url: `${site.origin}/page/r4`, adaptiveType: 'mobile' }));
    expect(one.jobs).toMatchObject([{ siteId: 'shop', pages: 1 }]);
    expect(await api.waitForEnd(one.jobs[0]!.jobId, 'owner')).toMatchObject({ progress: 'succeeded', pageCount: 1 });
    const viewer = await json<RecacheAnswer>(await recache({ prerenderToken: TOKENS.viewer, urls: [`${site.origin}/page/r5`, `${other}/page/r5`] }));
    expect(viewer).toEqual({
      ok: true,
      jobs: [],
      rejected: [
        { url: `${site.origin}/page/r5`, reason: 'refreshing site shop needs the Manager role' },
        { url: `${other}/page/r5`, reason: 'not a page of a configured site' },
      ],
    });
    expect(site.hits.get('/page/r5') ?? 0).toBe(0);
  });

  it('refuses a wrong token (401) and a malformed body (400) with the error body', async () => {
    const refused = await recache({ prerenderToken: 'not-a-token-1', url: `${site.origin}/page/r6` });
    expect(refused.status).toBe(401);
    expect((await json<ErrorBody>(refused))['o:errorCode']).toBe('RENDERCACHE-401');
    for (const body of [{ prerenderToken: TOKENS.owner }, { prerenderToken: TOKENS.owner, url: 'a', urls: ['b'] }, { url: `${site.origin}/x` }]) {
      const bad = await recache(body);
      expect(bad.status).toBe(400);
      expect((await json<ErrorBody>(bad))['o:errorCode']).toBe('RENDERCACHE-400');
    }
    const tooMany = await recache({ prerenderToken: TOKENS.owner, urls: Array.from({ length: 1001 }, (_, i) => `${site.origin}/p/${i}`) });
    expect(tooMany.status).toBe(400);
    expect(site.hits.get('/page/r6') ?? 0).toBe(0);
  });
});
