import { CronExpressionParser } from 'cron-parser';

/** When a cron schedule next fires after `from`, in its time zone. */
export function nextRun(schedule: string, timezone: string, from = new Date()): Date {
  return CronExpressionParser.parse(schedule, { tz: timezone, currentDate: from }).next().toDate();
}

/** Throws with a readable message when the expression or the zone is not valid. */
export function validateSchedule(schedule: string, timezone: string): void {
  nextRun(schedule, timezone);
}
