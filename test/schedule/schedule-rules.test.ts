import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { missedLastTick } from '../../src/schedule/catch-up.js';
import { siteJitterMs } from '../../src/schedule/jitter.js';
import { nextScheduledRefresh } from '../../src/schedule/site-schedule.js';
import { closedReason } from '../../src/sites/closed-reason.js';
import { SiteDirectory } from '../../src/sites/site-directory.js';
import { SiteRegistry } from '../../src/sites/site-registry.js';
import type { SiteRuntimeState, SiteStateStore } from '../../src/sites/site-state.js';

const at = (iso: string) => new Date(iso);
const iso = (date: Date) => date.toISOString();

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
      getSiteState: (id) => Promise.resolve(saved.get(id)),
      saveSiteState: (id, patch) => {
        saved.set(id, { ...saved.get(id), ...patch });
        return Promise.resolve();
      },
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
