import type { Queue } from 'bullmq';
import type { RefreshRequest, RefreshRunner } from '../../jobs/refresh-runner.js';
import type { ClusterRetention } from '../../config/schema.js';
import type { JobRecord } from '../../jobs/types.js';
import type { Site } from '../../sites/site.js';
import { CONTROL_JOB, type DiscoverJobData, type RestartOriginJobData } from './queues.js';

/**
 * Refresh jobs spread over the cluster: the job goes on the control queue, any
 * instance discovers its pages, any instance's Chromium renders them, and whichever
 * finishes the last page ends the job. No instance owns a job, so none can strand it.
 */
export class ClusterRefreshRunner implements RefreshRunner {
  /**
   * A job an instance gave back while stopping is tried again by another (see ControlWorker).
   * The 3 tries stay in code: they are part of that hand-over between instances, not a
   * setting a user would tune. A done control job is removed at once (its outcome is in the
   * job record); a failed one is kept cluster.retention.failedControlSeconds.
   */
  private readonly jobOptions: { attempts: number; removeOnComplete: true; removeOnFail: { age: number } };

  constructor(
    private readonly controlQueue: Queue,
    retention: Pick<ClusterRetention, 'failedControlSeconds'>,
  ) {
    this.jobOptions = { attempts: 3, removeOnComplete: true, removeOnFail: { age: retention.failedControlSeconds } };
  }

  async launch(job: JobRecord, site: Site, request: RefreshRequest): Promise<void> {
    if (job.action === 'restart') return this.queueOriginRestart(job);
    const data: DiscoverJobData = { jobId: job.id, siteId: site.id, ...(request.pages ? { pages: request.pages } : {}) };
    await this.controlQueue.add(CONTROL_JOB.discover, data, { jobId: `discover-${job.id}`, ...this.jobOptions });
  }

  /** The origin restart of a job, on whichever instance takes it; queued once per job (the id dedupes). */
  async queueOriginRestart(job: Pick<JobRecord, 'id' | 'siteId'>): Promise<void> {
    const data: RestartOriginJobData = { jobId: job.id, siteId: job.siteId };
    await this.controlQueue.add(CONTROL_JOB.restartOrigin, data, { jobId: `restart-${job.id}`, ...this.jobOptions });
  }

  /** Page jobs check the job's state before rendering: an aborted job's pages are skipped. */
  async abort(): Promise<void> {}

  async stop(): Promise<void> {}
}
