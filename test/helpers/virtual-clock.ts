import type { ClockTask, ClockTimer, SchedulerClock } from '../../src/engine/local/scheduler-clock.js';
import { nextRun } from '../../src/cron/next-run.js';

interface Timer {
  id: number;
  at: number;
  callback: () => void;
}

interface Task {
  schedule: string;
  timezone: string;
  next: number;
  onTick: (tick: Date) => void;
}

/** Lets the promise chains a tick or a timer started run to their end (no real waiting). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * A clock for the local scheduler whose time moves only when the test says so. Cron
 * ticks are computed with the same cron maths as the service (cron-parser), and fire,
 * with the timers, in time order while `advance` moves the time forward.
 */
export class VirtualClock implements SchedulerClock {
  private time: number;
  private lastId = 0;
  private readonly timers = new Map<number, Timer>();
  private readonly tasks = new Set<Task>();

  constructor(start: Date | string) {
    this.time = new Date(start).getTime();
  }

  now(): number {
    return this.time;
  }

  date(): Date {
    return new Date(this.time);
  }

  setTimeout(callback: () => void, delayMs: number): ClockTimer {
    const id = ++this.lastId;
    this.timers.set(id, { id, at: this.time + Math.max(0, delayMs), callback });
    return id;
  }

  clearTimeout(timer: ClockTimer): void {
    this.timers.delete(timer as number);
  }

  schedule(schedule: string, timezone: string, _name: string, onTick: (tick: Date) => void): ClockTask {
    const task: Task = { schedule, timezone, onTick, next: nextRun(schedule, timezone, this.date()).getTime() };
    this.tasks.add(task);
    return { stop: () => Promise.resolve(void this.tasks.delete(task)) };
  }

  /** Armed cron tasks and pending timers, for a test that checks stop() disarmed everything. */
  get pending(): { tasks: number; timers: number } {
    return { tasks: this.tasks.size, timers: this.timers.size };
  }

  /** Moves the time `ms` forward, firing every timer and tick due on the way, earliest first (timers first at the same time). */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      const timer = [...this.timers.values()].filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      const task = [...this.tasks].filter((t) => t.next <= end).sort((a, b) => a.next - b.next)[0];
      if (timer && (!task || timer.at <= task.next)) {
        this.time = timer.at;
        this.timers.delete(timer.id);
        timer.callback();
      } else if (task) {
        this.time = task.next;
        task.next = nextRun(task.schedule, task.timezone, this.date()).getTime();
        task.onTick(this.date());
      } else break;
      await settle();
    }
    this.time = end;
    await settle();
  }
}
