import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { nextRun } from '../../../src/cron/next-run.js';
import { LocalScheduler, type LocalSchedulerOptions } from '../../../src/engine/local/local-scheduler.js';
import type { RefreshRequest } from '../../../src/jobs/refresh-runner.js';
import type { StartedRefresh } from '../../../src/jobs/refresh-service.js';
import type { JobRecord } from '../../../src/jobs/types.js';
import { createLogger, type Logger } from '../../../src/observability/logger.js';
import { siteJitterMs } from '../../../src/schedule/jitter.js';
import { waitFor } from '../../helpers/wait-for.js';
import { nextScheduledRefresh } from '../../../src/schedule/site-schedule.js';
import { SiteDirectory } from '../../../src/sites/site-directory.js';
import { SiteRegistry } from '../../../src/sites/site-registry.js';
import type { SiteRuntimeState, SiteStateStore } from '../../../src/sites/site-state.js';
import type { Site } from '../../../src/sites/site.js';
import type { RunningService } from '../../../src/service.js';
import { SqliteStore } from '../../../src/stores/sqlite-store.js';
import { startFixtureSite } from '../../fixtures/fixture-site.js';
import { json } from '../../helpers/json.js';
import type { SiteCacheBody } from '../../helpers/management-api.js';
import { startTestService, tempDir } from '../../helpers/service.js';
import { VirtualClock } from '../../helpers/virtual-clock.js';

const EVERY_2S = '*/2 * * * * *';
const EVERY_1S = '* * * * * *';
const HOURLY = '0 * * * *';

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

const skips = (entries: LogEntry[], siteId: string) => entries.filter((e) => e.msg === 'scheduled refresh skipped' && e.siteId === siteId);

interface FakeJob {
  id: string;
  siteId: string;
  trigger: RefreshRequest['trigger'];
  requestedBy: string;
  startTime: string;
  endTime: string;
}

/**
 * Stands in for RefreshService on the virtual clock: each refresh lasts `durationMs` of
 * virtual time, and a site holds one refresh at a time (the rule RefreshService keeps).
 */
class FakeRefresh {
  readonly jobs: FakeJob[] = [];
  constructor(
    private readonly clock: VirtualClock,
    private readonly durationMs = 100,
  ) {}

  start(site: Site, request: RefreshRequest): Promise<StartedRefresh> {
    const now = this.clock.now();
    const running = this.jobs.find((job) => job.siteId === site.id && Date.parse(job.endTime) > now);
    if (running) return Promise.resolve({ job: { id: running.id } as JobRecord, created: false });
    const job: FakeJob = {
      id: `job-${this.jobs.length + 1}`,
      siteId: site.id,
      trigger: request.trigger,
      requestedBy: request.requestedBy,
      startTime: new Date(now).toISOString(),
      endTime: new Date(now + this.durationMs).toISOString(),
    };
    this.jobs.push(job);
    return Promise.resolve({ job: { id: job.id } as JobRecord, created: true });
  }

  of(siteId: string): FakeJob[] {
    return this.jobs.filter((job) => job.siteId === siteId);
  }
}

/** Sites from config, their run-time state in memory (seeded with `saved`). */
async function directoryOf(sites: unknown[], saved: Record<string, Partial<SiteRuntimeState>> = {}): Promise<SiteDirectory> {
  const states = new Map(Object.entries(saved));
  const store: SiteStateStore = {
    getSiteState: (id) => Promise.resolve(states.get(id)),
    saveSiteState: (id, patch) => {
      states.set(id, { ...states.get(id), ...patch });
      return Promise.resolve();
    },
  };
  const directory = new SiteDirectory(new SiteRegistry(parseConfig({ sites }).sites), store);
  await directory.load();
  return directory;
}

const siteConfig = (id: string, extra: Record<string, unknown> = {}) => ({ id, name: id, origin: `https://${id}.example.com`, ...extra });

describe('local scheduler on a virtual clock', () => {
  let scheduler: LocalScheduler | undefined;

  afterEach(async () => {
    await scheduler?.stop();
    scheduler = undefined;
  });

  async function startScheduler(
    clock: VirtualClock,
    sites: unknown[],
    options: LocalSchedulerOptions,
    { saved, durationMs }: { saved?: Record<string, Partial<SiteRuntimeState>>; durationMs?: number } = {},
  ) {
    const { logger, entries } = captureLogs();
    const directory = await directoryOf(sites, saved);
    const refresh = new FakeRefresh(clock, durationMs);
    scheduler = new LocalScheduler({ sites: directory, refresh, logger }, options, clock);
    await scheduler.start();
    return { directory, refresh, entries };
  }

  it('refreshes a site at each tick of a 6-field cron, with the schedule trigger; the next start is the next tick', async () => {
    const clock = new VirtualClock('2025-01-06T10:00:00.500Z');
    const { directory, refresh } = await startScheduler(clock, [siteConfig('tick', { schedule: EVERY_2S })], { jitterSeconds: 0, catchUp: false });
    await clock.advance(6000);
    expect(refresh.of('tick').map((job) => job.startTime)).toEqual(['2025-01-06T10:00:02.000Z', '2025-01-06T10:00:04.000Z', '2025-01-06T10:00:06.000Z']);
    for (const job of refresh.of('tick')) expect(job).toMatchObject({ trigger: 'schedule', requestedBy: 'scheduler' });
    const site = directory.registry.byId('tick');
    if (!site) throw new Error('no site');
    expect(nextScheduledRefresh(site, 0, clock.date()).toISOString()).toBe('2025-01-06T10:00:08.000Z');
  });

  it("starts each run at the site's jitter offset after the tick, and that is the next start reported", async () => {
    // A site whose offset (within the 1 s window) is clearly away from the tick.
    const id = Array.from({ length: 100 }, (_, i) => `jit-${i}`).find((candidate) => siteJitterMs(candidate, EVERY_2S, 'UTC', 1) >= 500) ?? 'none';
    const offset = siteJitterMs(id, EVERY_2S, 'UTC', 1);
    expect(offset).toBeGreaterThanOrEqual(500);
    const clock = new VirtualClock('2025-01-06T10:00:01.000Z');
    const { directory, refresh } = await startScheduler(clock, [siteConfig(id, { schedule: EVERY_2S })], { jitterSeconds: 1, catchUp: false });
    const tick = Date.parse('2025-01-06T10:00:02.000Z');
    const site = directory.registry.byId(id);
    if (!site) throw new Error('no site');
    expect(nextScheduledRefresh(site, 1, clock.date()).getTime()).toBe(tick + offset);

    // Nothing at the tick itself, nor a millisecond before the offset.
    await clock.advance(1000 + offset - 1);
    expect(refresh.of(id)).toEqual([]);
    await clock.advance(1);
    await clock.advance(4000);
    expect(refresh.of(id).map((job) => Date.parse(job.startTime))).toEqual([tick + offset, tick + 2000 + offset, tick + 4000 + offset]);
    expect(nextScheduledRefresh(site, 1, clock.date()).getTime()).toBe(tick + 6000 + offset);
  });

  it("never overlaps a site's refreshes: a tick while one runs starts nothing and is logged", async () => {
    const clock = new VirtualClock('2025-01-06T10:00:00.500Z');
    // Each refresh takes 2.5 s, on a cron firing every second.
    const { refresh, entries } = await startScheduler(
      clock,
      [siteConfig('slow', { schedule: EVERY_1S })],
      { jitterSeconds: 0, catchUp: false },
      { durationMs: 2500 },
    );
    await clock.advance(6500);
    const jobs = refresh.of('slow');
    expect(jobs.map((job) => job.startTime)).toEqual(['2025-01-06T10:00:01.000Z', '2025-01-06T10:00:04.000Z', '2025-01-06T10:00:07.000Z']);
    expect(jobs.every((job) => job.trigger === 'schedule')).toBe(true);
    const overlaps = skips(entries, 'slow').filter((e) => e.reason === 'already-running');
    expect(overlaps.map((e) => e.runningJobId)).toEqual([jobs[0]?.id, jobs[0]?.id, jobs[1]?.id, jobs[1]?.id]);
    for (const entry of overlaps) expect(entry).toMatchObject({ trigger: 'schedule', level: 40 });
  });

  it('catches up at start-up on a site that missed its last tick, and only then, on the clock it was given', async () => {
    // 10:20 UTC: the last hourly tick was 10:00 in UTC, 09:30 in Kolkata.
    const now = '2025-01-06T10:20:00.000Z';
    const sites = [
      siteConfig('never', { schedule: HOURLY }),
      siteConfig('fresh', { schedule: HOURLY }),
      siteConfig('stale', { schedule: HOURLY }),
      siteConfig('kolkata', { schedule: HOURLY, timezone: 'Asia/Kolkata' }),
    ];
    const saved = {
      fresh: { refreshedAt: '2025-01-06T10:00:05.000Z' },
      stale: { refreshedAt: '2025-01-06T09:59:59.000Z' },
      kolkata: { refreshedAt: '2025-01-06T09:45:00.000Z' },
    };
    const clock = new VirtualClock(now);
    const { refresh, entries } = await startScheduler(clock, sites, { jitterSeconds: 0, catchUp: true }, { saved });
    // Done by the time start() returns, at the clock's time.
    expect(refresh.jobs.map((job) => [job.siteId, job.trigger, job.requestedBy, job.startTime])).toEqual([
      ['never', 'startup', 'scheduler', now],
      ['stale', 'startup', 'scheduler', now],
    ]);
    expect(entries.filter((e) => e.msg === 'scheduled refresh started').map((e) => e.siteId)).toEqual(['never', 'stale']);

    // Without catch-up, nothing starts before the next tick.
    await scheduler?.stop();
    const later = new VirtualClock(now);
    const quiet = await startScheduler(later, sites, { jitterSeconds: 0, catchUp: false }, { saved });
    expect(quiet.refresh.jobs).toEqual([]);
  });

  it('skips offline, deleted, secure and non-prerendered sites at catch-up and at each tick, and logs why', async () => {
    const closed = { offline: 'offline', gone: 'deleted', secure: 'not-public', noprerender: 'prerender-disabled' } as const;
    const clock = new VirtualClock('2025-01-06T10:00:00.500Z');
    const { directory, refresh, entries } = await startScheduler(
      clock,
      [
        siteConfig('open', { schedule: EVERY_1S }),
        siteConfig('offline', { schedule: EVERY_1S, status: 'offline' }),
        siteConfig('gone', { schedule: EVERY_1S }),
        siteConfig('secure', { schedule: EVERY_1S, security: 'secure' }),
        siteConfig('noprerender', { schedule: EVERY_1S, prerender: false }),
      ],
      { jitterSeconds: 0, catchUp: true },
      // "gone" is soft-deleted in the persisted state before the scheduler starts.
      { saved: { gone: { runtimeStatus: 'offline', deleted: true } } },
    );
    // The open site (the control) gets its startup refresh, then refreshes on its ticks.
    await clock.advance(2000);
    expect(refresh.of('open').map((job) => job.trigger)).toEqual(['startup', 'schedule', 'schedule']);

    // Closed at run time: the next ticks skip it too.
    await directory.update('open', { runtimeStatus: 'offline' });
    await clock.advance(2000);
    expect(refresh.of('open')).toHaveLength(3);
    expect(skips(entries, 'open').map((e) => [e.trigger, e.reason])).toEqual([
      ['schedule', 'offline'],
      ['schedule', 'offline'],
    ]);

    for (const [siteId, reason] of Object.entries(closed)) {
      expect(refresh.of(siteId), siteId).toEqual([]);
      expect(
        skips(entries, siteId).map((e) => [e.trigger, e.reason]),
        siteId,
      ).toEqual([['startup', reason], ...Array.from({ length: 4 }, () => ['schedule', reason])]);
    }
  });

  it('disarms every task and pending jitter delay on stop: no run after it', async () => {
    const id = Array.from({ length: 100 }, (_, i) => `jit-${i}`).find((candidate) => siteJitterMs(candidate, EVERY_2S, 'UTC', 1) >= 500) ?? 'none';
    const clock = new VirtualClock('2025-01-06T10:00:00.000Z');
    const { refresh } = await startScheduler(clock, [siteConfig(id, { schedule: EVERY_2S })], { jitterSeconds: 1, catchUp: false });
    await clock.advance(2000); // the tick: its run waits for the offset
    expect(clock.pending).toEqual({ tasks: 1, timers: 1 });
    await scheduler?.stop();
    expect(clock.pending).toEqual({ tasks: 0, timers: 0 });
    await clock.advance(10_000);
    expect(refresh.jobs).toEqual([]);
  });
});

describe('local scheduler on node-cron (the real wiring)', () => {
  let service: RunningService | undefined;

  afterEach(async () => {
    await service?.stop();
    service = undefined;
  });

  it('runs a refresh on a real tick of a every-second cron; /cache shows the schedule trigger and the next tick', async () => {
    const site = await startFixtureSite();
    try {
      const dir = tempDir();
      const token = 'admin-token-123';
      service = await startTestService({
        auth: { tokens: [{ token, user: 'admin', admin: true }] },
        cache: { dir, namespace: `sched-${dir.slice(-6)}` },
        schedule: { jitterSeconds: 0, catchUp: false },
        sites: [{ id: 'tick', name: 'tick', origin: site.origin, pages: { urls: ['/page/1'] }, members: { admin: 'Owner' }, schedule: EVERY_1S }],
      });
      // A deadline, not a fixed sleep: the first tick comes within a second.
      const job = await waitFor(
        'the first scheduled refresh to succeed',
        async () => {
          const store = await SqliteStore.open(dir);
          try {
            return (await store.jobsOfSite('tick', 10)).find((j) => j.progress === 'succeeded');
          } finally {
            await store.close();
          }
        },
        5000,
      );
      expect(job).toMatchObject({ trigger: 'schedule', requestedBy: 'scheduler' });
      // No jitter: the job started on its whole-second tick.
      expect(Date.parse(job.startTime) % 1000).toBeLessThan(500);

      const before = new Date();
      const info = await json<SiteCacheBody>(
        await fetch(`${service.url}/sites/management/api/v1/sites/tick/cache`, { headers: { authorization: `Bearer ${token}` } }),
      );
      const after = new Date();
      expect(info.trigger).toBe('schedule');
      expect(Date.parse(info.expiresAt)).toBeGreaterThan(before.getTime());
      expect(Date.parse(info.expiresAt)).toBeLessThanOrEqual(nextRun(EVERY_1S, 'UTC', after).getTime());
    } finally {
      await site.close();
    }
  });
});
