import type { Queue } from 'bullmq';
import type { Logger } from '../../observability/logger.js';
import type { SiteRegistry } from '../../sites/site-registry.js';
import { previousTick } from '../../cron/next-run.js';
import type { Scheduler } from '../scheduler.js';
import type { ClusterRetention } from '../../config/schema.js';
import { CONTROL_JOB, removeOptions, type CatchUpJobData, type TickJobData } from './queues.js';

const SCHEDULER_PREFIX = 'refresh:';

/**
 * Scheduled refreshes of a cluster, as BullMQ job schedulers on the control queue.
 * Redis holds one scheduler per site, whatever the number of instances upserting it,
 * and BullMQ makes exactly one job per tick; any instance's control worker runs it.
 */
export class ClusterScheduler implements Scheduler {
  constructor(
    private readonly controlQueue: Queue,
    private readonly sites: SiteRegistry,
    private readonly options: { enabled: boolean; catchUp: boolean; retention: Pick<ClusterRetention, 'ticks' | 'catchUps'> },
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const wanted = new Set<string>();
    // Disabled: the loop below removes every schedule, or Redis would keep firing them.
    for (const site of this.options.enabled ? this.sites.all() : []) {
      const id = SCHEDULER_PREFIX + site.id;
      wanted.add(id);
      const data: TickJobData = { siteId: site.id };
      await this.controlQueue.upsertJobScheduler(
        id,
        { pattern: site.config.schedule, tz: site.config.timezone },
        {
          name: CONTROL_JOB.tick,
          data,
          opts: removeOptions(this.options.retention.ticks),
        },
      );
    }
    // Sites gone from the config (or every site, when disabled) lose their schedule.
    for (const scheduler of await this.controlQueue.getJobSchedulers()) {
      const id = scheduler.key;
      if (id.startsWith(SCHEDULER_PREFIX) && !wanted.has(id)) await this.controlQueue.removeJobScheduler(id);
    }
    this.logger.info({ sites: wanted.size, enabled: this.options.enabled, catchUp: this.options.catchUp }, 'cluster scheduler armed');
    if (this.options.enabled && this.options.catchUp) await this.queueCatchUps();
  }

  /** Schedulers stay in Redis: they belong to the cluster, not to this instance. */
  async stop(): Promise<void> {}

  /**
   * One catch-up per site and missed tick for the whole cluster: the job id names the
   * tick, so instances starting together queue it once.
   */
  private async queueCatchUps(): Promise<void> {
    for (const site of this.sites.all()) {
      const tick = previousTick(site.config.schedule, site.config.timezone).getTime();
      const data: CatchUpJobData = { siteId: site.id };
      await this.controlQueue.add(CONTROL_JOB.catchUp, data, {
        jobId: `catch-up-${site.id}-${tick}`,
        ...removeOptions(this.options.retention.catchUps),
      });
    }
  }
}
