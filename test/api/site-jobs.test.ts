import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.js';
import { startFixtureSite, type FixtureSite } from '../fixtures/fixture-site.js';
import { json, type ErrorBody } from '../helpers/json.js';
import { managementApi, type JobStatusBody, type ListBody } from '../helpers/management-api.js';
import { startTestService } from '../helpers/service.js';

const TOKENS = { owner: 'owner-token-123', viewer: 'viewer-token-123', stranger: 'stranger-token-1' };

describe("a site's job history (GET /sites/{id}/jobs)", () => {
  let site: FixtureSite;
  let service: RunningService;
  const api = managementApi(() => service, TOKENS);

  beforeAll(async () => {
    site = await startFixtureSite();
    service = await startTestService({
      auth: { tokens: Object.entries(TOKENS).map(([user, token]) => ({ token, user })) },
      sites: [{ id: 'hist', name: 'History', origin: site.origin, pages: { urls: ['/page/h1'] }, members: { owner: 'Owner', viewer: 'Viewer' } }],
    });
  });
  afterAll(async () => {
    await service?.stop();
    await site?.close();
  });

  it('lists the jobs newest first, page by page, to a Viewer', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const started = await api.refresh('owner', 'hist');
      expect(started.status).toBe(202);
      const id = (await json<JobStatusBody>(started)).id;
      expect((await api.waitForEnd(id, 'owner')).progress).toBe('succeeded');
      ids.push(id);
    }
    const all = await json<ListBody<JobStatusBody>>(await api.call('viewer', 'GET', '/sites/hist/jobs'));
    expect(all.items.map((job) => job.id)).toEqual([...ids].reverse());
    expect(all).toMatchObject({ offset: 0, limit: 50, count: 3, hasMore: false });
    expect(all.items[0]).toMatchObject({ action: 'refresh', progress: 'succeeded', pageCount: 1, completedCount: 1 });
    const second = await json<ListBody<JobStatusBody>>(await api.call('viewer', 'GET', '/sites/hist/jobs?offset=1&limit=1'));
    expect(second.items.map((job) => job.id)).toEqual([ids[1]]);
    expect(second).toMatchObject({ offset: 1, limit: 1, count: 1, hasMore: true });
  });

  it('refuses a stranger, an unknown site and a bad query with the error body', async () => {
    expect((await api.call('stranger', 'GET', '/sites/hist/jobs')).status).toBe(404);
    expect((await api.call('owner', 'GET', '/sites/nope/jobs')).status).toBe(404);
    const bad = await api.call('owner', 'GET', '/sites/hist/jobs?limit=0');
    expect(bad.status).toBe(400);
    expect((await json<ErrorBody>(bad))['o:errorCode']).toBe('RENDERCACHE-400');
  });
});
