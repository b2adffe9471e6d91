import { CronExpressionParser } from 'cron-parser';
import { validate as nodeCronAccepts } from 'node-cron';

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

/** A schedule that cannot be used, with the field at fault. */
export interface ScheduleProblem {
  field: 'schedule' | 'timezone';
  message: string;
}

/**
 * Why a schedule cannot be used, or null. Two engines read it: cron-parser computes the
 * times (expiresAt, catch-up, cluster schedulers) and node-cron fires the ticks of the
 * local scheduler, so it must mean the same to both.
 */
export function scheduleProblem(schedule: string, timezone: string): ScheduleProblem | null {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    return { field: 'timezone', message: `unknown time zone "${timezone}" (expected an IANA name such as "Europe/Paris" or "UTC")` };
  }
  const expression = schedule.trim();
  if (!expression.startsWith('@')) {
    const fields = expression.split(/\s+/);
    if (fields.length !== 5 && fields.length !== 6) {
      return { field: 'schedule', message: `"${schedule}" has ${fields.length} fields; expected 5 (minute hour day month weekday) or 6 (with seconds first)` };
    }
    const [dayOfMonth, , dayOfWeek] = fields.slice(-3);
    // cron-parser runs such a schedule on either day, node-cron only when both match.
    if (![dayOfMonth, dayOfWeek].some((field) => field === '*' || field === '?')) {
      return { field: 'schedule', message: `"${schedule}" restricts both the day of month and the day of week, which cron engines combine differently; restrict only one of them` };
    }
  }
  try {
    nextRun(expression, timezone);
  } catch (err) {
    return { field: 'schedule', message: `"${schedule}" is not a valid cron expression: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (!nodeCronAccepts(expression)) {
    return { field: 'schedule', message: `"${schedule}" is not supported by the local scheduler (node-cron)` };
  }
  return null;
}

/** Throws with a readable message when the expression or the zone is not valid. */
export function validateSchedule(schedule: string, timezone: string): void {
  const problem = scheduleProblem(schedule, timezone);
  if (problem) throw new Error(`${problem.field}: ${problem.message}`);
}
