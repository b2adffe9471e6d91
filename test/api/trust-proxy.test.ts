import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.js';
import { startTestService } from '../helpers/service.js';

const PREFIX = '/sites/management/api/v1';
const TOKEN = 'owner-token-123';
const FORWARDED = { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' };

const config = (trustProxy: boolean | undefined) => ({
  ...(trustProxy === undefined ? {} : { server: { port: 0, host: '127.0.0.1', trustProxy } }),
  auth: { tokens: [{ token: TOKEN, user: 'owner' }] },
  refresh: { maxAttempts: 1, retryBackoffMs: 10 },
  sites: [{ id: 'main', name: 'Main', origin: 'http://127.0.0.1:9', pages: { urls: ['/'] }, members: { owner: 'Owner' } }],
});

let byDefault: RunningService;
let trusting: RunningService;

beforeAll(async () => {
  byDefault = await startTestService(config(undefined));
  trusting = await startTestService(config(true));
});
afterAll(async () => {
  await byDefault?.stop();
  await trusting?.stop();
});

/** The URLs the API builds from the request: a link in a site, and a refresh's Location. */
async function builtUrls(service: RunningService): Promise<{ self: string; location: string }> {
  const headers = { authorization: `Bearer ${TOKEN}`, ...FORWARDED };
  const site = (await (await fetch(`${service.url}${PREFIX}/sites/main`, { headers })).json()) as { links: Array<{ href: string }> };
  const refresh = await fetch(`${service.url}${PREFIX}/sites/main/refresh`, { method: 'POST', headers: { ...headers, prefer: 'respond-async' } });
  expect(refresh.status).toBe(202);
  return { self: site.links[0]!.href, location: refresh.headers.get('location') ?? '' };
}

describe('X-Forwarded-Host and -Proto', () => {
  it('are ignored by default: a client cannot choose the host of our links and Location headers', async () => {
    const urls = await builtUrls(byDefault);
    expect(urls.self).toBe(`${byDefault.url}${PREFIX}/sites/main`);
    expect(urls.location.startsWith(`${byDefault.url}${PREFIX}/sites/_status/`)).toBe(true);
  });

  it('are believed with server.trustProxy: true (behind a proxy that sets them)', async () => {
    const urls = await builtUrls(trusting);
    expect(urls.self).toBe(`https://evil.example${PREFIX}/sites/main`);
    expect(urls.location.startsWith(`https://evil.example${PREFIX}/sites/_status/`)).toBe(true);
  });
});
