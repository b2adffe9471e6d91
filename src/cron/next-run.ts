import { CronExpressionParser } from 'cron-parser';

/** When a cron schedule next fires after `from`, in its time zone. */
export function nextRun(schedule: string, timezone: string, from = new Date()): Date {
  return CronExpressionParser.parse(schedule, { tz: timezone, currentDate: from }).next().toDate();
}

/** The most recent tick of the schedule strictly before `from`, in its time zone. */
export function previousTick(schedule: string, timezone: string, from = new Date()): Date {
  return CronExpressionParser.parse(schedule, { tz: timezone, currentDate: from }).prev().toDate();
}

/**
 * When the next run starts when every run starts `offsetMs` after its tick. A tick that
 * has passed but whose delayed run has not started yet still counts: that run is next.
 */
export function nextRunWithOffset(schedule: string, timezone: string, offsetMs: number, from = new Date()): Date {
  return new Date(nextRun(schedule, timezone, new Date(from.getTime() - offsetMs)).getTime() + offsetMs);
}

/** Ticks sampled to find a schedule's shortest gap; enough for any hourly or daily pattern. */
const INTERVAL_SAMPLE_TICKS = 48;
/** A fixed start for the sample, so that the answer (and every offset derived from it) never changes. */
const INTERVAL_SAMPLE_FROM = new Date('2024-01-01T00:00:00Z');
const shortestIntervals = new Map<string, number>();

/**
 * The shortest gap between two consecutive ticks of the schedule (sampled from a fixed
 * date, so it is the same in every process). Jitter is kept under half of it, so that a
 * delayed run never slides past the next tick.
 */
export function shortestIntervalMs(schedule: string, timezone: string): number {
  const key = `${timezone} ${schedule}`;
  const known = shortestIntervals.get(key);
  if (known !== undefined) return known;
  const ticks = CronExpressionParser.parse(schedule, { tz: timezone, currentDate: INTERVAL_SAMPLE_FROM });
  let previous = ticks.next().getTime();
  let shortest = Number.POSITIVE_INFINITY;
  for (let i = 1; i < INTERVAL_SAMPLE_TICKS && ticks.hasNext(); i++) {
    const next = ticks.next().getTime();
    shortest = Math.min(shortest, next - previous);
    previous = next;
  }
  shortestIntervals.set(key, shortest);
  return shortest;
}
