#!/usr/bin/env node
// Fixture site of `npm run bench:freshness` (bench/freshness.mjs): a JavaScript-only site
// whose pages are filled by a fetch of their own JSON, with validators (ETag, Last-Modified)
// on everything, and a control endpoint that changes the data of chosen pages or a shared
// script. Plain node:http, no dependencies.
//
// Routes
//   /sitemap.xml          every page: /p/0 … /p/<pages-1>; above 50,000 pages a sitemap index
//                         of /sitemap-<k>.xml, 50,000 URLs each (the sitemaps.org limit)
//   /p/<n>                a small HTML shell: <script src="/js/app.js">, and on the widget
//                         pages (n % widgetEvery === 0) also <script src="/js/widget-1.js">.
//                         Its bytes never change (the change is in what it loads).
//   /js/app.js            shared by every page: fetches /data/<n>.json, then appends
//                         <main id="content" data-page="<n>" data-version="<v>"> with the
//                         data's title and text (which name the version too)
//   /js/widget-1.js       shared by the widget pages: appends
//                         <aside id="widget" data-widget-version="<w>"> "Widget version <w>"
//   /data/<n>.json        the page's data {id, version, title, text}, after dataDelayMs;
//                         strong ETag "d<n>-v<version>", Last-Modified of its last change
//   Every HTML, script and data answer carries a strong ETag and Last-Modified, and
//   Cache-Control: no-cache (a cache may keep it but must revalidate: Chromium's own cache
//   never serves an old version). A matching If-None-Match (or, without one, an
//   If-Modified-Since at or after Last-Modified) answers 304 with no body.
//   The markers are built with DOM calls, so the served shell never contains them: only a
//   page whose scripts ran passes the driver's check.
//
// Control (never counted in the stats)
//   POST /_control/change         {"pages": [n, …]} bumps the data version of those pages;
//                                 answers {changed, ignored}
//   POST /_control/change-script  bumps the widget script's version; answers {widgetVersion}
//   GET  /_control/state          {pages, widgetEvery, widgetPages, widgetVersion,
//                                 changedVersions: {n: version} (pages not at version 1)}
//   GET  /_control/stats          request counters (see below); ?reset=1 zeroes them after answering
//   Counters: requests per kind (html, data, script, sitemap, other), answers 304 per kind
//   (notModified), and the same per client: "browser" (a User-Agent with Chrome/ or HeadlessChrome/) or
//   "node" (anything else: discovery, revalidation from Node).
//
// As a library:  const fx = await startFreshnessFixture({ pages: 10000 });
//                fx.url, fx.state(), fx.stats(), fx.resetStats(), fx.change([n…]),
//                fx.changeScript(), fx.expected(n), await fx.close()
// As a CLI:      node bench/freshness-fixture.mjs [--port 8080] [--host 127.0.0.1] [--pages 10000]
//                  [--widget-every 100] [--data-delay 20] [--max-seconds 3600]

import http from 'node:http';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

export const WIDGET_SCRIPT = '/js/widget-1.js';
const URLS_PER_SITEMAP = 50_000;
const KINDS = ['html', 'data', 'script', 'sitemap', 'other'];
const MAX_CONTROL_BODY = 8 * 1024 * 1024;

const APP_JS = `(function () {
  var n = Number(document.documentElement.getAttribute('data-page'));
  fetch('/data/' + n + '.json')
    .then(function (res) {
      if (!res.ok) throw new Error('data answered ' + res.status);
      return res.json();
    })
    .then(function (data) {
      document.title = data.title;
      var main = document.createElement('main');
      main.id = 'content';
      main.setAttribute('data-page', String(data.id));
      main.setAttribute('data-version', String(data.version));
      var h1 = document.createElement('h1');
      h1.textContent = data.title;
      var p = document.createElement('p');
      p.textContent = data.text;
      main.appendChild(h1);
      main.appendChild(p);
      document.body.appendChild(main);
    })
    .catch(function (err) {
      document.body.setAttribute('data-error', String(err));
    });
})();
`;

const widgetJs = (version) => `(function () {
  var aside = document.createElement('aside');
  aside.id = 'widget';
  aside.setAttribute('data-widget-version', '${version}');
  aside.textContent = 'Widget version ${version}';
  document.body.appendChild(aside);
})();
`;

function pageHtml(n, widget) {
  return `<!doctype html>
<html lang="en" data-page="${n}">
<head>
<meta charset="utf-8">
<title>Freshness page ${n} (loading)</title>
<script src="/js/app.js" defer></script>${widget ? `\n<script src="${WIDGET_SCRIPT}" defer></script>` : ''}
</head>
<body>
</body>
</html>
`;
}

function pageData(n, version) {
  return {
    id: n,
    version,
    title: `Freshness page ${n} v${version}`,
    text: `Content of page ${n} at data version ${version}. `.repeat(6).trim(),
  };
}

function sitemapXml(origin, from, to) {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'];
  for (let n = from; n < to; n++) out.push(`<url><loc>${origin}/p/${n}</loc></url>`);
  out.push('</urlset>', '');
  return out.join('\n');
}

function sitemapIndexXml(origin, count) {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'];
  for (let k = 0; k < count; k++) out.push(`<sitemap><loc>${origin}/sitemap-${k}.xml</loc></sitemap>`);
  out.push('</sitemapindex>', '');
  return out.join('\n');
}

/** Seconds-precision HTTP date of ms (Last-Modified carries no milliseconds). */
const httpDate = (ms) => new Date(Math.floor(ms / 1000) * 1000).toUTCString();

/** True when the request's validators match the current ones (RFC 9110 §13.1: If-None-Match wins). */
function notModified(req, etag, lastModifiedMs) {
  const inm = req.headers['if-none-match'];
  if (inm !== undefined) {
    if (inm.trim() === '*') return true;
    const strip = (t) => t.trim().replace(/^W\//, '');
    return inm.split(',').some((t) => strip(t) === strip(etag));
  }
  const ims = req.headers['if-modified-since'];
  if (ims !== undefined) {
    const since = Date.parse(ims);
    return Number.isFinite(since) && Math.floor(lastModifiedMs / 1000) * 1000 <= since;
  }
  return false;
}

/**
 * Starts the fixture and resolves once it listens.
 * @param {{port?: number, host?: string, pages?: number, widgetEvery?: number, dataDelayMs?: number}} [options]
 */
export async function startFreshnessFixture({ port = 0, host = '127.0.0.1', pages = 10_000, widgetEvery = 100, dataDelayMs = 20 } = {}) {
  pages = Number(pages);
  widgetEvery = Number(widgetEvery);
  if (!Number.isInteger(pages) || pages < 1) throw new Error(`pages must be a positive integer, got ${pages}`);
  if (!Number.isInteger(widgetEvery) || widgetEvery < 1) throw new Error(`widgetEvery must be a positive integer, got ${widgetEvery}`);

  // Validators start a day in the past, so that every later change has a later Last-Modified.
  const bornMs = Math.floor(Date.now() / 1000) * 1000 - 86_400_000;
  const dataVersion = new Uint32Array(pages).fill(1);
  const dataModifiedMs = new Float64Array(pages).fill(bornMs);
  let widgetVersion = 1;
  let widgetModifiedMs = bornMs;
  /** A change's Last-Modified: now, and always a whole second after the previous one. */
  const nextModified = (previousMs) => Math.max(Math.floor(Date.now() / 1000) * 1000, previousMs + 1000);
  const isWidgetPage = (n) => n % widgetEvery === 0;

  const counts = {};
  const resetStats = () => {
    for (const group of ['requests', 'notModified', 'browser', 'node', 'browserNotModified', 'nodeNotModified']) {
      counts[group] = Object.fromEntries([...KINDS, 'total'].map((k) => [k, 0]));
    }
  };
  resetStats();
  const stats = () => JSON.parse(JSON.stringify(counts));
  const count = (req, kind, status) => {
    const client = /Chrome\//.test(req.headers['user-agent'] ?? '') ? 'browser' : 'node';
    for (const group of ['requests', client]) {
      counts[group][kind]++;
      counts[group].total++;
    }
    if (status === 304) {
      for (const group of ['notModified', `${client}NotModified`]) {
        counts[group][kind]++;
        counts[group].total++;
      }
    }
  };

  const timers = new Set();
  const later = (ms, fn) => {
    if (ms <= 0) return fn();
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  /** A validated resource: 304 when the validators match, else the body (HEAD: headers only). */
  const resource = (req, res, kind, { type, body, etag, lastModifiedMs, delayMs = 0 }) => {
    const fresh = notModified(req, etag, lastModifiedMs);
    count(req, kind, fresh ? 304 : 200);
    const headers = { etag, 'last-modified': httpDate(lastModifiedMs), 'cache-control': 'no-cache' };
    later(delayMs, () => {
      if (res.destroyed) return;
      if (fresh) {
        res.writeHead(304, headers);
        return res.end();
      }
      res.writeHead(200, { ...headers, 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  };
  const plain = (res, status, type, body, extra = {}) => {
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...extra });
    res.end(body);
  };
  const json = (res, status, value) => plain(res, status, 'application/json', `${JSON.stringify(value)}\n`);

  const state = () => {
    const changedVersions = {};
    for (let n = 0; n < pages; n++) if (dataVersion[n] !== 1) changedVersions[n] = dataVersion[n];
    return { pages, widgetEvery, widgetPages: Math.ceil(pages / widgetEvery), widgetVersion, changedVersions };
  };
  /** What page n must show now: its data version, and the widget version (null: no widget). */
  const expected = (n) => ({ dataVersion: dataVersion[n], widgetVersion: isWidgetPage(n) ? widgetVersion : null });
  const change = (list) => {
    let changed = 0;
    let ignored = 0;
    for (const n of new Set(list)) {
      if (!Number.isInteger(n) || n < 0 || n >= pages) {
        ignored++;
        continue;
      }
      dataVersion[n]++;
      dataModifiedMs[n] = nextModified(dataModifiedMs[n]);
      changed++;
    }
    return { changed, ignored };
  };
  const changeScript = () => {
    widgetVersion++;
    widgetModifiedMs = nextModified(widgetModifiedMs);
    return { widgetVersion };
  };

  const readJson = (req) =>
    new Promise((resolve, reject) => {
      let size = 0;
      const chunks = [];
      req.on('data', (c) => {
        size += c.length;
        if (size > MAX_CONTROL_BODY) {
          reject(new Error('body too large'));
          req.destroy();
        } else chunks.push(c);
      });
      req.on('end', () => {
        try {
          resolve(chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {});
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
      req.on('error', reject);
    });

  const control = async (req, res, path) => {
    if (path === '/_control/stats' && req.method === 'GET') {
      const body = stats();
      if ((req.url ?? '').includes('reset=1')) resetStats();
      return json(res, 200, body);
    }
    if (path === '/_control/state' && req.method === 'GET') return json(res, 200, state());
    if (path === '/_control/change' && req.method === 'POST') {
      let body;
      try {
        body = await readJson(req);
      } catch (err) {
        return json(res, 400, { error: `bad JSON body: ${err.message}` });
      }
      if (!Array.isArray(body?.pages)) return json(res, 400, { error: 'body must be {"pages": [n, …]}' });
      return json(res, 200, change(body.pages));
    }
    if (path === '/_control/change-script' && req.method === 'POST') {
      req.resume();
      return json(res, 200, changeScript());
    }
    return json(res, 404, { error: 'no such control route' });
  };

  let origin = '';
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path.startsWith('/_control/')) {
      control(req, res, path).catch((err) => json(res, 500, { error: String(err) }));
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      count(req, 'other', 405);
      return plain(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD' });
    }
    let m;
    if ((m = /^\/p\/(\d+)$/.exec(path)) && Number(m[1]) < pages) {
      const n = Number(m[1]);
      return resource(req, res, 'html', { type: 'text/html; charset=utf-8', body: pageHtml(n, isWidgetPage(n)), etag: `"h${n}"`, lastModifiedMs: bornMs });
    }
    if ((m = /^\/data\/(\d+)\.json$/.exec(path)) && Number(m[1]) < pages) {
      const n = Number(m[1]);
      const v = dataVersion[n];
      return resource(req, res, 'data', {
        type: 'application/json',
        body: JSON.stringify(pageData(n, v)),
        etag: `"d${n}-v${v}"`,
        lastModifiedMs: dataModifiedMs[n],
        delayMs: dataDelayMs,
      });
    }
    if (path === '/js/app.js') {
      return resource(req, res, 'script', { type: 'text/javascript; charset=utf-8', body: APP_JS, etag: '"app-1"', lastModifiedMs: bornMs });
    }
    if (path === WIDGET_SCRIPT) {
      return resource(req, res, 'script', {
        type: 'text/javascript; charset=utf-8',
        body: widgetJs(widgetVersion),
        etag: `"widget-1-v${widgetVersion}"`,
        lastModifiedMs: widgetModifiedMs,
      });
    }
    if (path === '/sitemap.xml') {
      const sitemaps = Math.ceil(pages / URLS_PER_SITEMAP);
      const body = sitemaps > 1 ? sitemapIndexXml(origin, sitemaps) : sitemapXml(origin, 0, pages);
      return resource(req, res, 'sitemap', { type: 'application/xml', body, etag: `"sitemap-${pages}"`, lastModifiedMs: bornMs });
    }
    if ((m = /^\/sitemap-(\d+)\.xml$/.exec(path)) && pages > URLS_PER_SITEMAP && Number(m[1]) * URLS_PER_SITEMAP < pages) {
      const k = Number(m[1]);
      const body = sitemapXml(origin, k * URLS_PER_SITEMAP, Math.min(pages, (k + 1) * URLS_PER_SITEMAP));
      return resource(req, res, 'sitemap', { type: 'application/xml', body, etag: `"sitemap-${pages}-${k}"`, lastModifiedMs: bornMs });
    }
    if (path === '/robots.txt') {
      count(req, 'other', 200);
      return plain(res, 200, 'text/plain; charset=utf-8', `User-agent: *\nAllow: /\nSitemap: ${origin}/sitemap.xml\n`);
    }
    count(req, 'other', 404);
    return plain(res, 404, 'text/plain; charset=utf-8', 'not found\n');
  });
  server.keepAliveTimeout = 65_000;

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(port), host, resolve);
  });
  const actualPort = server.address().port;
  origin = `http://${host}:${actualPort}`;

  let closing;
  const close = () =>
    (closing ??= new Promise((resolve) => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.close(() => resolve());
      server.closeAllConnections();
    }));

  return { url: origin, port: actualPort, pages, widgetEvery, isWidgetPage, state, expected, change, changeScript, stats, resetStats, close };
}

// ---- CLI ----
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      pages: { type: 'string', default: '10000' },
      'widget-every': { type: 'string', default: '100' },
      'data-delay': { type: 'string', default: '20' },
      'max-seconds': { type: 'string', default: '3600' },
    },
  });
  const fx = await startFreshnessFixture({
    port: Number(values.port),
    host: values.host,
    pages: Number(values.pages),
    widgetEvery: Number(values['widget-every']),
    dataDelayMs: Number(values['data-delay']),
  });
  console.log(`freshness fixture on ${fx.url} (${fx.pages} pages at /p/<n>, sitemap /sitemap.xml, control /_control/{change,change-script,state,stats})`);
  const stop = async (why) => {
    console.log(`freshness fixture: ${why}; counters ${JSON.stringify(fx.stats().requests)}`);
    await fx.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  // Never outlive a forgotten shell: stop by itself after --max-seconds (0 = never).
  const maxSeconds = Number(values['max-seconds']);
  if (maxSeconds > 0) setTimeout(() => void stop(`${maxSeconds} s elapsed`), maxSeconds * 1000).unref();
}
