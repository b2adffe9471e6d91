import type { Queue } from 'bullmq';
import type { RefreshRequest, RefreshRunner } from '../jobs/refresh-runner.js';
import type { JobRecord } from '../jobs/types.js';
import type { Site } from '../sites/site.js';
import { CONTROL_JOB, type DiscoverJobData } from './queues.js';

/**
 * Refresh jobs spread over the cluster: the job goes on the control queue, any
 * instance discovers its pages, any instance's Chromium renders them, and whichever
 * finishes the last page ends the job. No instance owns a job, so none can strand it.
 */
export class ClusterRefreshRunner implements RefreshRunner {
  constructor(private readonly controlQueue: Queue) {}

  async launch(job: JobRecord, site: Site, request: RefreshRequest): Promise<void> {
    const data: DiscoverJobData = { jobId: job.id, siteId: site.id, ...(request.pages ? { pages: request.pages } : {}) };
    await this.controlQueue.add(CONTROL_JOB.discover, data, { jobId: `discover-${job.id}`, removeOnComplete: true, removeOnFail: { age: 24 * 3600 } });
  }

  /** Page jobs check the job's state before rendering: an aborted job's pages are skipped. */
  async abort(): Promise<void> {}

  async stop(): Promise<void> {}
}
