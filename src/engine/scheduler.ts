/**
 * Runs the scheduled refreshes of every site. The local one (node-cron, this process)
 * and a cluster one (BullMQ job schedulers) share the tick handler in scheduled-refresh.
 */
export interface Scheduler {
  /** Arms the schedules and, when configured, catches up on overdue sites. */
  start(): Promise<void>;
  /** Disarms every schedule and pending delay; refreshes already started keep running. */
  stop(): Promise<void>;
}
