import type { JobRecord, JobTrigger, RequestedPage } from './types.js';
import type { Site } from '../sites/site.js';

export interface RefreshRequest {
  trigger: JobTrigger;
  requestedBy: string;
  /** Only these pages (normalised URLs of the site, each in every variant or the one named); all discovered pages when absent. */
  pages?: RequestedPage[];
}

/**
 * Where the work of a created refresh job runs: in this process (p-queue), or spread
 * over every instance of a cluster (BullMQ). Either way the job record in the store
 * is the one truth about its progress.
 */
export interface RefreshRunner {
  /** Takes a pending job (a refresh, or a restart job) to its end; resolves once the work is handed over. */
  launch(job: JobRecord, site: Site, request: RefreshRequest): Promise<void>;
  /** The job was aborted in the store: stop its work here. */
  abort(jobId: string): Promise<void>;
  /** Stops this process's share of the work without marking any job. */
  stop(): Promise<void>;
}
