import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizePageUrl } from '../../../src/cache/key.js';
import type { RunningService } from '../../../src/service.js';
import { startFixtureSite, type FixtureSite } from '../../fixtures/fixture-site.js';
import { json } from '../../helpers/json.js';
import { API_BASE } from '../../helpers/management-api.js';
import { onRedis } from '../../helpers/redis-backend.js';
import { lookupUrl, REDIS_URL, startTestService, uniqueNamespace } from '../../helpers/service.js';
import { waitFor } from '../../helpers/wait-for.js';

const TOKEN = 'purge-owner-token';

/**
 * A purge on one instance of a cluster empties the other instances' hot tiers too: one
 * pub/sub message carries the purge's match, whatever the number of pages.
 */
describe('a purge on one of two instances sharing one Redis', () => {
  let site: FixtureSite;
  let a: RunningService;
  let b: RunningService;

  beforeAll(async () => {
    site = await startFixtureSite();
    const config = {
      ...onRedis(REDIS_URL),
      cache: { namespace: uniqueNamespace('purge') },
      auth: { tokens: [{ token: TOKEN, user: 'owner' }] },
      render: { concurrency: 2 },
      sites: [{ id: 'shared', name: 'Shared', origin: site.origin, members: { owner: 'Owner' } }],
    };
    [a, b] = await Promise.all([startTestService(config), startTestService(config)]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await site?.close();
  });

  const lookup = async (service: RunningService, url: string) => {
    const res = await fetch(lookupUrl(service, url));
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    return res.headers.get('x-rendercache-cache');
  };

  it("drops the purged pages from the other instance's hot tier, and only those", async () => {
    const purged = Array.from({ length: 3 }, (_, i) => `${site.origin}/page/cluster/${i}`);
    const kept = `${site.origin}/page/kept`;
    for (const url of [...purged, kept]) {
      await lookup(a, url);
      // b reads each one into its own hot tier.
      expect(await lookup(b, url)).toBe('hit');
      expect(b.cache.peek(normalizePageUrl(url)), url).toBeDefined();
    }

    const res = await fetch(`${a.url}${API_BASE}/sites/shared/cache?match=${encodeURIComponent('/page/cluster/*')}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ deleted: 3 });

    await waitFor('b to drop its hot copies', () => purged.every((url) => b.cache.peek(normalizePageUrl(url)) === undefined), 5000);
    expect(b.cache.peek(normalizePageUrl(kept))).toBeDefined();
    expect(await lookup(b, purged[0] ?? '')).toBe('miss');
    expect(await lookup(b, kept)).toBe('hit');
  });
});
