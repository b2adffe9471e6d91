import { createHash } from 'node:crypto';
import { shortestIntervalMs } from '../cron/next-run.js';

/**
 * A number in [0, 1) derived from the site id alone: every process, and every restart,
 * gives a site the same place in the jitter window without storing anything.
 */
export function siteFraction(siteId: string): number {
  return createHash('sha256').update(siteId).digest().readUInt32BE(0) / 2 ** 32;
}

/**
 * How long after each tick of its schedule a site's refresh starts: a deterministic
 * offset in [0, jitterSeconds), and never more than half the schedule's shortest
 * interval, so that a fast cron still runs once per tick, before the next one.
 */
export function siteJitterMs(siteId: string, schedule: string, timezone: string, jitterSeconds: number): number {
  const window = Math.min(jitterSeconds * 1000, shortestIntervalMs(schedule, timezone) / 2);
  return Math.floor(siteFraction(siteId) * window);
}
