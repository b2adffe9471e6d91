import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JobRecord } from '../../../src/jobs/types.js';
import { createLogger, type Logger } from '../../../src/observability/logger.js';
import { siteJitterMs } from '../../../src/schedule/jitter.js';
import { nextRun, nextRunWithOffset } from '../../../src/cron/next-run.js';
import type { RunningService } from '../../../src/service.js';
import { SqliteStore } from '../../../src/stores/sqlite-store.js';
import { startFixtureSite, type FixtureSite } from '../../fixtures/fixture-site.js';
import { json } from '../../helpers/json.js';
import type { SiteCacheBody } from '../../helpers/management-api.js';
import { startTestService, tempDir } from '../../helpers/service.js';

const BASE = '/sites/management/api/v1';
const TOKEN = 'admin-token-123';
const EVERY_2S = '*/2 * * * * *';
const EVERY_1S = '* * * * * *';

type LogEntry = Record<string, unknown> & { msg: string };

/** A pino logger whose JSON lines land in an array. */
function captureLogs(): { logger: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) entries.push(JSON.parse(line) as LogEntry);
      done();
    },
  });
  return { logger: createLogger('info', stream), entries };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The jobs of a site, oldest first, read from the service's store. */
async function jobsOf(dir: string, siteId: string): Promise<JobRecord[]> {
  const store = await SqliteStore.open(dir);
  try {
    return (await store.jobsOfSite(siteId, 100)).sort((a, b) => a.startTime.localeCompare(b.startTime));
  } finally {
    await store.close();
  }
}

async function waitFor<T>(check: () => Promise<T | undefined>, timeoutMs: number): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined || Date.now() > deadline) return value;
    await sleep(200);
  }
}

const skips = (entries: LogEntry[], siteId: string) => entries.filter((e) => e.msg === 'scheduled refresh skipped' && e.siteId === siteId);

describe('scheduled refresh', () => {
  let site: FixtureSite;
  let service: RunningService | undefined;

  const siteConfig = (id: string, extra: Record<string, unknown> = {}) => ({
    id,
    name: id,
    origin: site.origin,
    pages: { urls: ['/page/1'] },
    members: { admin: 'Owner' },
    ...extra,
  });
  const serviceConfig = (dir: string, schedule: Record<string, unknown>, sites: unknown[]) => ({
    auth: { tokens: [{ token: TOKEN, user: 'admin', admin: true }] },
    refresh: { retryBackoffMs: 10 },
    cache: { dir, namespace: `sched-${dir.slice(-6)}` },
    schedule,
    sites,
  });
  const api = (method: string, path: string) => fetch(`${service?.url}${BASE}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}` } });

  beforeAll(async () => {
    site = await startFixtureSite();
  });

  afterEach(async () => {
    await service?.stop();
    service = undefined;
  });

  afterAll(async () => {
    await site?.close();
  });

  it('refreshes a site on a 6-field cron every 2 s; /cache shows the schedule trigger and the next tick', async () => {
    const dir = tempDir();
    service = await startTestService(serviceConfig(dir, { jitterSeconds: 0, catchUp: false }, [siteConfig('tick', { schedule: EVERY_2S })]));
    const done = await waitFor(async () => {
      const jobs = (await jobsOf(dir, 'tick')).filter((job) => job.progress === 'succeeded');
      return jobs.length >= 2 ? jobs : undefined;
    }, 7000);
    expect(done?.length).toBeGreaterThanOrEqual(2);
    for (const job of done ?? []) {
      expect(job).toMatchObject({ trigger: 'schedule', requestedBy: 'scheduler' });
      // No jitter: each job started on its even-second tick.
      expect(Date.parse(job.startTime) % 2000).toBeLessThan(700);
    }

    const before = new Date();
    const info = await json<SiteCacheBody>(await api('GET', '/sites/tick/cache'));
    const after = new Date();
    expect(info.trigger).toBe('schedule');
    expect(Date.parse(info.refreshedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(done?.[0]?.endTime ?? ''));
    expect(Date.parse(info.expiresAt)).toBeGreaterThan(before.getTime());
    expect([nextRun(EVERY_2S, 'UTC', before).toISOString(), nextRun(EVERY_2S, 'UTC', after).toISOString()]).toContain(info.expiresAt);
  });

  it("starts each run at the site's jitter offset after the tick, and reports that time as expiresAt", async () => {
    // A site whose offset (within the 1 s window) is clearly away from the tick.
    const id =
      Array.from({ length: 100 }, (_, i) => `jit-${i}`).find((candidate) => {
        const offset = siteJitterMs(candidate, EVERY_2S, 'UTC', 1);
        return offset >= 500 && offset <= 800;
      }) ?? 'none';
    const offset = siteJitterMs(id, EVERY_2S, 'UTC', 1);
    const dir = tempDir();
    service = await startTestService(serviceConfig(dir, { jitterSeconds: 1, catchUp: false }, [siteConfig(id, { schedule: EVERY_2S })]));
    const jobs = await waitFor(async () => {
      const list = await jobsOf(dir, id);
      return list.length >= 2 ? list : undefined;
    }, 7000);
    expect(jobs?.length).toBeGreaterThanOrEqual(2);
    for (const job of jobs ?? []) {
      const sinceTick = Date.parse(job.startTime) % 2000;
      expect(sinceTick).toBeGreaterThanOrEqual(offset);
      expect(sinceTick).toBeLessThan(offset + 600);
    }
    const before = new Date();
    const info = await json<SiteCacheBody>(await api('GET', `/sites/${id}/cache`));
    const after = new Date();
    expect([before, after].map((t) => nextRunWithOffset(EVERY_2S, 'UTC', offset, t).toISOString())).toContain(info.expiresAt);
    expect(Date.parse(info.expiresAt) % 2000).toBe(offset);
  });

  it("never overlaps a site's refreshes: a tick while one runs starts nothing and is logged", async () => {
    const { logger, entries } = captureLogs();
    const dir = tempDir();
    // One page that takes ~2.5 s to render, on a cron firing every second.
    service = await startTestService(
      serviceConfig(dir, { jitterSeconds: 0, catchUp: false }, [siteConfig('slow', { schedule: EVERY_1S, pages: { urls: ['/slow?delay=2500'] } })]),
      { logger },
    );
    await sleep(6500);
    await service.stop();
    const jobs = await jobsOf(dir, 'slow');
    expect(jobs.length).toBeGreaterThanOrEqual(2);
    expect(jobs.every((job) => job.trigger === 'schedule')).toBe(true);
    for (let i = 1; i < jobs.length; i++) {
      const previous = jobs[i - 1];
      const current = jobs[i];
      expect(previous?.endTime, 'a job started before the previous one ended').not.toBeNull();
      expect(Date.parse(current?.startTime ?? '')).toBeGreaterThanOrEqual(Date.parse(previous?.endTime ?? ''));
    }
    const overlaps = skips(entries, 'slow').filter((e) => e.reason === 'already-running');
    expect(overlaps.length).toBeGreaterThanOrEqual(2);
    for (const entry of overlaps) {
      expect(entry).toMatchObject({ trigger: 'schedule', level: 40 });
      expect(jobs.map((job) => job.id)).toContain(entry.runningJobId);
    }
  });

  it('catches up at start-up on a site that missed its last tick, and only then', async () => {
    // Hourly in UTC ticks at :00, in Kolkata at :30: take the zone whose next tick is far,
    // so that no tick falls between the first run and the restarts.
    const timezone = ['UTC', 'Asia/Kolkata'].find((tz) => nextRun('0 * * * *', tz).getTime() - Date.now() > 10 * 60_000) ?? 'UTC';
    const dir = tempDir();
    const config = serviceConfig(dir, { catchUp: true }, [siteConfig('cu', { schedule: '0 * * * *', timezone })]);

    // Never refreshed: a startup refresh at once.
    service = await startTestService(config);
    const [first] = await jobsOf(dir, 'cu');
    expect(first).toMatchObject({ trigger: 'startup', requestedBy: 'scheduler' });
    await service.refresh.whenDone(first?.id ?? '');
    const info = await json<SiteCacheBody>(await api('GET', '/sites/cu/cache'));
    expect(info).toMatchObject({ trigger: 'startup', refreshedAt: (await jobsOf(dir, 'cu'))[0]?.endTime });
    await service.stop();

    // Refreshed since the last tick: nothing to catch up.
    const { logger, entries } = captureLogs();
    service = await startTestService(config, { logger });
    expect(await jobsOf(dir, 'cu')).toHaveLength(1);
    expect(entries.filter((e) => e.msg === 'scheduled refresh started')).toHaveLength(0);
    await service.stop();

    // Last refresh older than the last tick: a startup refresh again.
    const store = await SqliteStore.open(dir);
    await store.saveSiteState('cu', { refreshedAt: new Date(Date.now() - 2 * 3600_000).toISOString() });
    await store.close();
    service = await startTestService(config);
    const jobs = await jobsOf(dir, 'cu');
    expect(jobs).toHaveLength(2);
    expect(jobs[1]).toMatchObject({ trigger: 'startup' });
    expect(jobs[1]?.id).not.toBe(first?.id);
  });

  it('skips offline, deleted, secure and non-prerendered sites at catch-up and at each tick, and logs why', async () => {
    const { logger, entries } = captureLogs();
    const dir = tempDir();
    // "gone" is soft-deleted in the persisted state before the service starts.
    const seed = await SqliteStore.open(dir);
    await seed.saveSiteState('gone', { runtimeStatus: 'offline', deleted: true });
    await seed.close();
    const closed = { offline: 'offline', gone: 'deleted', secure: 'not-public', noprerender: 'prerender-disabled' } as const;
    service = await startTestService(
      serviceConfig(dir, { jitterSeconds: 0, catchUp: true }, [
        siteConfig('open', { schedule: EVERY_1S }),
        siteConfig('offline', { schedule: EVERY_1S, status: 'offline' }),
        siteConfig('gone', { schedule: EVERY_1S }),
        siteConfig('secure', { schedule: EVERY_1S, security: 'secure' }),
        siteConfig('noprerender', { schedule: EVERY_1S, prerender: false }),
      ]),
      { logger },
    );
    // The open site (the control) gets its startup refresh, then refreshes on its ticks.
    const scheduled = await waitFor(async () => (await jobsOf(dir, 'open')).find((job) => job.trigger === 'schedule' && job.endTime), 8000);
    expect(scheduled).toBeDefined();

    // Closed at run time: the next ticks skip it too.
    expect((await api('POST', '/sites/open/deactivate')).status).toBe(200);
    const deactivatedAt = Date.now();
    await sleep(2200);
    await service.stop();

    const open = await jobsOf(dir, 'open');
    expect(open.map((job) => job.trigger)).toContain('startup');
    expect(open.map((job) => job.trigger)).toContain('schedule');
    expect(open.filter((job) => Date.parse(job.startTime) > deactivatedAt + 200)).toEqual([]);
    expect(skips(entries, 'open').filter((e) => e.reason === 'offline').length).toBeGreaterThanOrEqual(1);

    for (const [siteId, reason] of Object.entries(closed)) {
      expect(await jobsOf(dir, siteId), siteId).toEqual([]);
      const logged = skips(entries, siteId);
      expect(
        logged.every((e) => e.reason === reason),
        siteId,
      ).toBe(true);
      expect(
        logged.filter((e) => e.trigger === 'startup'),
        siteId,
      ).toHaveLength(1);
      expect(logged.filter((e) => e.trigger === 'schedule').length, siteId).toBeGreaterThanOrEqual(2);
    }
  });
});
