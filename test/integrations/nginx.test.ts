import { edgeSuite, rawGet } from './edge-suite.js';
import { findNginx, startNginx } from './nginx-support.js';

/**
 * integrations/nginx/ in front of a real app, against a real nginx and a real
 * rendercache (the shared edge suite). The site's origin in rendercache is nginx's public
 * address: the snippet sends `/{scheme}://{Host}{URI}`, the URL the crawler asked for, and
 * rendercache's Chromium loads that URL through nginx again, with X-Prerender (the loop
 * guard sends it to the app).
 */
edgeSuite({
  name: 'nginx',
  kit: 'integrations/nginx',
  skipReason: findNginx() ? null : 'nginx is not installed (no `nginx` on PATH or in /usr/sbin): `apt-get install -y nginx`',
  siteOrigin: ({ port }) => `http://127.0.0.1:${port}`,
  escapedFragment: false,
  downLog: /connect\(\) failed|no live upstreams/,
  async start({ dir, port, rendercachePort, app }) {
    const nginx = await startNginx({ dir, port, rendercachePort, appPort: app.port });
    return {
      origin: nginx.origin,
      log: () => nginx.stderr(),
      getForOtherHost: (path, headers) => rawGet(`${nginx.origin}${path}`, { ...headers, host: 'unknown.example' }),
      stop: () => nginx.stop(),
    };
  },
});
