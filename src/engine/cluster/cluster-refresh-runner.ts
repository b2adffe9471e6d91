import type { Queue } from 'bullmq';
import type { RefreshRequest, RefreshRunner } from '../../jobs/refresh-runner.js';
import type { JobRecord } from '../../jobs/types.js';
import type { Site } from '../../sites/site.js';
import { CONTROL_JOB, type DiscoverJobData, type RestartOriginJobData } from './queues.js';

/** A job an instance gave back while stopping is tried again by another (see ControlWorker). */
const CONTROL_JOB_OPTIONS = { attempts: 3, removeOnComplete: true, removeOnFail: { age: 24 * 3600 } } as const;

/**
 * Refresh jobs spread over the cluster: the job goes on the control queue, any
 * instance discovers its pages, any instance's Chromium renders them, and whichever
 * finishes the last page ends the job. No instance owns a job, so none can strand it.
 */
export class ClusterRefreshRunner implements RefreshRunner {
  constructor(private readonly controlQueue: Queue) {}

  async launch(job: JobRecord, site: Site, request: RefreshRequest): Promise<void> {
    if (job.action === 'restart') return this.queueOriginRestart(job);
    const data: DiscoverJobData = { jobId: job.id, siteId: site.id, ...(request.pages ? { pages: request.pages } : {}) };
    await this.controlQueue.add(CONTROL_JOB.discover, data, { jobId: `discover-${job.id}`, ...CONTROL_JOB_OPTIONS });
  }

  /** The origin restart of a job, on whichever instance takes it; queued once per job (the id dedupes). */
  async queueOriginRestart(job: Pick<JobRecord, 'id' | 'siteId'>): Promise<void> {
    const data: RestartOriginJobData = { jobId: job.id, siteId: job.siteId };
    await this.controlQueue.add(CONTROL_JOB.restartOrigin, data, { jobId: `restart-${job.id}`, ...CONTROL_JOB_OPTIONS });
  }

  /** Page jobs check the job's state before rendering: an aborted job's pages are skipped. */
  async abort(): Promise<void> {}

  async stop(): Promise<void> {}
}
