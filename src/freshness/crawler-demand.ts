import type Keyv from 'keyv';
import { withTimeout } from '../cache/with-timeout.js';
import type { Logger } from '../observability/logger.js';

export interface CrawlerDemandOptions {
  /** Lookups counted in memory are written to the store this often. */
  flushEveryMs: number;
  /** A page counts as requested when a crawler asked for it this recently. */
  windowMs: number;
  /** A store command slower than this fails (cache.commandTimeoutMs). */
  commandTimeoutMs: number;
}

/** Per site, in the store: cache key → when a crawler last asked for it (ms). */
type DemandRecord = Record<string, number>;

/**
 * Which cached pages crawlers ask for, and when. A lookup is a map write in memory; the
 * counts go to the store in batches (one read and write per site and flush, never one per
 * lookup), so every instance's refresh sees what crawlers asked any instance for. A refresh
 * renders the pages crawlers asked for in the last `windowMs` first.
 */
export class CrawlerDemand {
  private pending = new Map<string, Map<string, number>>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: Keyv,
    private readonly options: CrawlerDemandOptions,
    private readonly logger: Logger,
  ) {}

  /** A crawler asked for the page with this cache key. */
  record(siteId: string, key: string, at = Date.now()): void {
    let site = this.pending.get(siteId);
    if (!site) {
      site = new Map();
      this.pending.set(siteId, site);
    }
    site.set(key, at);
  }

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.options.flushEveryMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  /** The cache keys of the site's pages crawlers asked for within the window, this instance's latest counts included. */
  async recentlyRequested(siteId: string, now = Date.now()): Promise<Set<string>> {
    await this.flushSite(siteId, now);
    const record = await this.read(siteId);
    return new Set(Object.keys(record).filter((key) => now - (record[key] ?? 0) < this.options.windowMs));
  }

  /** Writes what was counted since the last flush, site by site; a failed write keeps it for the next. */
  async flush(now = Date.now()): Promise<void> {
    for (const siteId of [...this.pending.keys()]) await this.flushSite(siteId, now);
  }

  private async flushSite(siteId: string, now: number): Promise<void> {
    const counted = this.pending.get(siteId);
    if (!counted || counted.size === 0) return;
    this.pending.delete(siteId);
    try {
      const record = await this.read(siteId);
      for (const [key, at] of counted) record[key] = Math.max(record[key] ?? 0, at);
      // Pages nobody asked for within the window leave the record: it stays the size of what crawlers read.
      for (const key of Object.keys(record)) if (now - (record[key] ?? 0) >= this.options.windowMs) delete record[key];
      await withTimeout(this.store.set(demandKey(siteId), record), this.options.commandTimeoutMs * 4, 'crawler demand write');
    } catch (err) {
      const back = this.pending.get(siteId) ?? new Map<string, number>();
      for (const [key, at] of counted) back.set(key, Math.max(back.get(key) ?? 0, at));
      this.pending.set(siteId, back);
      this.logger.warn({ site: siteId, err: err instanceof Error ? err.message : String(err) }, 'could not record crawler demand; kept for the next flush');
    }
  }

  private async read(siteId: string): Promise<DemandRecord> {
    const value: unknown = await withTimeout(this.store.get(demandKey(siteId)), this.options.commandTimeoutMs * 4, 'crawler demand read');
    return typeof value === 'object' && value !== null ? { ...(value as DemandRecord) } : {};
  }
}

const demandKey = (siteId: string) => `demand:${siteId}`;
