import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { RunningService } from '../../src/service.js';
import { startFixtureSite, type FixtureSite } from '../fixtures/fixture-site.js';
import { json, type ErrorBody } from '../helpers/json.js';
import { lookupUrl, startTestService } from '../helpers/service.js';

const EDGE_TOKEN = 'edge-token-123';

describe('crawler lookups with lookup.tokens set', () => {
  let site: FixtureSite;
  let service: RunningService;

  beforeAll(async () => {
    site = await startFixtureSite();
    service = await startTestService({ lookup: { tokens: [EDGE_TOKEN] }, sites: [{ id: 'fixture', name: 'Fixture', origin: site.origin }] });
  });
  afterAll(async () => {
    await service?.stop();
    await site?.close();
  });

  const expectRefused = async (res: Response) => {
    expect(res.status).toBe(401);
    expect(await json<ErrorBody>(res)).toMatchObject({ status: '401', title: 'Lookup Token Required', 'o:errorCode': 'RENDERCACHE-LOOKUP-401' });
  };

  it('refuses a lookup without a token, or with a wrong one, in every URL shape, before anything is rendered', async () => {
    const page = `${site.origin}/page/t1`;
    await expectRefused(await fetch(lookupUrl(service, page)));
    await expectRefused(await fetch(`${service.url}/render/${page}`));
    await expectRefused(await fetch(`${service.url}/${page}`));
    await expectRefused(await fetch(lookupUrl(service, page), { headers: { 'x-prerender-token': 'wrong-token-123' } }));
    expect(site.hits.get('/page/t1') ?? 0).toBe(0);
  });

  it("serves prerender-node's X-Prerender-Token and X-Rendercache-Token; a cached hit still needs one", async () => {
    const page = `${site.origin}/page/t2`;
    const miss = await fetch(lookupUrl(service, page), { headers: { 'x-prerender-token': EDGE_TOKEN } });
    expect(miss.status).toBe(200);
    expect(miss.headers.get('x-rendercache-cache')).toBe('miss');
    const hit = await fetch(lookupUrl(service, page), { headers: { 'x-rendercache-token': EDGE_TOKEN } });
    expect(hit.status).toBe(200);
    expect(hit.headers.get('x-rendercache-cache')).toBe('hit');
    // The hot tier holds the page now: without a token it is still refused, not served from memory.
    await expectRefused(await fetch(lookupUrl(service, page)));
  });

  it('leaves the management API and health to their own rules', async () => {
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${service.url}/sites/management/api/v1/sites`)).status).toBe(401);
  });
});

describe('the lookup.tokens setting', () => {
  it('is empty by default (lookups open, limited to configured sites) and refuses a short token', () => {
    expect(parseConfig({}).lookup.tokens).toEqual([]);
    expect(() => parseConfig({ lookup: { tokens: ['short'] } })).toThrow(/lookup\.tokens\[0\]: a lookup token has at least 8 characters/);
  });
});
