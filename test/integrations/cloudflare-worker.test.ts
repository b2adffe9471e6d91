import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { BROWSER, edgeSuite, GOOGLEBOT, rawGet, SHELL_MARKER, startTestApp } from './edge-suite.js';
import { closeServer, startHangingServer } from './support.js';
import { startWorker } from './worker-support.js';

/**
 * integrations/cloudflare/worker.js in workerd (Miniflare 3) in front of a real app, against a
 * real rendercache (the shared edge suite). The Worker's origin is the app (Miniflare's
 * `upstream`), so page URLs name the app's origin, the configured site: rendercache's
 * Chromium loads the app directly, as a Worker's origin fetches would.
 */
edgeSuite({
  name: 'Cloudflare Worker (workerd)',
  kit: 'integrations/cloudflare',
  skipReason: null,
  siteOrigin: ({ app }) => app.origin,
  escapedFragment: true,
  async start({ port, rendercacheUrl, app }) {
    const worker = await startWorker({ port, upstream: app.origin, vars: { RENDERCACHE_URL: rendercacheUrl } });
    return {
      origin: worker.origin,
      log: () => '',
      // `localhost` is the same app under a host of no configured site.
      async getForOtherHost(path, headers) {
        const other = await startWorker({ port: await freePort(), upstream: `http://localhost:${app.port}`, vars: { RENDERCACHE_URL: rendercacheUrl } });
        try {
          return await rawGet(`${other.origin}${path}`, headers);
        } finally {
          await other.stop();
        }
      },
      stop: () => worker.stop(),
    };
  },
});

describe('Cloudflare Worker (integrations/cloudflare): its lookup', () => {
  it('asks /render?url= with the crawler User-Agent and the token, and falls back to the origin after RENDERCACHE_TIMEOUT_MS', async () => {
    const app = await startTestApp();
    const hanging = await startHangingServer();
    const worker = await startWorker({
      port: await freePort(),
      upstream: app.origin,
      vars: { RENDERCACHE_URL: `${hanging.url}/`, RENDERCACHE_TOKEN: 'lookup-token-1', RENDERCACHE_TIMEOUT_MS: '400' },
    });
    try {
      const started = performance.now();
      const res = await fetch(`${worker.origin}/products/slow?x=1&_escaped_fragment_=`, { headers: { 'user-agent': GOOGLEBOT } });
      const elapsed = performance.now() - started;
      expect(res.status).toBe(200);
      expect(res.headers.get('x-served-by')).toBe('app');
      expect(await res.text()).toContain(SHELL_MARKER);
      // The stand-in never answers: an answer at all is the Worker giving up on it. No lower
      // bound: workerd's clock only moves on I/O, so its timers may fire before 400 ms of ours.
      expect(elapsed).toBeLessThan(3_000);
      expect(hanging.requests).toHaveLength(1);
      const lookup = hanging.requests[0]!;
      expect(new URL(lookup.url, 'http://x').pathname).toBe('/render');
      expect(new URL(lookup.url, 'http://x').searchParams.get('url')).toBe(`${app.origin}/products/slow?x=1`);
      expect(lookup.headers['user-agent']).toBe(GOOGLEBOT);
      expect(lookup.headers['x-rendercache-token']).toBe('lookup-token-1');
      expect(lookup.headers['x-prerender-token']).toBe('lookup-token-1');
      expect(lookup.headers['cookie']).toBeUndefined();
      // A person's request never waits for rendercache.
      const human = await rawGet(`${worker.origin}/products/slow`, { 'user-agent': BROWSER, cookie: 'session=1' });
      expect(human.status).toBe(200);
      expect(human.body).toContain(SHELL_MARKER);
      expect(hanging.requests).toHaveLength(1);
    } finally {
      await worker.stop();
      await closeServer(hanging.server);
      await app.close();
    }
  });
});
