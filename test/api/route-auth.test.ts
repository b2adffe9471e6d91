import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.js';
import { errorBodyOf, rawRequest, requestBytes, type RawAnswer } from '../helpers/raw-http.js';
import { startTestService } from '../helpers/service.js';

const PREFIX = '/sites/management/api/v1';
const TOKENS = { owner: 'owner-token-123', viewer: 'viewer-token-123' } as const;
const JOB = 'ABCDEF0123456789ABCDEF0123456789';

/** Every management route, as [method, path after the prefix]. */
const ROUTES: ReadonlyArray<readonly [string, string]> = [
  ['GET', '/sites'],
  ['GET', '/sites/main'],
  ['GET', '/sites/name:Main'],
  ['HEAD', '/sites/main'],
  ['POST', '/sites/main/activate'],
  ['POST', '/sites/main/deactivate'],
  ['DELETE', '/sites/main'],
  ['POST', '/sites/main/restore'],
  ['POST', '/sites/main/refresh'],
  ['POST', '/sites/main/origin/restart'],
  ['GET', '/sites/main/cache'],
  ['GET', '/sites/main/cache/status'],
  ['GET', `/sites/_status/${JOB}`],
  ['GET', `/sites/_status/${JOB}/pages`],
  ['DELETE', `/sites/_status/${JOB}`],
  ['OPTIONS', '/sites'],
  ['OPTIONS', '/sites/main/refresh'],
];

/** Spellings of one route's path that a router or a proxy may read as the same resource. */
function spellings(path: string): string[] {
  const encodedPrefix = PREFIX.slice(1).replaceAll('/', '%2F');
  return [
    `${PREFIX}${path}`,
    `/SITES/management/api/v1${path}`,
    `/Sites/Management/API/V1${path}`,
    `${PREFIX}${path}`.toUpperCase(),
    `/${encodedPrefix}${path}`,
    `/${encodedPrefix.toLowerCase()}${path}`,
    `${PREFIX}${path.replaceAll('/', '%2F')}`,
    `${PREFIX}${path}/`,
    `${PREFIX}${path}//`,
    `/${PREFIX}${path}`,
    `${PREFIX}/.${path}`,
    `${PREFIX}/x/..${path}`,
    `/%73ites/management/api/v1${path}`,
    `${PREFIX}${path};a=1`,
    `${PREFIX}${path}?includeDeleted=true`,
    `${PREFIX}${path}%00`,
    `http://127.0.0.1${PREFIX}${path}`,
  ];
}

let service: RunningService;

beforeAll(async () => {
  service = await startTestService({
    auth: { tokens: Object.entries(TOKENS).map(([user, token]) => ({ token, user })) },
    api: { rateLimit: { points: 100_000, windowSeconds: 60 } },
    refresh: { maxAttempts: 1, retryBackoffMs: 10 },
    sites: [
      // The origin is never reached: nothing here starts a refresh.
      { id: 'main', name: 'Main', origin: 'http://127.0.0.1:9', pages: { urls: ['/'] }, members: { owner: 'Owner', viewer: 'Viewer' } },
    ],
  });
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
    ['a token of another scheme', { authorization: `Basic ${TOKENS.owner}` }],
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
        const answer = await send(method, spelled, { authorization: `Bearer ${TOKENS.viewer}` });
        const isError = answer.status >= 400;
        if (answer.status >= 500 || (isError && method !== 'HEAD' && errorBodyOf(answer) === null)) wrong.push(describeAnswer(method, spelled, answer));
        if (answer.status === 202) wrong.push(`started a job: ${describeAnswer(method, spelled, answer)}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(service.sites.find('main')?.state).toMatchObject({ runtimeStatus: 'online', deleted: false });
  });

  it('answers a route spelled in capitals like the route itself once authenticated', async () => {
    const answer = await send('GET', `/SITES/management/api/v1/sites/main`, { authorization: `Bearer ${TOKENS.viewer}` });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ id: 'main', role: 'Viewer' });
  });

  it('answers OPTIONS only to an authenticated caller', async () => {
    expect((await send('OPTIONS', `${PREFIX}/sites/main/refresh`, {})).status).toBe(401);
    const answer = await send('OPTIONS', `${PREFIX}/sites/main/refresh`, { authorization: `Bearer ${TOKENS.viewer}` });
    expect(answer.status).toBe(204);
    expect(answer.headers.allow).toBe('POST, OPTIONS');
  });
});
