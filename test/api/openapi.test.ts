/**
 * The OpenAPI document against the running service: every route Koa holds is in it (and
 * nothing else), and real answers of every route (success and the errors a test can
 * provoke) validate against it with ajv (JSON Schema 2020-12, as OpenAPI 3.1 uses).
 */
import type Router from '@koa/router';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';
import type Koa from 'koa';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthRoutes } from '../../src/api/health-routes.js';
import { apiDocsRoutes, OPENAPI_PATH } from '../../src/api/openapi/docs-routes.js';
import { openApiPath, UNDOCUMENTED } from '../../src/api/openapi/document.js';
import { sitesRoutes, type SitesRoutesDeps } from '../../src/api/routes/index.js';
import type { RunningService } from '../../src/service.js';
import { startFixtureSite, type FixtureSite } from '../fixtures/fixture-site.js';
import { API_BASE } from '../helpers/management-api.js';
import { ROUTE_TOKENS, routeTestConfig, UNKNOWN_JOB } from '../helpers/management-routes.js';
import { rawRequest, requestBytes, type RawAnswer } from '../helpers/raw-http.js';
import { startTestService } from '../helpers/service.js';
import { waitFor } from '../helpers/wait-for.js';

interface Operation {
  responses: Record<string, { content?: Record<string, { schema?: object }> }>;
  [UNDOCUMENTED]?: boolean;
}
interface OpenApi {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, object> };
}

const TOKENS = { ...ROUTE_TOKENS, stranger: 'stranger-token-123' } as const;
type Who = keyof typeof TOKENS | null;

let fixture: FixtureSite;
let service: RunningService;
let doc: OpenApi;
const ajv = new Ajv2020({ allErrors: true, strict: false });
// ajv-formats is CommonJS: its default export is the plugin (or carries it as .default).
const addFormats = ((addFormatsPlugin as unknown as { default?: unknown }).default ?? addFormatsPlugin) as (a: Ajv2020) => void;
addFormats(ajv);
const validators = new Map<object, ValidateFunction>();
/** `${METHOD} ${path} ${status}` of every answer checked against the document. */
const validated = new Set<string>();
const problems: string[] = [];

beforeAll(async () => {
  fixture = await startFixtureSite();
  const members = { owner: 'Owner', viewer: 'Viewer' };
  const base = routeTestConfig({
    api: { bodyReadTimeoutMs: 300 },
    sites: [
      { id: 'fix', name: 'Fix', origin: fixture.origin, pages: { urls: ['/vary'] }, members },
      { id: 'slowsite', name: 'Slow', origin: fixture.origin, pages: { urls: ['/slow?delay=4000'] }, members },
      { id: 'life', name: 'Life', origin: fixture.origin, pages: { urls: ['/'] }, members },
      { id: 'secure', name: 'Secure', origin: fixture.origin, security: 'secure', pages: { urls: ['/'] }, members },
    ],
  });
  service = await startTestService({ ...base, auth: { tokens: Object.entries(TOKENS).map(([user, token]) => ({ token, user })) } });
  doc = (await (await fetch(`${service.url}${OPENAPI_PATH}`)).json()) as OpenApi;
  // Named schemas are referenced as #/components/schemas/X: give ajv the components as one schema.
  const text = JSON.stringify(doc.components.schemas).replaceAll('"#/components/schemas/', '"components.json#/$defs/');
  ajv.addSchema({ $id: 'components.json', $defs: JSON.parse(text) as object });
}, 60_000);

afterAll(async () => {
  await service?.stop();
  await fixture?.close();
});

/** The documented operation of a request: its OpenAPI path (templated) and method. */
function operationOf(method: string, docPath: string): Operation | undefined {
  return doc.paths[docPath]?.[method.toLowerCase()];
}

/**
 * Checks one real answer against the document: the status is documented for the
 * operation, the media type is one it names, and a JSON body validates. Problems are
 * collected, each naming the route, the status and ajv's error.
 */
async function check(method: string, docPath: string, res: Response): Promise<unknown> {
  const where = `${method} ${docPath} -> ${res.status}`;
  const text = await res.text();
  // HEAD is GET without a body (koa-router answers it on every GET route).
  const op = operationOf(method === 'HEAD' && !operationOf('HEAD', docPath) ? 'GET' : method, docPath);
  if (!op) {
    problems.push(`${where}: no such operation in the document`);
    return undefined;
  }
  const response = op.responses[String(res.status)] ?? op.responses.default;
  if (!response) {
    problems.push(`${where}: status not documented (documented: ${Object.keys(op.responses).join(', ')})`);
    return undefined;
  }
  validated.add(`${method} ${docPath} ${res.status}`);
  const content = response.content;
  if (!content || method === 'HEAD' || res.status === 304) return undefined;
  const essence = (type: string | null) => (type ?? '').split(';')[0]?.trim().toLowerCase();
  const mediaType = Object.keys(content).find((key) => essence(key) === essence(res.headers.get('content-type')));
  if (!mediaType) {
    problems.push(`${where}: content-type ${res.headers.get('content-type')} not documented (${Object.keys(content).join(', ')})`);
    return undefined;
  }
  const schema = content[mediaType]?.schema;
  if (mediaType !== 'application/json' || !schema) return text;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    problems.push(`${where}: not JSON: ${text.slice(0, 80)}`);
    return undefined;
  }
  let validate = validators.get(schema);
  if (!validate) {
    const rewritten = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', '"components.json#/$defs/')) as object;
    validate = ajv.compile(rewritten);
    validators.set(schema, validate);
  }
  if (!validate(body)) problems.push(`${where}: ${ajv.errorsText(validate.errors)} in ${text.slice(0, 200)}`);
  return body;
}

/** A raw answer (conditional requests, slow bodies: what fetch would change) checked the same way. */
async function checkRaw(method: string, docPath: string, answer: RawAnswer): Promise<void> {
  const empty = answer.status === 204 || answer.status === 304 || method === 'HEAD';
  await check(method, docPath, new Response(empty ? null : answer.body, { status: answer.status, headers: answer.headers }));
}

/** The routes the service's own routers hold (walked from their stacks, built as the service builds them). */
function registeredRoutes(): string[] {
  // Declaring routes never touches the deps but the edge.
  const deps = { edge: (_ctx: Koa.Context, next: Koa.Next) => next() } as unknown as SitesRoutesDeps;
  const routers: Router[] = [
    sitesRoutes(deps),
    healthRoutes({ browser: () => true, cache: () => Promise.resolve(true), engine: () => Promise.resolve(true) }, new Registry()),
    apiDocsRoutes(),
  ];
  return routers.flatMap((router) =>
    router.stack.flatMap((layer) => layer.methods.filter((m) => m !== 'HEAD').map((m) => `${m} ${openApiPath(String(layer.path))}`)),
  );
}

/** Calls the management API and checks the answer; `docPath` after API_BASE, templated. */
async function api(
  who: Who,
  method: string,
  path: string,
  docPath: string,
  options: { body?: string; headers?: Record<string, string>; async?: boolean } = {},
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const headers: Record<string, string> = {
    ...(who ? { authorization: `Bearer ${TOKENS[who]}` } : {}),
    ...(options.async ? { prefer: 'respond-async' } : {}),
    ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
    ...options.headers,
  };
  const res = await fetch(`${service.url}${API_BASE}${path}`, {
    method,
    redirect: 'manual',
    headers,
    ...(options.body !== undefined ? { body: options.body } : {}),
  });
  const body = await check(method, `${API_BASE}${docPath}`, res);
  return { status: res.status, body, headers: res.headers };
}

/** Any call of the public surface (crawler lookups, health, docs), checked the same way. */
async function plain(method: string, url: string, docPath: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${service.url}${url}`, { method, redirect: 'manual', headers });
  const etag = res.headers.get('etag');
  const body = await check(method, docPath, res);
  return { status: res.status, body, etag };
}

const noProblems = () => {
  const found = problems.splice(0);
  expect(found).toEqual([]);
};

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 and holds every route Koa has, and only those', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    // A route a router holds without a doc is listed, flagged: name it.
    const undocumented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([, op]) => op[UNDOCUMENTED])
        .map(([m]) => `${m.toUpperCase()} ${path}`),
    );
    expect(undocumented, 'routes registered without a doc (give route() its doc)').toEqual([]);

    const registered = registeredRoutes();
    expect(registered.length).toBeGreaterThan(20);
    const missing = registered.filter((route) => !documented.includes(route));
    expect(missing, 'registered in Koa, missing from the document').toEqual([]);
    // The crawler lookups are middleware, not a router: their three URL shapes.
    for (const path of ['/render', '/render/{pageUrl}', '/{pageUrl}']) {
      expect(documented).toContain(`GET ${path}`);
      expect(documented).toContain(`HEAD ${path}`);
    }

    // Every documented route exists in the running service: never the router's 404/405/501.
    const sample: Record<string, string> = { id: 'fix', jobId: UNKNOWN_JOB, file: 'init.js', pageUrl: encodeURIComponent(`${fixture.origin}/vary`) };
    const absent: string[] = [];
    for (const route of documented) {
      const [method = '', path = ''] = route.split(' ');
      const concrete = path.replace(/\{(\w+)\}/g, (_m, name: string) => sample[name] ?? name) + (path === '/render' ? `?url=${sample.pageUrl}` : '');
      const res = await fetch(`${service.url}${concrete}`, {
        method,
        redirect: 'manual',
        headers: { authorization: `Bearer ${TOKENS.viewer}`, 'content-type': 'application/json' },
        ...(method === 'POST' ? { body: '{' } : {}),
      });
      const text = method === 'HEAD' ? '' : await res.text();
      const code = /"o:errorCode":"([^"]+)"/.exec(text)?.[1];
      if (['RENDERCACHE-404', 'RENDERCACHE-405', 'RENDERCACHE-501'].includes(code ?? '') || (method === 'HEAD' && res.status >= 400))
        absent.push(`${route} (${concrete}) -> ${res.status} ${code ?? ''}`);
    }
    expect(absent, 'documented, not served').toEqual([]);
  }, 60_000);

  it('describes the answers of the site routes', async () => {
    await api('owner', 'GET', '/sites', '/sites');
    await api('viewer', 'GET', '/sites?includeDeleted=true&links=none&offset=1&limit=500', '/sites');
    expect((await api('owner', 'GET', '/sites?offset=-1', '/sites')).status).toBe(400);
    expect((await api(null, 'GET', '/sites', '/sites')).status).toBe(401);
    expect((await api('owner', 'GET', '/sites/fix', '/sites/{id}')).status).toBe(200);
    expect((await api('owner', 'GET', '/sites/name:Fix?links=none', '/sites/{id}')).status).toBe(200);
    expect((await api('stranger', 'GET', '/sites/fix', '/sites/{id}')).status).toBe(404);
    expect((await api('owner', 'GET', '/sites/nope', '/sites/{id}')).status).toBe(404);
    expect((await api('owner', 'GET', '/sites/bad!id', '/sites/{id}')).status).toBe(400);
    expect((await api('owner', 'GET', '/sites/fix?unknown=1', '/sites/{id}')).status).toBe(400);
    expect((await api('owner', 'POST', '/sites/fix/activate', '/sites/{id}/activate', { body: 'x', headers: { 'content-type': 'text/plain' } })).status).toBe(
      415,
    );
    // A body slower than api.bodyReadTimeoutMs: 408.
    const slowBody = requestBytes(
      'POST',
      `${API_BASE}/sites/fix/refresh`,
      {
        authorization: `Bearer ${TOKENS.owner}`,
        prefer: 'respond-async',
        'content-type': 'application/json',
        'content-length': '40',
      },
      '{"pages":',
    );
    const timedOut = await rawRequest(service.url, slowBody);
    expect(timedOut.status).toBe(408);
    await checkRaw('POST', `${API_BASE}/sites/{id}/refresh`, timedOut);
    expect((await api('owner', 'OPTIONS', '/sites/fix', '/sites/{id}')).status).toBe(204);
    expect((await api(null, 'OPTIONS', '/sites/fix', '/sites/{id}')).status).toBe(401);
    // 405 belongs to no operation: checked as the path's GET would answer it.
    const put = await fetch(`${service.url}${API_BASE}/sites/fix`, { method: 'PUT', headers: { authorization: `Bearer ${TOKENS.owner}` } });
    expect(put.status).toBe(405);
    await check('GET', `${API_BASE}/sites/{id}`, put);
    validated.add(`PUT ${API_BASE}/sites/{id} 405`);
    noProblems();
  });

  it('describes the answers of the lifecycle routes', async () => {
    expect((await api('owner', 'POST', '/sites/life/activate', '/sites/{id}/activate')).status).toBe(409);
    expect((await api('viewer', 'POST', '/sites/life/deactivate', '/sites/{id}/deactivate')).status).toBe(403);
    expect((await api('owner', 'DELETE', '/sites/life', '/sites/{id}')).status).toBe(409);
    expect((await api('owner', 'POST', '/sites/life/restore', '/sites/{id}/restore')).status).toBe(409);
    expect((await api('owner', 'POST', '/sites/life/deactivate', '/sites/{id}/deactivate')).status).toBe(200);
    expect((await api('owner', 'DELETE', '/sites/life', '/sites/{id}')).status).toBe(204);
    expect((await api('owner', 'POST', '/sites/life/activate?includeDeleted=true', '/sites/{id}/activate')).status).toBe(409);
    expect((await api('owner', 'POST', '/sites/life/deactivate', '/sites/{id}/deactivate')).status).toBe(404);
    expect((await api('owner', 'POST', '/sites/life/restore', '/sites/{id}/restore')).status).toBe(200);
    expect((await api('owner', 'POST', '/sites/life/activate', '/sites/{id}/activate')).status).toBe(200);
    expect((await api('stranger', 'DELETE', '/sites/life', '/sites/{id}')).status).toBe(404);
    expect((await api('owner', 'POST', '/sites/life/activate', '/sites/{id}/activate', { body: '{' })).status).toBe(400);
    noProblems();
  });

  it('describes the answers of refresh, origin restart, jobs and cache', async () => {
    expect((await api('owner', 'GET', '/sites/fix/cache/status', '/sites/{id}/cache/status')).status).toBe(204);
    expect((await api('owner', 'POST', '/sites/fix/refresh', '/sites/{id}/refresh')).status).toBe(400);
    expect((await api('viewer', 'POST', '/sites/fix/refresh', '/sites/{id}/refresh', { async: true })).status).toBe(403);
    expect((await api('owner', 'POST', '/sites/secure/refresh', '/sites/{id}/refresh', { async: true })).status).toBe(409);
    const tooMany = JSON.stringify({ pages: Array.from({ length: 1001 }, (_, i) => `/p${i}`) });
    expect((await api('owner', 'POST', '/sites/fix/refresh', '/sites/{id}/refresh', { async: true, body: tooMany })).status).toBe(413);
    const huge = JSON.stringify({ pages: ['/'.padEnd(300_000, 'x')] });
    expect((await api('owner', 'POST', '/sites/fix/refresh', '/sites/{id}/refresh', { async: true, body: huge })).status).toBe(413);
    expect((await api('owner', 'POST', '/sites/fix/refresh', '/sites/{id}/refresh', { async: true, body: '{"pages":[]}' })).status).toBe(400);

    const started = await api('owner', 'POST', '/sites/fix/refresh', '/sites/{id}/refresh', { async: true, body: '{"pages":["/vary"]}' });
    expect(started.status).toBe(202);
    const jobId = (started.body as { id: string }).id;
    await api('viewer', 'GET', `/sites/_status/${jobId}`, '/sites/_status/{jobId}');
    const progress = async () =>
      (
        (await (await fetch(`${service.url}${API_BASE}/sites/_status/${jobId}`, { headers: { authorization: `Bearer ${TOKENS.owner}` } })).json()) as {
          progress: string;
        }
      ).progress;
    await waitFor('the refresh to succeed', async () => (await progress()) === 'succeeded', 30_000);
    expect((await api('owner', 'GET', `/sites/_status/${jobId}`, '/sites/_status/{jobId}')).status).toBe(200);
    expect((await api('owner', 'GET', `/sites/_status/${jobId}/pages?q=status eq "complete"`, '/sites/_status/{jobId}/pages')).status).toBe(200);
    const searched = await api('owner', 'GET', `/sites/_status/${jobId}/pages?search=VARY`, '/sites/_status/{jobId}/pages');
    expect((searched.body as { totalResults: number }).totalResults).toBe(1);
    expect((await api('owner', 'GET', `/sites/_status/${jobId}/pages?q=bad`, '/sites/_status/{jobId}/pages')).status).toBe(400);
    expect((await api('owner', 'GET', `/sites/_status/${UNKNOWN_JOB}/pages`, '/sites/_status/{jobId}/pages')).status).toBe(404);
    expect((await api('owner', 'GET', '/sites/_status/not-a-job', '/sites/_status/{jobId}')).status).toBe(400);
    expect((await api('stranger', 'GET', `/sites/_status/${jobId}`, '/sites/_status/{jobId}')).status).toBe(404);
    expect((await api('viewer', 'DELETE', `/sites/_status/${jobId}`, '/sites/_status/{jobId}')).status).toBe(403);
    expect((await api('owner', 'DELETE', `/sites/_status/${jobId}`, '/sites/_status/{jobId}')).status).toBe(409);
    expect((await api('owner', 'GET', '/sites/fix/cache', '/sites/{id}/cache')).status).toBe(200);
    expect((await api('owner', 'GET', '/sites/fix/cache/status', '/sites/{id}/cache/status')).status).toBe(303);
    expect((await api('stranger', 'GET', '/sites/fix/cache', '/sites/{id}/cache')).status).toBe(404);
    // What the console reads: an ended job's events (progress, then end), site stats, the inspector.
    const events = await api('viewer', 'GET', `/sites/_status/${jobId}/events`, '/sites/_status/{jobId}/events');
    expect(events.status).toBe(200);
    expect(String(events.body)).toMatch(/event: progress[\s\S]*event: end/);
    expect((await api('owner', 'GET', '/sites/fix/stats', '/sites/{id}/stats')).status).toBe(200);
    const inspected = `/sites/fix/inspect?url=${encodeURIComponent(`${fixture.origin}/vary`)}`;
    expect((await api('viewer', 'GET', inspected, '/sites/{id}/inspect')).status).toBe(200);
    expect((await api('owner', 'GET', '/sites/fix/inspect?url=https%3A%2F%2Felsewhere.example%2F', '/sites/{id}/inspect')).status).toBe(400);
    expect((await api('owner', 'GET', '/sites/fix/jobs', '/sites/{id}/jobs')).status).toBe(200);
    expect((await api('owner', 'GET', '/sites/fix/jobs?limit=0', '/sites/{id}/jobs')).status).toBe(400);
    expect((await api('owner', 'GET', '/sites/nope/jobs', '/sites/{id}/jobs')).status).toBe(404);

    // A job that is still rendering: cancel it (200), and a restart while it runs.
    const slow = await api('owner', 'POST', '/sites/slowsite/refresh', '/sites/{id}/refresh', { async: true });
    expect(slow.status).toBe(202);
    expect((await api('owner', 'POST', '/sites/slowsite/refresh', '/sites/{id}/refresh', { async: true })).status).toBe(202);
    const slowId = (slow.body as { id: string }).id;
    expect((await api('owner', 'DELETE', `/sites/_status/${slowId}`, '/sites/_status/{jobId}')).status).toBe(200);

    expect((await api('owner', 'POST', '/sites/fix/origin/restart', '/sites/{id}/origin/restart')).status).toBe(400);
    expect((await api('owner', 'POST', '/sites/fix/origin/restart', '/sites/{id}/origin/restart', { async: true })).status).toBe(409);
    expect((await api('owner', 'POST', '/sites/fix/origin/restart', '/sites/{id}/origin/restart', { async: true, body: '{}' })).status).toBe(400);
    expect((await api('viewer', 'POST', '/sites/fix/origin/restart', '/sites/{id}/origin/restart', { async: true })).status).toBe(403);
    expect((await api('stranger', 'POST', '/sites/fix/origin/restart', '/sites/{id}/origin/restart', { async: true })).status).toBe(404);
    noProblems();
  }, 60_000);

  it('describes crawler lookups, health, metrics and itself', async () => {
    const page = `${fixture.origin}/vary`;
    const miss = await plain('GET', `/render?url=${encodeURIComponent(`${fixture.origin}/csr`)}`, '/render');
    expect(miss.status).toBe(200);
    const hit = await plain('GET', `/render?url=${encodeURIComponent(page)}`, '/render');
    expect(hit.status).toBe(200);
    expect((await plain('GET', `/render?url=${encodeURIComponent(page)}`, '/render', { 'if-none-match': hit.etag ?? '' })).status).toBe(304);
    expect((await plain('HEAD', `/render?url=${encodeURIComponent(page)}`, '/render')).status).toBe(200);
    expect((await plain('GET', `/render/${page}`, '/render/{pageUrl}')).status).toBe(200);
    expect((await plain('HEAD', `/render/${encodeURIComponent(page)}`, '/render/{pageUrl}')).status).toBe(200);
    expect((await plain('GET', `/${encodeURIComponent(page)}`, '/{pageUrl}')).status).toBe(200);
    expect((await plain('HEAD', `/${page}`, '/{pageUrl}')).status).toBe(200);
    expect((await plain('GET', '/render', '/render')).status).toBe(400);
    expect((await plain('GET', `/render?url=${encodeURIComponent('http://unknown.example/')}`, '/render')).status).toBe(404);
    expect((await plain('GET', `/render/${fixture.origin.replace('127.0.0.1', 'localhost')}/`, '/render/{pageUrl}')).status).toBe(404);
    expect((await plain('GET', `/http://unknown.example/`, '/{pageUrl}')).status).toBe(404);

    expect((await plain('GET', '/healthz', '/healthz')).status).toBe(200);
    expect((await plain('GET', '/readyz', '/readyz')).status).toBe(200);
    const metrics = await plain('GET', '/metrics', '/metrics');
    expect(metrics.status).toBe(200);
    expect(String(metrics.body)).toContain('# TYPE');
    expect((await plain('GET', OPENAPI_PATH, OPENAPI_PATH)).status).toBe(200);
    noProblems();
  }, 60_000);

  it('serves the reference page from swagger-ui-dist, whitelisted, with a strict CSP', async () => {
    const page = await fetch(`${service.url}/docs`);
    const html = await page.text();
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    // No inline script: every <script> has a src.
    expect(html.match(/<script(?![^>]*\bsrc=)[^>]*>/g)).toBeNull();
    for (const src of [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? '')) {
      const res = await plain('GET', src, '/docs/{file}');
      expect(res.status, src).toBe(200);
    }
    expect((await plain('GET', '/docs', '/docs')).status).toBe(200);
    const init = await fetch(`${service.url}/docs/init.js`);
    expect(await init.text()).toContain(OPENAPI_PATH);
    const bundle = await plain('GET', '/docs/swagger-ui-bundle.js', '/docs/{file}');
    expect((await fetch(`${service.url}/docs/swagger-ui-bundle.js`, { method: 'HEAD' })).headers.get('cache-control')).toMatch(/max-age=\d+/);
    // fetch adds Cache-Control: no-cache to a conditional request: send it raw, as a browser revalidates.
    const revalidated = await rawRequest(service.url, requestBytes('GET', '/docs/swagger-ui-bundle.js', { 'if-none-match': bundle.etag ?? '' }));
    expect(revalidated.status).toBe(304);
    await checkRaw('GET', '/docs/{file}', revalidated);
    for (const path of [
      '/docs/package.json',
      '/docs/..%2Fpackage.json',
      '/docs/%2e%2e%2f%2e%2e%2fpackage.json',
      '/docs/__proto__',
      '/docs/index.html',
      '/docs/swagger-ui.js.map',
    ]) {
      expect((await plain('GET', path, '/docs/{file}')).status, path).toBe(404);
    }
    for (const path of ['/docs/../package.json', '/docs/./../../package.json', '/docs/%2e%2e/package.json']) {
      expect((await rawRequest(service.url, requestBytes('GET', path))).status, path).not.toBe(200);
    }
    noProblems();
  });

  it("describes prerender.io's POST /recache", async () => {
    const post = (body: unknown) =>
      fetch(`${service.url}/recache`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const started = await post({ prerenderToken: TOKENS.owner, urls: [`${fixture.origin}/vary`, 'https://elsewhere.example/x'] });
    expect(started.status).toBe(200);
    await check('POST', '/recache', started);
    const refused = await post({ prerenderToken: 'not-a-token-1', url: `${fixture.origin}/vary` });
    expect(refused.status).toBe(401);
    await check('POST', '/recache', refused);
    const bad = await post({ prerenderToken: TOKENS.owner });
    expect(bad.status).toBe(400);
    await check('POST', '/recache', bad);
    noProblems();
  });

  it('describes the purge routes: prerender.io cache-clear, the management API, Rendertron invalidate', async () => {
    const page = `${fixture.origin}/vary`;
    await fetch(`${service.url}/render?url=${encodeURIComponent(page)}`);
    const clear = (body: unknown) =>
      fetch(`${service.url}/cache-clear`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const cleared = await clear({ prerenderToken: TOKENS.owner, query: `${fixture.origin}/va%` });
    expect(cleared.status).toBe(200);
    await check('POST', '/cache-clear', cleared);
    for (const [body, status] of [
      [{ prerenderToken: 'not-a-token-1', query: page }, 401],
      [{ prerenderToken: TOKENS.viewer, query: page }, 403],
      [{ prerenderToken: TOKENS.owner, query: 'https://elsewhere.example/%' }, 404],
      [{ prerenderToken: TOKENS.owner }, 400],
    ] as const) {
      const res = await clear(body);
      expect(res.status).toBe(status);
      await check('POST', '/cache-clear', res);
    }
    expect((await api('owner', 'DELETE', '/sites/fix/cache?match=/v*', '/sites/{id}/cache')).status).toBe(200);
    expect((await api('owner', 'DELETE', '/sites/fix/cache', '/sites/{id}/cache')).status).toBe(200);
    expect((await api('owner', 'DELETE', '/sites/fix/cache?match=v*', '/sites/{id}/cache')).status).toBe(400);
    expect((await api('viewer', 'DELETE', '/sites/fix/cache', '/sites/{id}/cache')).status).toBe(403);
    expect((await api('stranger', 'DELETE', '/sites/fix/cache', '/sites/{id}/cache')).status).toBe(404);
    expect((await api(null, 'DELETE', '/sites/fix/cache', '/sites/{id}/cache')).status).toBe(401);
    for (const [url, token, status] of [
      [page, TOKENS.owner, 200],
      [encodeURIComponent(page), TOKENS.owner, 200],
      [page, null, 401],
      [page, TOKENS.viewer, 403],
      ['https://elsewhere.example/x', TOKENS.owner, 404],
      ['not-a-url', TOKENS.owner, 400],
    ] as const) {
      expect((await plain('GET', `/invalidate/${url}`, '/invalidate/{pageUrl}', token ? { 'x-rendercache-token': token } : {})).status).toBe(status);
    }
    noProblems();
  });

  it('describes the 429 of a spent request budget', async () => {
    const tight = await startTestService({
      ...routeTestConfig({ api: { rateLimit: { points: 2, windowSeconds: 60 } } }),
      auth: { tokens: Object.entries(TOKENS).map(([user, token]) => ({ token, user })) },
    });
    try {
      const call = () => fetch(`${tight.url}${API_BASE}/sites/main`, { headers: { authorization: `Bearer ${TOKENS.owner}` } });
      await call();
      await call();
      const spent = await call();
      expect(spent.status).toBe(429);
      expect(spent.headers.get('retry-after')).toMatch(/^\d+$/);
      await check('GET', `${API_BASE}/sites/{id}`, spent);
      noProblems();
    } finally {
      await tight.stop();
    }
  });

  it('validated a success and the provokable errors of every operation', () => {
    // This file's scope: the routes of the service's own routers, and the crawler lookups.
    const crawler = ['/render', '/render/{pageUrl}', '/{pageUrl}'].flatMap((path) => [`GET ${path}`, `HEAD ${path}`]);
    const operations = [...registeredRoutes(), ...crawler];
    const unchecked = operations.filter((op) => ![...validated].some((v) => v.startsWith(`${op} 2`)));
    // Not provoked here: a restart's 202 needs a platform (test/api/origin-restart-api); OPTIONS is checked on one path.
    const expected = [
      `POST ${API_BASE}/sites/{id}/origin/restart`,
      ...operations.filter((op) => op.startsWith('OPTIONS ') && op !== `OPTIONS ${API_BASE}/sites/{id}`),
    ];
    expect(unchecked.sort(), 'operations without a validated 2xx answer').toEqual(expected.sort());
    const statuses = new Set([...validated].map((v) => v.split(' ')[2]));
    expect([...statuses].sort()).toEqual(['200', '202', '204', '303', '304', '400', '401', '403', '404', '405', '408', '409', '413', '415', '429']);
    console.info(`OpenAPI: ${operations.length} operations; ${validated.size} distinct (route, status) answers validated`);
  });
});
