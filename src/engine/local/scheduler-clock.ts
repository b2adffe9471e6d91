import cron, { type Logger as CronLogger } from 'node-cron';
import type { Logger } from '../../observability/logger.js';

/** A timer armed by `SchedulerClock.setTimeout`; opaque to the scheduler. */
export type ClockTimer = unknown;

/** One armed cron schedule; `stop` disarms it. */
export interface ClockTask {
  stop(): Promise<void>;
}

/**
 * Time as the local scheduler sees it: the current time, timers, and the ticks of a cron
 * schedule. The default is the real one (Date.now, global timers, node-cron); tests pass
 * a virtual clock that fires ticks and timers when the test moves time forward.
 */
export interface SchedulerClock {
  now(): number;
  setTimeout(callback: () => void, delayMs: number): ClockTimer;
  clearTimeout(timer: ClockTimer): void;
  /** Calls `onTick` with the tick's time at each tick of `schedule` in `timezone`. */
  schedule(schedule: string, timezone: string, name: string, onTick: (tick: Date) => void): ClockTask;
}

/** The real clock: ticks come from node-cron, whose own warnings go to the service log. */
export function nodeCronClock(logger: Logger): SchedulerClock {
  const cronLogger = toCronLogger(logger);
  return {
    now: () => Date.now(),
    setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
    clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
    schedule: (schedule, timezone, name, onTick) => {
      const task = cron.schedule(schedule, (context) => onTick(context.date), { timezone, name, logger: cronLogger });
      return { stop: async () => void (await task.destroy()) };
    },
  };
}

function toCronLogger(logger: Logger): CronLogger {
  const log = logger.child({ component: 'node-cron' });
  const text = (message: string | Error) => (message instanceof Error ? message.message : message);
  return {
    info: (message) => log.info(message),
    warn: (message) => log.warn(message),
    error: (message, err) => log.error({ err: (err ?? (message instanceof Error ? message : undefined))?.message }, text(message)),
    debug: (message, err) => log.debug({ err: err?.message }, text(message)),
  };
}
