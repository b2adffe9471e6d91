import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** The swagger-ui-dist package folder, resolved once (no CDN: the files are served from here). */
const require = createRequire(import.meta.url);
const DIST = path.dirname(require.resolve('swagger-ui-dist/package.json'));
const DIST_VERSION = (JSON.parse(fs.readFileSync(path.join(DIST, 'package.json'), 'utf8')) as { version: string }).version;

export interface Asset {
  type: string;
  body: Buffer;
  etag: string;
  /** Vendor files change only with the package version; ours with the service. */
  cacheControl: string;
}

const VENDOR_CACHE = 'public, max-age=86400';
const OWN_CACHE = 'no-cache';

/** The only vendor files served, by name: nothing else of the folder is reachable. */
const VENDOR_FILES: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

/** Points Swagger UI at the document; a file of its own so the CSP needs no inline script. */
function initializer(openApiUrl: string): string {
  return `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: ${JSON.stringify(openApiUrl)},
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
});
`;
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rendercache API reference</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
<link rel="icon" type="image/png" href="/docs/favicon-16x16.png" sizes="16x16">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

/** The names under /docs/ that exist: the vendor whitelist and our initializer. */
export const DOC_FILES: readonly string[] = [...Object.keys(VENDOR_FILES), 'init.js'];

const own = (type: string, text: string, tag: string): Asset => ({
  type,
  body: Buffer.from(text),
  etag: `"rendercache-${tag}-${Buffer.from(text).length.toString(36)}"`,
  cacheControl: OWN_CACHE,
});

/** The assets of the reference page, read on first use and kept (vendor files are a few MB at most). */
export function docAssets(openApiUrl: string): { page(): Asset; file(name: string): Asset | undefined } {
  const cache = new Map<string, Asset>();
  const page = own('text/html; charset=utf-8', PAGE, 'page');
  const init = own('text/javascript; charset=utf-8', initializer(openApiUrl), 'init');
  return {
    page: () => page,
    file(name) {
      if (name === 'init.js') return init;
      // Own property only: a name such as "__proto__" or "../x" is not a file.
      if (!Object.hasOwn(VENDOR_FILES, name)) return undefined;
      let asset = cache.get(name);
      if (!asset) {
        asset = {
          type: VENDOR_FILES[name] ?? 'application/octet-stream',
          body: fs.readFileSync(path.join(DIST, name)),
          etag: `"swagger-ui-dist-${DIST_VERSION}-${name}"`,
          cacheControl: VENDOR_CACHE,
        };
        cache.set(name, asset);
      }
      return asset;
    },
  };
}
