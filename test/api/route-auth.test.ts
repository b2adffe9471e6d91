import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.js';
import { API_BASE } from '../helpers/management-api.js';
import { managementRoutes, ROUTE_TOKENS, routeTestConfig } from '../helpers/management-routes.js';
import { errorBodyOf, rawRequest, requestBytes, type RawAnswer } from '../helpers/raw-http.js';
import { startTestService } from '../helpers/service.js';

/** Every management route, and the other spellings of a few: by name, HEAD, OPTIONS. */
const ROUTES: ReadonlyArray<readonly [string, string]> = [
  ...managementRoutes('main'),
  ['GET', '/sites/name:Main'],
  ['HEAD', '/sites/main'],
  ['OPTIONS', '/sites'],
  ['OPTIONS', '/sites/main/refresh'],
];

/** Spellings of one route's path that a router or a proxy may read as the same resource. */
function spellings(path: string): string[] {
  const encodedPrefix = API_BASE.slice(1).replaceAll('/', '%2F');
  return [
    `${API_BASE}${path}`,
    `/SITES/management/api/v1${path}`,
    `/Sites/Management/API/V1${path}`,
    `${API_BASE}${path}`.toUpperCase(),
    `/${encodedPrefix}${path}`,
    `/${encodedPrefix.toLowerCase()}${path}`,
    `${API_BASE}${path.replaceAll('/', '%2F')}`,
    `${API_BASE}${path}/`,
    `${API_BASE}${path}//`,
    `/${API_BASE}${path}`,
    `${API_BASE}/.${path}`,
    `${API_BASE}/x/..${path}`,
    `/%73ites/management/api/v1${path}`,
    `${API_BASE}${path};a=1`,
    `${API_BASE}${path}?includeDeleted=true`,
    `${API_BASE}${path}%00`,
    `http://127.0.0.1${API_BASE}${path}`,
  ];
}

let service: RunningService;

beforeAll(async () => {
  // Nothing here starts a refresh.
  service = await startTestService(routeTestConfig());
});
afterAll(async () => {
  await service?.stop();
});

async function send(method: string, path: string, headers: Record<string, string>): Promise<RawAnswer> {
  const body = method === 'POST' ? '{}' : '';
  const extra: Record<string, string> = body ? { 'content-type': 'application/json', prefer: 'respond-async' } : {};
  return rawRequest(service.url, requestBytes(method, path, { ...extra, ...headers }, body));
}

const describeAnswer = (method: string, path: string, answer: RawAnswer) => `${method} ${path} -> ${answer.status} ${answer.body.slice(0, 120)}`;

describe('management routes authenticate whatever the spelling of their path', () => {
  it.each([
    ['no token', {}],
    ['a wrong token', { authorization: 'Bearer not-a-token-at-all' }],
    ['a token of another scheme', { authorization: `Basic ${ROUTE_TOKENS.owner}` }],
  ])('with %s: never a 2xx, never a 5xx, always a JSON error', async (_label, headers: Record<string, string>) => {
    const wrong: string[] = [];
    let sent = 0;
    for (const [method, path] of ROUTES) {
      for (const spelled of spellings(path)) {
        const answer = await send(method, spelled, headers);
        sent++;
        const bad = answer.status < 400 || answer.status >= 500 || (method !== 'HEAD' && errorBodyOf(answer) === null);
        if (bad) wrong.push(describeAnswer(method, spelled, answer));
      }
    }
    expect(sent).toBeGreaterThan(250);
    expect(wrong).toEqual([]);
  });

  it('with a Viewer token: no 5xx on any spelling, and nothing changes state', async () => {
    const wrong: string[] = [];
    for (const [method, path] of ROUTES) {
      for (const spelled of spellings(path)) {
        const answer = await send(method, spelled, { authorization: `Bearer ${ROUTE_TOKENS.viewer}` });
        const isError = answer.status >= 400;
        if (answer.status >= 500 || (isError && method !== 'HEAD' && errorBodyOf(answer) === null)) wrong.push(describeAnswer(method, spelled, answer));
        if (answer.status === 202) wrong.push(`started a job: ${describeAnswer(method, spelled, answer)}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(service.sites.find('main')?.state).toMatchObject({ runtimeStatus: 'online', deleted: false });
  });

  it('answers a route spelled in capitals like the route itself once authenticated', async () => {
    const answer = await send('GET', `/SITES/management/api/v1/sites/main`, { authorization: `Bearer ${ROUTE_TOKENS.viewer}` });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ id: 'main', role: 'Viewer' });
  });

  it('answers OPTIONS only to an authenticated caller', async () => {
    expect((await send('OPTIONS', `${API_BASE}/sites/main/refresh`, {})).status).toBe(401);
    const answer = await send('OPTIONS', `${API_BASE}/sites/main/refresh`, { authorization: `Bearer ${ROUTE_TOKENS.viewer}` });
    expect(answer.status).toBe(204);
    expect(answer.headers.allow).toBe('POST, OPTIONS');
  });
});
