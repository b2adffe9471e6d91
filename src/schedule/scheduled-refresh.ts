import type { RefreshService } from '../jobs/refresh-service.js';
import type { JobTrigger } from '../jobs/types.js';
import type { Logger } from '../observability/logger.js';
import { closedReason, type ClosedReason } from '../sites/closed-reason.js';
import type { SiteDirectory, SiteView } from '../sites/site-directory.js';

/** What a scheduler starts a refresh for: a tick of the site's cron, or a catch-up at start-up. */
export type ScheduledTrigger = Extract<JobTrigger, 'schedule' | 'startup'>;

/** What the tick handler needs; nothing tied to the engine that fires the ticks. */
export interface ScheduledRefreshDeps {
  sites: SiteDirectory;
  refresh: Pick<RefreshService, 'start'>;
  logger: Logger;
}

export type SkipReason = ClosedReason | 'not-served' | 'unknown-site' | 'already-running';

export type ScheduledRefreshOutcome =
  | { outcome: 'started'; jobId: string }
  | { outcome: 'skipped'; reason: SkipReason; runningJobId?: string }
  | { outcome: 'not-due' }
  | { outcome: 'failed'; error: string };

/**
 * Handles one tick for one site, whatever fired it (node-cron here, a BullMQ job
 * scheduler in a cluster): a site closed to crawlers is skipped; a site whose refresh
 * is still running starts nothing (RefreshService keeps one refresh per site); else a
 * refresh starts. Every outcome is logged with the site id; nothing is thrown, so a
 * failing store never breaks the scheduler that called it.
 *
 * `isDue` lets catch-up refresh only the sites that missed their last tick.
 */
export async function runScheduledRefresh(
  deps: ScheduledRefreshDeps,
  siteId: string,
  trigger: ScheduledTrigger,
  isDue?: (view: SiteView) => boolean,
): Promise<ScheduledRefreshOutcome> {
  const log = deps.logger.child({ siteId, trigger });
  const skipped = (reason: SkipReason): ScheduledRefreshOutcome => {
    log.info({ reason }, 'scheduled refresh skipped');
    return { outcome: 'skipped', reason };
  };
  try {
    const site = deps.sites.registry.byId(siteId);
    if (!site) return skipped('unknown-site');
    const view = deps.sites.view(site);
    // The crawler serving gate is the refresh gate: refreshing a closed site is wasted work.
    if (!deps.sites.servesCrawlers(site)) return skipped(closedReason(view) ?? 'not-served');
    if (isDue && !isDue(view)) {
      log.debug({ refreshedAt: view.state.refreshedAt }, 'scheduled refresh not due');
      return { outcome: 'not-due' };
    }
    const { job, created } = await deps.refresh.start(site, { trigger, requestedBy: 'scheduler' });
    if (!created) {
      // The previous refresh outlasted the interval: this tick is dropped, not queued.
      log.warn({ reason: 'already-running', runningJobId: job.id }, 'scheduled refresh skipped');
      return { outcome: 'skipped', reason: 'already-running', runningJobId: job.id };
    }
    log.info({ jobId: job.id }, 'scheduled refresh started');
    return { outcome: 'started', jobId: job.id };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    log.error({ err: error }, 'scheduled refresh could not start');
    return { outcome: 'failed', error };
  }
}
