import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.js';
import { startFixtureSite, type FixtureSite } from '../fixtures/fixture-site.js';
import { API_BASE } from '../helpers/management-api.js';
import { managementRoutes, ROUTE_TOKENS, routeTestConfig, UNKNOWN_JOB } from '../helpers/management-routes.js';
import { errorBodyOf, rawRequest, requestBytes, type RawAnswer } from '../helpers/raw-http.js';
import { startTestService } from '../helpers/service.js';

/**
 * Malformed input against every route: the management API, the crawler lookups in their
 * three shapes, health, and bytes that are not HTTP at all. No answer may be a 5xx (but
 * 501, the documented answer to a method this service does not implement), and every
 * 4xx and 501 carries the JSON error body.
 */

const OWNER = { authorization: `Bearer ${ROUTE_TOKENS.owner}` };

interface Case {
  label: string;
  bytes: string;
}

let service: RunningService;
let site: FixtureSite;

beforeAll(async () => {
  site = await startFixtureSite();
  service = await startTestService(
    routeTestConfig({
      api: { maxBodyBytes: 4096 },
      sites: [
        { id: 'fixture', name: 'Fixture', origin: site.origin, pages: { urls: ['/page/1'] }, members: { owner: 'Owner' } },
        { id: 'off', name: 'Off', origin: 'http://127.0.0.1:9/off/', status: 'offline', members: { owner: 'Owner' } },
      ],
    }),
  );
});
afterAll(async () => {
  await service?.stop();
  await site?.close();
});

/** Every management route; the delete is of the offline site. */
const API_ROUTES = managementRoutes('main', 'off');
const POST_ROUTES = API_ROUTES.filter(([method]) => method === 'POST');

const req = (method: string, path: string, headers: Record<string, string> = {}, body = '') => requestBytes(method, path, headers, body);
const api = (method: string, path: string, headers: Record<string, string> = OWNER, body = '') =>
  req(method, `${API_BASE}${path}`, { prefer: 'respond-async', ...headers }, body);
const json = { ...OWNER, 'content-type': 'application/json' };

function corpus(): Case[] {
  const cases: Case[] = [];
  const add = (label: string, bytes: string) => cases.push({ label, bytes });

  // Management API: authentication, methods, query values, spellings of the path.
  const badQueries = [
    'limit=-1',
    'limit=abc',
    'limit=0',
    'limit=1e999',
    'offset=-5',
    'offset=99999999999999999999999',
    'offset=NaN',
    'includeDeleted=yes',
    'includeDeleted=',
    'links=all',
    'unknown=1',
    '%ZZ=1',
    'limit=1&limit=2',
    'q=status%20eq%20%22bogus%22',
    'q=%00',
    'links=none&links=none',
    `limit=${'9'.repeat(400)}`,
    'includeDeleted[]=true',
    '__proto__=1',
    'constructor=x',
  ];
  for (const [method, path] of API_ROUTES) {
    add(`${method} ${path} without a token`, api(method, path, {}));
    add(`${method} ${path} with a wrong token`, api(method, path, { authorization: 'Bearer wrong-token-000' }));
    add(`${method} ${path} with an empty bearer`, api(method, path, { authorization: 'Bearer ' }));
    add(`${method} ${path} with a huge token`, api(method, path, { authorization: `Bearer ${'t'.repeat(8000)}` }));
    for (const wrong of ['PUT', 'PATCH']) add(`${wrong} ${path}`, api(wrong, path));
    for (const unknown of ['PROPFIND', 'TRACE', 'LOCK']) add(`${unknown} ${path}`, api(unknown, path));
    for (const query of badQueries) add(`${method} ${path}?${query}`, api(method, `${path}?${query}`));
    add(`${method} ${path} upper-case`, req(method, `${API_BASE}${path}`.toUpperCase(), OWNER));
    add(`${method} ${path} %2F`, req(method, `${API_BASE}${path.replaceAll('/', '%2F')}`, OWNER));
    add(`${method} ${path} trailing slash`, api(method, `${path}/`));
    add(`${method} ${path} %00`, api(method, `${path}%00`));
    add(`${method} ${path} bad percent`, api(method, `${path}%E0%A4%A`));
  }

  // Bodies: broken JSON, wrong types, wrong framing, too large.
  const bodies: Array<[string, Record<string, string>, string]> = [
    ['truncated JSON', json, '{"pages": ['],
    ['not JSON', json, 'pages=/a'],
    ['JSON null', json, 'null'],
    ['JSON array', json, '[]'],
    ['JSON string', json, '"x"'],
    ['JSON number', json, '1e999'],
    ['pages not an array', json, '{"pages": "/a"}'],
    ['pages empty', json, '{"pages": []}'],
    ['pages of numbers', json, '{"pages": [1, 2]}'],
    ['pages of objects', json, '{"pages": [{}]}'],
    ['unknown key', json, '{"pages": ["/a"], "evil": true}'],
    ['__proto__ key', json, '{"__proto__": {"admin": true}}'],
    ['page outside the site', json, '{"pages": ["https://evil.example/"]}'],
    ['page with a broken URL', json, '{"pages": ["http://[::1"]}'],
    ['a very long page', json, JSON.stringify({ pages: ['/'.repeat(3000)] })],
    ['deep nesting', json, `${'['.repeat(2000)}${']'.repeat(2000)}`],
    ['trailing garbage', json, '{"pages": ["/a"]} x'],
    ['BOM first', json, '\ufeff{"pages": ["/a"]}'],
    ['invalid UTF-8', json, '{"pages": ["\udcff"]}'],
    ['NUL bytes', json, '{"pages": ["/a\u0000"]}'],
    ['text/plain', { ...OWNER, 'content-type': 'text/plain' }, '{"pages": ["/a"]}'],
    ['form', { ...OWNER, 'content-type': 'application/x-www-form-urlencoded' }, 'pages=/a'],
    ['multipart', { ...OWNER, 'content-type': 'multipart/form-data; boundary=x' }, '--x\r\n\r\n--x--'],
    ['no content type', OWNER, '{"pages": ["/a"]}'],
    ['json-patch', { ...OWNER, 'content-type': 'application/json-patch+json' }, '[]'],
    ['latin1 charset', { ...OWNER, 'content-type': 'application/json; charset=latin1' }, '{"pages": ["/a"]}'],
    ['gzip encoded', { ...json, 'content-encoding': 'gzip' }, '{"pages": ["/a"]}'],
    ['unknown encoding', { ...json, 'content-encoding': 'br, zz' }, '{"pages": ["/a"]}'],
    ['declared too large', { ...json, 'content-length': '999999' }, '{}'],
    ['larger than allowed', json, JSON.stringify({ pages: Array.from({ length: 400 }, (_, i) => `/page/${i}`) })],
    ['chunked too large', { ...json, 'transfer-encoding': 'chunked' }, `1400\r\n${'x'.repeat(0x1400)}\r\n0\r\n\r\n`],
    ['chunked broken JSON', { ...json, 'transfer-encoding': 'chunked' }, '3\r\n{"p\r\n0\r\n\r\n'],
  ];
  for (const [, path] of POST_ROUTES) {
    for (const [label, headers, body] of bodies) add(`POST ${path}: ${label}`, api('POST', path, headers, body));
  }
  add('GET /sites with a body', api('GET', '/sites', json, '{"x": 1}'));
  add('DELETE job with a broken body', api('DELETE', `/sites/_status/${UNKNOWN_JOB}`, json, '{'));

  // Site and job ids.
  const siteIds = [
    '..',
    '%2e%2e',
    '.',
    '%00',
    'a%2Fb',
    'name:',
    'name:%ZZ',
    `${'a'.repeat(300)}`,
    'name:' + 'x'.repeat(300),
    '%3Cscript%3E',
    "'%20OR%201=1",
    '%E2%80%AE',
    'main%20',
    '-',
    '_status',
    'MAIN',
    'name:Main%00',
    '%F0%9F%92%A9',
    'a.b',
    '%',
  ];
  for (const id of siteIds) {
    add(`GET site ${id}`, api('GET', `/sites/${id}`));
    add(`refresh site ${id}`, api('POST', `/sites/${id}/refresh`));
    add(`cache of site ${id}`, api('GET', `/sites/${id}/cache`));
  }
  const jobIds = [
    'abcdef0123456789abcdef0123456789',
    'ABC',
    `${UNKNOWN_JOB}0`,
    'ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ',
    '%00',
    '..',
    '%2F',
    `${UNKNOWN_JOB.slice(1)}%`,
  ];
  for (const id of jobIds) {
    add(`GET job ${id}`, api('GET', `/sites/_status/${id}`));
    add(`GET pages of job ${id}`, api('GET', `/sites/_status/${id}/pages`));
    add(`DELETE job ${id}`, api('DELETE', `/sites/_status/${id}`));
  }

  // Crawler lookups in their three shapes.
  const targets = [
    '',
    'notaurl',
    'javascript:alert(1)',
    'file:///etc/passwd',
    'data:text/html,x',
    'http://[::1',
    'http://',
    'https://',
    'http://unknown.example/',
    'http://127.0.0.1:9/off/page',
    'ftp://127.0.0.1/',
    'http://127.0.0.1:99999/',
    'http://user:pw@unknown.example/',
    `http://unknown.example/${'a'.repeat(6000)}`,
    'http://unknown.example/%0d%0aSet-Cookie:x',
    'http://%E0%A4%A/',
    'http://a b/',
    'http://unknown.example/\u0000',
    '//unknown.example/',
    'http:unknown.example',
    'HTTP://UNKNOWN.EXAMPLE/',
  ];
  for (const target of targets) {
    const encoded = encodeURIComponent(target);
    add(`/render?url=${target.slice(0, 40)}`, req('GET', `/render?url=${encoded}`));
    add(`/render/${target.slice(0, 40)}`, req('GET', `/render/${encoded}`));
    add(`/${target.slice(0, 40)}`, req('GET', `/${encoded}`));
  }
  for (const raw of [
    '/render',
    '/render?',
    '/render?url',
    '/render?url=%ZZ',
    '/render?url=http%3A%2F%2Funknown.example%2F&url=x',
    '/render/',
    '/render//',
    '/http:',
    '/https:',
    '/http%3A',
    '/http:/',
    '/https:%2F%2F',
    '/http://unknown.example/%ZZ',
    '/render/http:%2F%2Funknown.example',
  ]) {
    add(`GET ${raw}`, req('GET', raw));
    add(`HEAD ${raw}`, req('HEAD', raw));
  }
  for (const method of ['POST', 'PUT', 'DELETE', 'PROPFIND'])
    add(`${method} /render?url=`, req(method, `/render?url=${encodeURIComponent('http://unknown.example/')}`, {}, '{}'));
  // A page of a configured site, with request headers that make no sense.
  const page = `/render?url=${encodeURIComponent(`${site.origin}/page/1`)}`;
  for (const [name, value] of [
    ['if-none-match', 'garbage'],
    ['if-modified-since', 'not a date'],
    ['accept-encoding', 'gzip;q=abc'],
    ['accept-encoding', 'x,'.repeat(2000)],
    ['range', 'bytes=abc'],
    ['if-none-match', '*'],
    ['user-agent', '\u00ff'.repeat(100)],
  ] as const) {
    add(`lookup with ${name}: ${value.slice(0, 20)}`, req('GET', page, { [name]: value }));
  }
  add('lookup of a page that sets framing headers', req('GET', `/render?url=${encodeURIComponent(`${site.origin}/hostile-headers`)}`));

  // Health.
  for (const path of ['/healthz', '/readyz', '/metrics']) {
    for (const method of ['POST', 'PUT', 'DELETE', 'PROPFIND']) add(`${method} ${path}`, req(method, path, { 'content-type': 'application/json' }, '{'));
    add(`GET ${path}?%ZZ`, req('GET', `${path}?%ZZ`));
    add(`GET ${path}/x`, req('GET', `${path}/x`));
  }
  add('GET /', req('GET', '/'));
  add('GET *', req('GET', '*'));
  add('OPTIONS *', req('OPTIONS', '*'));
  add('GET absolute-form elsewhere', req('GET', 'http://evil.example/healthz'));
  add(`GET a 10 KB path`, req('GET', `/${'a'.repeat(10_000)}`));

  // Bytes that are not HTTP, or broken HTTP.
  const broken = [
    'BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n',
    'get /healthz HTTP/1.1\r\nHost: x\r\n\r\n',
    'GET /a b HTTP/1.1\r\nHost: x\r\n\r\n',
    'GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n',
    'GET /healthz HTTX/1.1\r\nHost: x\r\n\r\n',
    'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
    '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03',
    'GET /healthz HTTP/1.1\r\nHost: x\r\nbroken header\r\n\r\n',
    'GET /healthz HTTP/1.1\r\nHost: x\r\n : empty name\r\n\r\n',
    'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n',
    'GET /healthz HTTP/1.1\nHost: x\n\n',
    'GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n',
    'GET /healthz HTTP/1.1\r\n\r\n',
    `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    `GET /healthz HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 2500 }, (_, i) => `X-H${i}: v`).join('\r\n')}\r\n\r\n`,
    'POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
    'POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
    'POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
    'POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n',
    'POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n',
    'POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked, identity\r\n\r\n0\r\n\r\n',
    'POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=' + 'e'.repeat(20_000) + '\r\nhello\r\n0\r\n\r\n',
    'POST /healthz HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 2\r\n\r\n{}',
    'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n',
    'CONNECT 127.0.0.1:6379 HTTP/1.1\r\nHost: 127.0.0.1:6379\r\n\r\n',
    `POST ${API_BASE}/sites/main/refresh HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ROUTE_TOKENS.owner}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}`,
    `GET ${API_BASE}/sites HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ROUTE_TOKENS.owner}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`,
    `GET ${API_BASE}/sites HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ROUTE_TOKENS.owner}\x00\r\n\r\n`,
  ];
  broken.forEach((bytes, i) => add(`broken ${i}: ${JSON.stringify(bytes.slice(0, 40))}`, bytes));
  return cases;
}

describe('malformed input against every route', () => {
  it('never answers 5xx (but 501), never leaves an error without its JSON body', async () => {
    const cases = corpus();
    const results: Array<{ label: string; answer: RawAnswer; head: boolean }> = [];
    // A few at a time: quick, and one slow answer cannot hide another.
    const queue = [...cases];
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        for (let next = queue.shift(); next; next = queue.shift()) {
          const answer = await rawRequest(service.url, next.bytes, { timeoutMs: 30_000 });
          results.push({ label: next.label, answer, head: next.bytes.startsWith('HEAD ') });
        }
      }),
    );

    const serverErrors = results.filter((r) => r.answer.status >= 500 && r.answer.status !== 501);
    const unanswered = results.filter((r) => r.answer.status === 0);
    const bodiless = results.filter((r) => !r.head && r.answer.status >= 400 && errorBodyOf(r.answer) === null);
    const byStatus = new Map<number, number>();
    for (const r of results) byStatus.set(r.answer.status, (byStatus.get(r.answer.status) ?? 0) + 1);
    console.log(
      `malformed corpus: ${results.length} requests; by status ${JSON.stringify(Object.fromEntries([...byStatus].sort((a, b) => a[0] - b[0])))}; ` +
        `5xx other than 501: ${serverErrors.length}; unanswered: ${unanswered.length}; errors without a JSON body: ${bodiless.length}`,
    );

    const show = (list: typeof results) => list.map((r) => `${r.label} -> ${r.answer.status} ${r.answer.body.slice(0, 100)}`);
    expect(results.length).toBeGreaterThanOrEqual(300);
    expect(show(serverErrors)).toEqual([]);
    expect(show(unanswered)).toEqual([]);
    expect(show(bodiless)).toEqual([]);

    // Still serving afterwards.
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
  });
});
