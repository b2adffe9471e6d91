import { validate as nodeCronAccepts } from 'node-cron';
import { nextRun } from './next-run.js';

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
      return {
        field: 'schedule',
        message: `"${schedule}" restricts both the day of month and the day of week, which cron engines combine differently; restrict only one of them`,
      };
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
