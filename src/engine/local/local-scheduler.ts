import { catchUp } from '../../schedule/catch-up.js';
import { siteJitterMs } from '../../schedule/jitter.js';
import { nextRunWithOffset } from '../../cron/next-run.js';
import { runScheduledRefresh, type ScheduledRefreshDeps } from '../../schedule/scheduled-refresh.js';
import type { Scheduler } from '../scheduler.js';
import { nodeCronClock, type ClockTask, type ClockTimer, type SchedulerClock } from './scheduler-clock.js';

export interface LocalSchedulerOptions {
  /** Upper bound of each site's start delay after a tick (see jitter.ts). */
  jitterSeconds: number;
  /** Refresh sites that missed their last tick when the scheduler starts. */
  catchUp: boolean;
}

/**
 * The scheduler of a single process: one node-cron task per configured site, in the
 * site's time zone. Each tick waits for the site's jitter offset, then hands over to
 * the shared tick handler. Every site gets a task, closed ones too: a site activated or
 * restored at run time is refreshed on its next tick without a restart.
 *
 * Ticks, timers and the current time come from `clock` (node-cron and the real timers by
 * default; a virtual clock in tests).
 */
export class LocalScheduler implements Scheduler {
  private readonly tasks: ClockTask[] = [];
  private readonly delays = new Set<ClockTimer>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly clock: SchedulerClock;
  private stopped = false;

  constructor(
    private readonly deps: ScheduledRefreshDeps,
    private readonly options: LocalSchedulerOptions,
    clock?: SchedulerClock,
  ) {
    this.clock = clock ?? nodeCronClock(deps.logger);
  }

  async start(): Promise<void> {
    for (const site of this.deps.sites.registry.all()) {
      const { schedule, timezone } = site.config;
      const offsetMs = siteJitterMs(site.id, schedule, timezone, this.options.jitterSeconds);
      this.tasks.push(this.clock.schedule(schedule, timezone, `refresh:${site.id}`, (tick) => this.onTick(site.id, tick, offsetMs)));
      this.deps.logger.debug(
        { siteId: site.id, schedule, timezone, offsetMs, next: nextRunWithOffset(schedule, timezone, offsetMs, new Date(this.clock.now())) },
        'scheduled refresh armed',
      );
    }
    this.deps.logger.info({ sites: this.tasks.length, jitterSeconds: this.options.jitterSeconds, catchUp: this.options.catchUp }, 'scheduler started');
    if (this.options.catchUp) await this.track(catchUp(this.deps, new Date(this.clock.now())));
  }

  /** Destroys the tasks and pending delays, then waits for handlers already running. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const task of this.tasks.splice(0)) await task.stop();
    for (const timer of this.delays) this.clock.clearTimeout(timer);
    this.delays.clear();
    await Promise.all(this.inFlight);
  }

  /** Returns at once: node-cron must never see a tick as still running. */
  private onTick(siteId: string, tick: Date, offsetMs: number): void {
    // Measured from the tick, not from now: a late timer does not push the run later.
    this.startAt(tick.getTime() + offsetMs, () => void this.track(runScheduledRefresh(this.deps, siteId, 'schedule')));
  }

  /** Runs `work` at `time`, never before: a timer may fire a millisecond early, so it re-arms. */
  private startAt(time: number, work: () => void): void {
    if (this.stopped) return;
    const delayMs = time - this.clock.now();
    if (delayMs <= 0) return work();
    const timer = this.clock.setTimeout(() => {
      this.delays.delete(timer);
      this.startAt(time, work);
    }, delayMs);
    this.delays.add(timer);
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    return work.finally(() => this.inFlight.delete(work));
  }
}
