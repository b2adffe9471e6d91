import type { KeepJobs } from 'bullmq';
import type { KeptJobs } from '../../config/schema.js';
import type { RequestedPage } from '../../jobs/types.js';
import type { RenderTask } from '../render-queue.js';
import { PRIORITY } from '../render-queue.js';
import { slotTag } from '../../redis/redis-connection.js';

/** BullMQ queues of a cluster, under the cache namespace so clusters never mix. */
export const RENDER_QUEUE = 'render';
export const CONTROL_QUEUE = 'control';
/** BullMQ's scripts touch several keys of a queue at once: one hash tag keeps them in one Redis Cluster slot. */
export const bullPrefix = (namespace: string) => slotTag(namespace, 'bull');

/** Jobs of the render queue: a crawler's lookup, or one page of a refresh job. */
export const RENDER_JOB = { lookup: 'lookup', page: 'page' } as const;
/**
 * Jobs of the control queue: finding a refresh job's pages, a scheduled tick, and an
 * origin restart (a restart job's, or a refresh job's on-failure restart).
 */
export const CONTROL_JOB = { discover: 'discover', tick: 'tick', catchUp: 'catch-up', restartOrigin: 'restart-origin' } as const;

/** BullMQ job id suffix of a page queued again after an origin restart (BullMQ dedupes ids). */
export const RETRY_ROUND_SUFFIX = '-r1';

export interface LookupJobData {
  task: RenderTask;
}

export interface PageJobData {
  task: RenderTask;
  jobId: string;
  seq: number;
  maxAttempts: number;
}

export interface DiscoverJobData {
  jobId: string;
  siteId: string;
  /** The pages asked for; absent means discover them. */
  pages?: RequestedPage[];
}

export interface RestartOriginJobData {
  jobId: string;
  siteId: string;
}

export interface TickJobData {
  siteId: string;
}

export interface CatchUpJobData {
  siteId: string;
}

/** BullMQ runs priority 1 first; lookups go before revalidations before refresh pages. */
export function bullPriority(priority: number): number {
  if (priority >= PRIORITY.lookup) return 1;
  if (priority >= PRIORITY.revalidate) return 2;
  return 3;
}

/** BullMQ's removeOnComplete and removeOnFail for one kind of job, from its cluster.retention entry. */
export function removeOptions(kept: KeptJobs): { removeOnComplete: KeepJobs; removeOnFail: KeepJobs } {
  return { removeOnComplete: keepJobs(kept.completedSeconds, kept.completedCount), removeOnFail: keepJobs(kept.failedSeconds, kept.failedCount) };
}

const keepJobs = (age: number, count: number | undefined): KeepJobs => (count === undefined ? { age } : { age, count });
