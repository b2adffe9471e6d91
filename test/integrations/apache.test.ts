import { findApache, startApache } from './apache-support.js';
import { edgeSuite, rawGet } from './edge-suite.js';

/**
 * integrations/apache/rendercache.conf in a real Apache httpd virtual host in front of a
 * real app, against a real rendercache (the shared edge suite). As with nginx, the site's
 * origin in rendercache is Apache's public address: rendercache's Chromium loads the page
 * through Apache again, with X-Prerender, which the snippet leaves to the app.
 */
edgeSuite({
  name: 'Apache httpd',
  kit: 'integrations/apache',
  skipReason: findApache()
    ? null
    : 'Apache httpd is not installed (no `apache2` or `httpd`, or no modules in /usr/lib/apache2/modules): `apt-get install -y apache2`',
  siteOrigin: ({ port }) => `http://127.0.0.1:${port}`,
  escapedFragment: true,
  // mod_proxy: the connection to rendercache refused (AH00957), or the worker in its retry window (AH00940).
  downLog: /AH00957|AH00940|AH00959/,
  async start({ dir, port, rendercacheUrl, app }) {
    const apache = await startApache({ dir, port, rendercacheUrl, appPort: app.port });
    return {
      origin: apache.origin,
      log: () => apache.stderr(),
      getForOtherHost: (path, headers) => rawGet(`${apache.origin}${path}`, { ...headers, host: 'unknown.example' }),
      stop: () => apache.stop(),
    };
  },
});
