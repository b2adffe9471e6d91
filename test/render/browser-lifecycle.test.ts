import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.js';
import { startFixtureSite, type FixtureSite } from '../fixtures/fixture-site.js';
import { lookupUrl, startTestService } from '../helpers/service.js';
import { waitFor } from '../helpers/wait-for.js';

let site: FixtureSite;

beforeAll(async () => {
  site = await startFixtureSite();
});

afterAll(async () => {
  await site?.close();
});

describe('a Chromium crash during a render', () => {
  let service: RunningService;
  beforeAll(async () => {
    service = await startTestService({ sites: [{ id: 'fixture', name: 'Fixture', origin: site.origin }] });
  });
  afterAll(async () => service?.stop());

  it('relaunches Chromium and retries the renders that were in flight once', async () => {
    const pidBefore = service.pool?.browserPid();
    expect(pidBefore).toBeTypeOf('number');
    const dataBefore = site.hits.get('/api/data.json') ?? 0;
    const inFlight = [1, 2, 3].map((n) => fetch(lookupUrl(service, `${site.origin}/slow?delay=1500&crash=${n}`)));
    // Mid-render: each page is waiting for its 1.5 s data request.
    await waitFor('three renders waiting for their data', () => (site.hits.get('/api/data.json') ?? 0) - dataBefore >= 3, 15_000);
    process.kill(pidBefore as number, 'SIGKILL');
    const answers = await Promise.all(inFlight);
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
    for (const answer of answers) expect(await answer.text()).toContain('slow-data');
    expect(service.pool?.browserPid()).not.toBe(pidBefore);
    // The service keeps working afterwards.
    const later = await fetch(lookupUrl(service, `${site.origin}/page/after-crash`));
    expect(later.status).toBe(200);
    expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
  });
});

describe('browser recycling', () => {
  let service: RunningService;
  beforeAll(async () => {
    service = await startTestService({
      sites: [{ id: 'fixture', name: 'Fixture', origin: site.origin }],
      render: { recycleAfterRenders: 3, concurrency: 3 },
    });
  });
  afterAll(async () => service?.stop());

  it('relaunches after N renders without dropping any render', async () => {
    const pidBefore = service.pool?.browserPid();
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => fetch(lookupUrl(service, `${site.origin}/page/recycle-${i}`))));
    expect(answers.map((r) => r.status)).toEqual(Array(10).fill(200));
    for (const [i, answer] of answers.entries()) expect(await answer.text()).toContain(`page-recycle-${i}`);
    expect(service.pool?.browserPid()).not.toBe(pidBefore);
  });

  it("knows Chromium's User-Agent while a recycled browser is replaced (incremental refresh asks with it)", async () => {
    const userAgent = await service.pool!.browserUserAgent();
    expect(userAgent).toMatch(/Chrome\/\d+/);
    // Renders one after the other: every third recycles the browser, and while the new one
    // launches, none is current.
    const renders = (async () => {
      for (let i = 0; i < 7; i++) expect((await fetch(lookupUrl(service, `${site.origin}/page/ua-${i}`))).status).toBe(200);
    })();
    await waitFor('a browser being replaced', () => !service.pool!.isReady, 30_000, 2);
    expect(await service.pool!.browserUserAgent()).toBe(userAgent);
    await renders;
  });

  it('launches the next browser with the same flags as the first (puppeteer edits the array it is given)', async () => {
    const first = commandLine(service.pool?.browserPid());
    await Promise.all(Array.from({ length: 4 }, (_, i) => fetch(lookupUrl(service, `${site.origin}/page/flags-${i}`))));
    const second = commandLine(service.pool?.browserPid());
    expect(second.pid).not.toBe(first.pid);
    expect(second.args).toEqual(first.args);
    expect(first.args.some((a) => a.startsWith('--disable-features='))).toBe(true);
    expect(first.args.find((a) => a.startsWith('--enable-features='))).toMatch(/NetworkServiceInProcess2/);
  });
});

/** Chromium's arguments, without the per-launch profile folder. */
function commandLine(pid: number | undefined): { pid: number | undefined; args: string[] } {
  const args = fs
    .readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    .split('\0')
    .filter((a) => a && !a.startsWith('--user-data-dir='));
  return { pid, args };
}
