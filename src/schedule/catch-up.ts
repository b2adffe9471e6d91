import { previousTick } from '../cron/next-run.js';
import { runScheduledRefresh, type ScheduledRefreshDeps, type ScheduledRefreshOutcome } from './scheduled-refresh.js';

/**
 * A site missed its schedule when its last successful refresh is older than the most
 * recent tick before now (the tick itself, not tick + jitter: a run pending in its jitter
 * delay when the process stopped is lost, so it counts as missed). Never refreshed
 * counts as missed.
 */
export function missedLastTick(refreshedAt: string | null, schedule: string, timezone: string, now = new Date()): boolean {
  if (refreshedAt === null) return true;
  return Date.parse(refreshedAt) < previousTick(schedule, timezone, now).getTime();
}

/**
 * At start-up, refreshes at once (trigger "startup") every site that missed its last
 * tick while the service was down, instead of leaving it stale until its next tick.
 * Closed sites are skipped and logged as at a tick.
 */
export async function catchUp(deps: ScheduledRefreshDeps, now = new Date()): Promise<ScheduledRefreshOutcome[]> {
  const outcomes: ScheduledRefreshOutcome[] = [];
  for (const site of deps.sites.registry.all()) {
    const { schedule, timezone } = site.config;
    outcomes.push(await runScheduledRefresh(deps, site.id, 'startup', (view) => missedLastTick(view.state.refreshedAt, schedule, timezone, now)));
  }
  return outcomes;
}
