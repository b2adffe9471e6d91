#!/usr/bin/env node
// Fixture site for the rendercache benchmark: a JavaScript-only site whose pages are
// blank until a script has fetched their data. Plain node:http, no dependencies.
//
// Routes
//   /page/<i>               (0 <= i < pages) HTML with an empty <body> and an inline script
//                           that fetches /api/page/<i>.json, then appends
//                           <div id="rendered" data-page="<i>"> holding a heading, an
//                           <img src="/assets/img/<i>.png"> and a <style> whose @font-face
//                           loads /assets/font/<i>.woff2 (used by the heading).
//   /api/page/<i>.json      the page's data, answered after apiDelayMs (50 ms)
//   /assets/img/<i>.png     a 1x1 PNG, answered after assetDelayMs (100 ms)
//   /assets/font/<i>.woff2  filler bytes standing in for a font, after assetDelayMs (100 ms)
//   /__stats                request counters per kind {page, api, img, font, other, total}
//                           (not counted itself); /__stats?reset=1 zeroes them afterwards
// Query strings are ignored by every route, so a harness can add ?run=<id> to make a
// caching renderer start cold. All responses carry Cache-Control: no-store.
//
// As a library:  const fx = await startFixture({ port: 0, pages: 200 });
//                fx.url, fx.stats(), fx.resetStats(), await fx.close()
// As a CLI:      node bench/fixture-site.mjs [--port 8080] [--host 127.0.0.1] [--pages 200]
//                  [--api-delay 50] [--asset-delay 100] [--max-seconds 3600]

import http from 'node:http';
import zlib from 'node:zlib';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

const KINDS = ['page', 'api', 'img', 'font', 'other'];

// ---- a 1x1 PNG built at start-up (signature, IHDR, IDAT, IEND) ----
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function pngChunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([len, typeAndData, crc]);
}
function onePixelPng() {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(1, 0); // width
  ihdr.writeUInt32BE(1, 4); // height
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  // compression, filter, interlace: 0
  const scanline = Buffer.from([0, 0x33, 0x66, 0x99, 0xff]); // filter byte + one pixel
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', zlib.deflateSync(scanline)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}
const PNG = onePixelPng();
// Not a decodable font: the browser still has to request it, which is what we count.
const FONT = Buffer.alloc(4096, 0x2a);

function pageHtml(i) {
  // The marker is built with DOM calls, so the served (unrendered) HTML never contains
  // `<div id="rendered"`: only a page that really ran its script passes the check.
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Fixture page ${i} (loading)</title>
</head>
<body>
<script>
(function () {
  var n = ${i};
  fetch('/api/page/' + n + '.json', { cache: 'no-store' })
    .then(function (res) { return res.json(); })
    .then(function (data) {
      document.title = data.title;
      var box = document.createElement('div');
      box.id = 'rendered';
      box.setAttribute('data-page', String(data.id));
      var family = 'FixtureFont' + data.id;
      box.innerHTML =
        '<style>@font-face{font-family:' + family + ';src:url(/assets/font/' + data.id + '.woff2) format("woff2")}' +
        '.t' + data.id + '{font-family:' + family + ',sans-serif}</style>' +
        '<h1 class="t' + data.id + '">' + data.title + '</h1>' +
        '<img src="/assets/img/' + data.id + '.png" width="1" height="1" alt="">' +
        '<p>' + data.text + '</p>' +
        '<nav>' + data.related.map(function (r) { return '<a href="/page/' + r + '">Page ' + r + '</a>'; }).join(' ') + '</nav>';
      document.body.appendChild(box);
    })
    .catch(function (err) { document.body.textContent = 'failed: ' + err; });
})();
</script>
</body>
</html>
`;
}

function pageData(i, pages) {
  return {
    id: i,
    title: `Fixture page ${i}`,
    text: `Synthetic content for page ${i} of ${pages}; it only exists after the script ran. `.repeat(12).trim(),
    related: [(i + 1) % pages, (i + 17) % pages, (i + 101) % pages],
  };
}

/**
 * Starts the fixture and resolves once it listens.
 * @returns {Promise<{url: string, port: number, stats(): object, resetStats(): void, close(): Promise<void>}>}
 */
export async function startFixture({ port = 0, host = '127.0.0.1', pages = 200, apiDelayMs = 50, assetDelayMs = 100 } = {}) {
  pages = Number(pages);
  const counts = {};
  const resetStats = () => {
    for (const k of [...KINDS, 'total']) counts[k] = 0;
  };
  resetStats();
  const stats = () => ({ ...counts });
  const timers = new Set();
  const later = (ms, fn) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
  const count = (kind) => {
    counts[kind]++;
    counts.total++;
  };
  const reply = (res, status, type, body) => {
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
    res.end(body);
  };

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    let m;
    if (path === '/__stats') {
      const body = JSON.stringify(stats());
      if ((req.url ?? '').includes('reset=1')) resetStats();
      return reply(res, 200, 'application/json', body);
    }
    if ((m = /^\/page\/(\d+)$/.exec(path)) && Number(m[1]) < pages) {
      count('page');
      return reply(res, 200, 'text/html; charset=utf-8', pageHtml(Number(m[1])));
    }
    if ((m = /^\/api\/page\/(\d+)\.json$/.exec(path)) && Number(m[1]) < pages) {
      count('api');
      const body = JSON.stringify(pageData(Number(m[1]), pages));
      return later(apiDelayMs, () => reply(res, 200, 'application/json', body));
    }
    if (/^\/assets\/img\/\d+\.png$/.test(path)) {
      count('img');
      return later(assetDelayMs, () => reply(res, 200, 'image/png', PNG));
    }
    if (/^\/assets\/font\/\d+\.woff2$/.test(path)) {
      count('font');
      return later(assetDelayMs, () => reply(res, 200, 'font/woff2', FONT));
    }
    count('other');
    return reply(res, 404, 'text/plain; charset=utf-8', 'not found\n');
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(port), host, resolve);
  });
  const actualPort = server.address().port;
  const url = `http://${host}:${actualPort}`;

  let closing;
  const close = () =>
    (closing ??= new Promise((resolve) => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.close(() => resolve());
      server.closeAllConnections();
    }));

  return { url, port: actualPort, stats, resetStats, close };
}

// ---- CLI ----
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      pages: { type: 'string', default: '200' },
      'api-delay': { type: 'string', default: '50' },
      'asset-delay': { type: 'string', default: '100' },
      'max-seconds': { type: 'string', default: '3600' },
    },
  });
  const fx = await startFixture({
    port: Number(values.port),
    host: values.host,
    pages: Number(values.pages),
    apiDelayMs: Number(values['api-delay']),
    assetDelayMs: Number(values['asset-delay']),
  });
  console.log(`fixture site on ${fx.url} (${values.pages} pages at /page/<i>, stats at /__stats)`);
  const stop = async (why) => {
    console.log(`fixture: ${why}; counters ${JSON.stringify(fx.stats())}`);
    await fx.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  // Never outlive a forgotten shell: stop by itself after --max-seconds (0 = never).
  const maxSeconds = Number(values['max-seconds']);
  if (maxSeconds > 0) setTimeout(() => void stop(`${maxSeconds} s elapsed`), maxSeconds * 1000).unref();
}
