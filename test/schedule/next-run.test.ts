import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { missedLastTick } from '../../src/schedule/catch-up.js';
import { siteJitterMs } from '../../src/schedule/jitter.js';
import { nextRun, nextRunWithOffset, previousTick, scheduleProblem, shortestIntervalMs } from '../../src/schedule/next-run.js';
import { nextScheduledRefresh } from '../../src/schedule/site-schedule.js';
import { closedReason } from '../../src/sites/closed-reason.js';
import { SiteDirectory } from '../../src/sites/site-directory.js';
import { SiteRegistry } from '../../src/sites/site-registry.js';
import type { SiteRuntimeState, SiteStateStore } from '../../src/sites/site-state.js';

const at = (iso: string) => new Date(iso);
const iso = (date: Date) => date.toISOString();

describe('next run and previous tick', () => {
  it('reads 6-field expressions (seconds first) as well as 5-field ones', () => {
    expect(iso(nextRun('*/2 * * * * *', 'UTC', at('2025-01-06T10:20:30.500Z')))).toBe('2025-01-06T10:20:32.000Z');
    expect(iso(nextRun('0 * * * *', 'UTC', at('2025-01-06T10:20:30.500Z')))).toBe('2025-01-06T11:00:00.000Z');
  });

  it('follows the time zone of the schedule, summer time included', () => {
    expect(iso(nextRun('0 9 * * *', 'Europe/Paris', at('2025-01-06T00:00:00Z')))).toBe('2025-01-06T08:00:00.000Z');
    expect(iso(nextRun('0 9 * * *', 'Europe/Paris', at('2025-07-06T00:00:00Z')))).toBe('2025-07-06T07:00:00.000Z');
    // Hourly in a half-hour zone ticks at :30 UTC.
    expect(iso(previousTick('0 * * * *', 'Asia/Kolkata', at('2025-01-06T10:20:00Z')))).toBe('2025-01-06T09:30:00.000Z');
  });

  it('gives the most recent tick strictly before the time', () => {
    expect(iso(previousTick('0 * * * *', 'UTC', at('2025-01-06T10:20:00Z')))).toBe('2025-01-06T10:00:00.000Z');
    expect(iso(previousTick('0 * * * *', 'UTC', at('2025-01-06T10:00:00.000Z')))).toBe('2025-01-06T09:00:00.000Z');
    expect(iso(previousTick('*/2 * * * * *', 'UTC', at('2025-01-06T10:20:31.900Z')))).toBe('2025-01-06T10:20:30.000Z');
  });

  it('counts a passed tick whose delayed run has not started yet as the next run', () => {
    const offset = 90_000;
    expect(iso(nextRunWithOffset('0 * * * *', 'UTC', offset, at('2025-01-06T10:00:30Z')))).toBe('2025-01-06T10:01:30.000Z');
    expect(iso(nextRunWithOffset('0 * * * *', 'UTC', offset, at('2025-01-06T10:01:30Z')))).toBe('2025-01-06T11:01:30.000Z');
    expect(iso(nextRunWithOffset('0 * * * *', 'UTC', 0, at('2025-01-06T10:00:30Z')))).toBe('2025-01-06T11:00:00.000Z');
  });

  it('finds the shortest gap between ticks', () => {
    expect(shortestIntervalMs('0 * * * *', 'UTC')).toBe(3_600_000);
    expect(shortestIntervalMs('*/2 * * * * *', 'UTC')).toBe(2000);
    expect(shortestIntervalMs('0,1 * * * *', 'UTC')).toBe(60_000);
    expect(shortestIntervalMs('30 9 * * 1-5', 'Europe/Paris')).toBe(86_400_000);
  });
});

describe('schedule validation', () => {
  it('accepts 5 and 6 fields and the nicknames', () => {
    for (const expr of ['0 * * * *', '*/5 * * * * *', '@hourly', '0 0 L * *', '15 3 * * MON-FRI']) {
      expect(scheduleProblem(expr, 'UTC'), expr).toBeNull();
    }
  });

  it('names the field at fault and says why', () => {
    expect(scheduleProblem('* * * * * * *', 'UTC')).toMatchObject({ field: 'schedule', message: expect.stringMatching(/7 fields; expected 5 .* or 6/) });
    expect(scheduleProblem('* * *', 'UTC')).toMatchObject({ field: 'schedule', message: expect.stringMatching(/3 fields/) });
    expect(scheduleProblem('61 * * * *', 'UTC')).toMatchObject({ field: 'schedule', message: expect.stringMatching(/not a valid cron expression/) });
    expect(scheduleProblem('0 0 1-7 * 1', 'UTC')).toMatchObject({ field: 'schedule', message: expect.stringMatching(/both the day of month and the day of week/) });
    // cron-parser reads H (hash), node-cron does not: the local scheduler could not run it.
    expect(scheduleProblem('H * * * *', 'UTC')).toMatchObject({ field: 'schedule', message: expect.stringMatching(/node-cron/) });
    expect(scheduleProblem('0 * * * *', 'Mars/Olympus')).toMatchObject({ field: 'timezone', message: expect.stringMatching(/unknown time zone "Mars\/Olympus"/) });
  });

  it('stops config loading with the site field in the message', () => {
    const sites = [
      { id: 'a', name: 'A', origin: 'https://a.example.com', schedule: '0 * * * * * *' },
      { id: 'b', name: 'B', origin: 'https://b.example.com', timezone: 'Nowhere/Land' },
    ];
    expect(() => parseConfig({ sites })).toThrow(ConfigError);
    try {
      parseConfig({ sites });
    } catch (err) {
      expect((err as Error).message).toMatch(/sites\[0\]\.schedule: "0 \* \* \* \* \* \*" has 7 fields/);
      expect((err as Error).message).toMatch(/sites\[1\]\.timezone: unknown time zone "Nowhere\/Land"/);
    }
  });

  it('defaults the schedule section', () => {
    expect(parseConfig({}).schedule).toEqual({ enabled: true, jitterSeconds: 300, catchUp: true });
    expect(() => parseConfig({ schedule: { jitterSeconds: -1 } })).toThrow(/schedule\.jitterSeconds/);
    expect(() => parseConfig({ schedule: { every: 5 } })).toThrow(ConfigError);
  });
});

describe('jitter', () => {
  const ids = Array.from({ length: 400 }, (_, i) => `site-${i}`);

  it('is deterministic: the same site always gets the same offset', () => {
    for (const id of ids.slice(0, 20)) {
      expect(siteJitterMs(id, '0 * * * *', 'UTC', 300)).toBe(siteJitterMs(id, '0 * * * *', 'UTC', 300));
    }
    expect(siteJitterMs('main', '0 * * * *', 'UTC', 300)).toBe(siteJitterMs('main', '0 */1 * * *', 'UTC', 300));
  });

  it('stays in [0, jitterSeconds) and spreads sites over the window', () => {
    const offsets = ids.map((id) => siteJitterMs(id, '0 * * * *', 'UTC', 300));
    for (const offset of offsets) {
      expect(Number.isInteger(offset)).toBe(true);
      expect(offset).toBeGreaterThanOrEqual(0);
      expect(offset).toBeLessThan(300_000);
    }
    expect(new Set(offsets).size).toBeGreaterThan(390);
    // Every tenth of the window gets its share (40 expected each).
    const buckets = Array.from({ length: 10 }, (_, b) => offsets.filter((o) => Math.floor(o / 30_000) === b).length);
    for (const count of buckets) expect(count).toBeGreaterThan(15);
  });

  it('never exceeds half the interval of a fast schedule, and is 0 when disabled', () => {
    for (const id of ids) {
      expect(siteJitterMs(id, '*/2 * * * * *', 'UTC', 300)).toBeLessThan(1000);
      expect(siteJitterMs(id, '*/5 * * * *', 'UTC', 3600)).toBeLessThan(150_000);
      expect(siteJitterMs(id, '0 * * * *', 'UTC', 0)).toBe(0);
    }
    const fast = new Set(ids.map((id) => siteJitterMs(id, '*/2 * * * * *', 'UTC', 300)));
    expect(fast.size).toBeGreaterThan(200);
  });

  it('puts the next scheduled refresh of a site at its next tick plus its offset', () => {
    const registry = new SiteRegistry(parseConfig({ sites: [{ id: 'news', name: 'News', origin: 'https://news.example.com' }] }).sites);
    const site = registry.byId('news');
    if (!site) throw new Error('no site');
    const offset = siteJitterMs('news', '0 * * * *', 'UTC', 300);
    expect(offset).toBeGreaterThan(0);
    expect(iso(nextScheduledRefresh(site, 300, at('2025-01-06T10:20:00Z')))).toBe(iso(new Date(Date.parse('2025-01-06T11:00:00Z') + offset)));
    expect(iso(nextScheduledRefresh(site, 300, at('2025-01-06T11:00:00Z')))).toBe(iso(new Date(Date.parse('2025-01-06T11:00:00Z') + offset)));
    expect(iso(nextScheduledRefresh(site, 0, at('2025-01-06T10:20:00Z')))).toBe('2025-01-06T11:00:00.000Z');
  });
});

describe('catch-up rule', () => {
  it('counts a site as having missed its tick when never refreshed or refreshed before the last tick', () => {
    const now = at('2025-01-06T10:20:00Z');
    expect(missedLastTick(null, '0 * * * *', 'UTC', now)).toBe(true);
    expect(missedLastTick('2025-01-06T09:59:59.000Z', '0 * * * *', 'UTC', now)).toBe(true);
    expect(missedLastTick('2025-01-06T10:00:05.000Z', '0 * * * *', 'UTC', now)).toBe(false);
    // In Kolkata the last hourly tick was at 09:30 UTC.
    expect(missedLastTick('2025-01-06T09:45:00.000Z', '0 * * * *', 'Asia/Kolkata', now)).toBe(false);
  });
});

describe('skip reasons', () => {
  it('explain exactly the sites that SiteDirectory.servesCrawlers closes', async () => {
    const combos = [];
    for (const status of ['online', 'offline'] as const) {
      for (const security of ['public', 'secure'] as const) {
        for (const prerender of [true, false]) {
          for (const deleted of [false, true]) combos.push({ status, security, prerender, deleted });
        }
      }
    }
    const configs = parseConfig({
      sites: combos.map((c, i) => ({ id: `s${i}`, name: `S${i}`, origin: `https://s${i}.example.com`, security: c.security, prerender: c.prerender })),
    }).sites;
    const saved = new Map<string, Partial<SiteRuntimeState>>();
    const store: SiteStateStore = {
      getSiteState: async (id) => saved.get(id),
      saveSiteState: async (id, patch) => void saved.set(id, { ...saved.get(id), ...patch }),
    };
    const directory = new SiteDirectory(new SiteRegistry(configs), store);
    await directory.load();
    for (const [i, c] of combos.entries()) await directory.update(`s${i}`, { runtimeStatus: c.status, deleted: c.deleted });
    for (const view of directory.all()) {
      expect(closedReason(view) === null, view.site.id).toBe(directory.servesCrawlers(view.site));
    }
    const views = directory.all();
    const reasonOf = (i: number) => {
      const view = views[i];
      if (!view) throw new Error(`no site ${i}`);
      return closedReason(view);
    };
    expect(combos.map((_, i) => reasonOf(i))).toContain('prerender-disabled');
    expect(reasonOf(combos.findIndex((c) => c.deleted))).toBe('deleted');
    expect(reasonOf(combos.findIndex((c) => !c.deleted && c.status === 'offline'))).toBe('offline');
    expect(reasonOf(combos.findIndex((c) => !c.deleted && c.status === 'online' && c.security === 'secure'))).toBe('not-public');
  });
});
