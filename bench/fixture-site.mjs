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
//   /heavy/<i>              (0 <= i < pages) the heavy kind: a page that makes 31 same-origin
//                           requests, as real pages make dozens: 5 stylesheets
//                           /heavy/<i>/css/<k>.css (the first declares the @font-face of
//                           /assets/font/<i>.woff2), 10 scripts /heavy/<i>/js/<k>.js (0-3
//                           blocking in <head>, 4-9 deferred; each registers its part), and
//                           15 calls /heavy/<i>/api/<k>.json made by script 9 in three
//                           waves of 5 (fetch, and XMLHttpRequest for k % 3 == 2), a wave
//                           started by the first answer of the one before. Some resources
//                           answer after 20-80 ms (heavyDelayMs: deterministic per page
//                           and resource, every wave's last call among them); the others
//                           at once. Once every call has
//                           answered, script 9 appends <div id="rendered" data-page="<i>">
//                           with a heading in the font, the <img src="/assets/img/<i>.png">,
//                           the 15 answers and <p id="heavy-check">scripts 10, styles 5,
//                           calls 15</p> (the counts it found: scripts that ran, stylesheets
//                           with rules, calls answered).
//   /__stats                request counters per kind {page, api, img, font, other, total}
//                           (not counted itself); /__stats?reset=1 zeroes them afterwards
// Query strings are ignored by every route, so a harness can add ?run=<id> to make a
// caching renderer start cold. All responses carry Cache-Control: no-store.
// Counter kinds: page, api (light pages), heavy, css, js, call (heavy pages), img, font
// (both kinds), other.
// isRendered(kind, html, i) tells whether a rendered HTML is page i of that kind, complete.
//
// As a library:  const fx = await startFixture({ port: 0, pages: 200 });
//                fx.url, fx.stats(), fx.resetStats(), await fx.close(),
//                fx.pageUrl(kind, i) ('light' -> /page/<i>, 'heavy' -> /heavy/<i>)
// As a CLI:      node bench/fixture-site.mjs [--port 8080] [--host 127.0.0.1] [--pages 200]
//                  [--api-delay 50] [--asset-delay 100] [--max-seconds 3600]

import http from 'node:http';
import zlib from 'node:zlib';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

const KINDS = ['page', 'api', 'heavy', 'css', 'js', 'call', 'img', 'font', 'other'];

/** The page kinds, and the path of page i of each. */
export const PAGE_KINDS = ['light', 'heavy'];
const pagePath = (kind, i) => (kind === 'heavy' ? `/heavy/${i}` : `/page/${i}`);

/** What the heavy page's check line reads when every script ran, every stylesheet loaded and every call answered. */
const HEAVY_CSS = 5;
const HEAVY_JS = 10;
const HEAVY_CALLS = 15;
const HEAVY_WAVE = 5; // calls per wave; a wave starts when the previous one has answered
const HEAVY_CHECK = `<p id="heavy-check">scripts ${HEAVY_JS}, styles ${HEAVY_CSS}, calls ${HEAVY_CALLS}</p>`;

/**
 * Is `html` page i of `kind`, rendered completely? Exactly one <div id="rendered"> and it
 * names page i; a heavy page also carries the full check line.
 */
export function isRendered(kind, html, i) {
  const markers = html.match(/id="rendered"/g) ?? [];
  if (markers.length !== 1 || !html.includes(`<div id="rendered" data-page="${i}">`)) return false;
  return kind !== 'heavy' || html.includes(HEAVY_CHECK);
}

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

// ---- the heavy kind ----

/**
 * Latency of one resource of heavy page i, ms: 40-80 ms for the last call of each wave,
 * 20-80 ms for about a fifth of the other calls, two of the scripts and one stylesheet; 0
 * for the rest. Deterministic.
 */
export function heavyDelayMs(i, type, k) {
  const spread = (seed) => 20 + (seed % 61);
  if (type === 'call') {
    if (k % HEAVY_WAVE === HEAVY_WAVE - 1) return 40 + ((i * 31 + k * 17) % 41);
    return (i + k) % 4 === 0 ? spread(i * 31 + k * 17) : 0;
  }
  if (type === 'js') return k === 3 || k === 7 ? spread(i * 13 + k * 7) : 0;
  if (type === 'css') return k === 1 ? spread(i * 11 + 5) : 0;
  return 0;
}

function heavyHtml(i) {
  const css = Array.from({ length: HEAVY_CSS }, (_, k) => `<link rel="stylesheet" href="/heavy/${i}/css/${k}.css">`).join('\n');
  const js = (k, attr) => `<script src="/heavy/${i}/js/${k}.js"${attr}></script>`;
  const head = Array.from({ length: 4 }, (_, k) => js(k, '')).join('\n');
  const deferred = Array.from({ length: HEAVY_JS - 4 }, (_, k) => js(k + 4, ' defer')).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Heavy fixture page ${i} (loading)</title>
${css}
${head}
</head>
<body>
<header class="c0-0"><a href="/heavy/${i + 1}">next</a></header>
<main id="app" class="c1-1"></main>
${deferred}
</body>
</html>
`;
}

function heavyCss(i, k) {
  const rules = [];
  if (k === 0)
    rules.push(`@font-face{font-family:HeavyFont${i};src:url(/assets/font/${i}.woff2) format("woff2")}`, `.hf${i}{font-family:HeavyFont${i},sans-serif}`);
  for (let j = 0; j < 60; j++) {
    rules.push(
      `.c${k}-${j}{margin:${j % 7}px ${k}px;padding:${j % 5}px;color:#${((i * 97 + j * 13 + k) % 4096).toString(16).padStart(3, '0')};border-bottom:1px solid rgba(0,0,0,.${j % 9})}`,
    );
    rules.push(`.c${k}-${j} > li:nth-child(${(j % 4) + 1}n){line-height:${1 + (j % 3) / 10}}`);
  }
  return rules.join('\n');
}

function heavyJs(i, k) {
  // Scripts 0-8: a "library" (functions defined, some run) that registers its part;
  // ~8 KB each, parsed and partly compiled like a real bundle's chunk.
  const helpers = Array.from(
    { length: 40 },
    (_, j) =>
      `  function h${j}(xs) { var out = []; for (var q = 0; q < xs.length; q++) { if ((xs[q].v + ${j}) % ${(j % 5) + 2} === 0) out.push(xs[q].label + '-${k}-${j}'); } return out; }`,
  ).join('\n');
  const part = `(function () {
  var H = window.__heavy || (window.__heavy = { parts: {}, answers: {} });
${helpers}
  var table = [];
  for (var j = 0; j < 300; j++) table.push({ id: j, label: 'item-${k}-' + j, v: (j * 2654435761 + ${i}) % 1000 });
  table.sort(function (a, b) { return a.v - b.v; });
  H.parts[${k}] = { rows: table.length, picked: h${k}(table).length, first: table[0].label };
})();
`;
  if (k < HEAVY_JS - 1) return part;
  // Script 9: the app. Three waves of five calls, each wave after the previous one answered.
  return `${part}
(function () {
  var n = ${i};
  var H = window.__heavy;
  function viaFetch(url) {
    return fetch(url, { cache: 'no-store' }).then(function (res) { return res.json(); });
  }
  function viaXhr(url) {
    return new Promise(function (resolve, reject) {
      var x = new XMLHttpRequest();
      x.open('GET', url);
      x.responseType = 'json';
      x.onload = function () { resolve(x.response); };
      x.onerror = function () { reject(new Error('xhr ' + url)); };
      x.send();
    });
  }
  function call(k) {
    var url = '/heavy/' + n + '/api/' + k + '.json';
    return (k % 3 === 2 ? viaXhr(url) : viaFetch(url)).then(function (d) { H.answers[k] = d; });
  }
  // Wave w + 1 needs the first answer of wave w (a list, then its details): it starts
  // while the rest of wave w is still in flight, so the network is never idle between
  // waves. The page is complete when all calls have answered.
  var answered = 0;
  var failed = false;
  function fail(err) {
    if (failed) return;
    failed = true;
    document.getElementById('app').textContent = 'failed: ' + err;
  }
  function wave(w) {
    var first = true;
    for (var k = w * ${HEAVY_WAVE}; k < (w + 1) * ${HEAVY_WAVE}; k++) {
      call(k).then(function () {
        answered++;
        if (first && w + 1 < ${HEAVY_CALLS / HEAVY_WAVE}) wave(w + 1);
        first = false;
        if (answered === ${HEAVY_CALLS} && !failed) render();
      }, fail);
    }
  }
  function count(o) { return Object.keys(o).length; }
  function render() {
    var styles = 0;
    for (var s = 0; s < document.styleSheets.length; s++) if (document.styleSheets[s].cssRules.length > 0) styles++;
    var box = document.createElement('div');
    box.id = 'rendered';
    box.setAttribute('data-page', String(n));
    var items = [];
    for (var k = 0; k < ${HEAVY_CALLS}; k++) {
      var a = H.answers[k];
      if (a) items.push('<li class="c' + (k % 5) + '-' + k + '"><b>' + a.title + '</b> ' + a.text + '</li>');
    }
    box.innerHTML =
      '<h1 class="hf' + n + '">Heavy fixture page ' + n + '</h1>' +
      '<img src="/assets/img/' + n + '.png" width="1" height="1" alt="">' +
      '<ul>' + items.join('') + '</ul>';
    var check = document.createElement('p');
    check.id = 'heavy-check';
    check.textContent = 'scripts ' + count(H.parts) + ', styles ' + styles + ', calls ' + count(H.answers);
    box.appendChild(check);
    document.getElementById('app').appendChild(box);
    document.title = 'Heavy fixture page ' + n;
  }
  wave(0);
})();
`;
}

function heavyCallData(i, k) {
  return {
    page: i,
    call: k,
    title: `Block ${k} of heavy page ${i}`,
    text: `Data of call ${k} for heavy page ${i}, only present after the call answered. `.repeat(3).trim(),
    tags: Array.from({ length: 8 }, (_, j) => `tag-${(i + k * j) % 50}`),
  };
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
    if ((m = /^\/heavy\/(\d+)$/.exec(path)) && Number(m[1]) < pages) {
      count('heavy');
      return reply(res, 200, 'text/html; charset=utf-8', heavyHtml(Number(m[1])));
    }
    if ((m = /^\/heavy\/(\d+)\/(css|js|api)\/(\d+)\.(css|js|json)$/.exec(path)) && Number(m[1]) < pages) {
      const [i, dir, k, ext] = [Number(m[1]), m[2], Number(m[3]), m[4]];
      const spec = {
        css: { ext: 'css', n: HEAVY_CSS, type: 'text/css; charset=utf-8', body: () => heavyCss(i, k) },
        js: { ext: 'js', n: HEAVY_JS, type: 'text/javascript; charset=utf-8', body: () => heavyJs(i, k) },
        api: { ext: 'json', n: HEAVY_CALLS, type: 'application/json', body: () => JSON.stringify(heavyCallData(i, k)) },
      }[dir];
      if (ext === spec.ext && k < spec.n) {
        const kind = dir === 'api' ? 'call' : dir;
        count(kind);
        const body = spec.body();
        const delay = heavyDelayMs(i, kind, k);
        if (delay === 0) return reply(res, 200, spec.type, body);
        return later(delay, () => reply(res, 200, spec.type, body));
      }
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

  const pageUrl = (kind, i) => `${url}${pagePath(kind, i)}`;
  return { url, port: actualPort, stats, resetStats, close, pageUrl };
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
  console.log(`fixture site on ${fx.url} (${values.pages} pages at /page/<i> and heavy ones at /heavy/<i>, stats at /__stats)`);
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
