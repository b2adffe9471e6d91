import type { Site } from '../sites/site.js';
import { siteJitterMs } from './jitter.js';
import { nextRunWithOffset } from '../cron/next-run.js';

/** When the site's next scheduled refresh starts: its next tick plus its jitter offset. */
export function nextScheduledRefresh(site: Site, jitterSeconds: number, from = new Date()): Date {
  const { schedule, timezone } = site.config;
  return nextRunWithOffset(schedule, timezone, siteJitterMs(site.id, schedule, timezone, jitterSeconds), from);
}
