/**
 * Every change of a job's state, one named function each (as BullMQ has Job.moveToCompleted
 * and moveToFailed), each one compare-and-set in the store, so that of several callers (the
 * instances of a cluster) exactly one makes it. Both engines and RefreshService change a
 * job's state through these functions only.
 *
 *   pending ─► processing ─► succeeded | failed      (moveToProcessing, moveToFinished)
 *   pending | processing ─► failed | aborted         (moveToFailed, moveToAborted)
 */
import type { Logger } from '../observability/logger.js';
import type { SiteDirectory } from '../sites/site-directory.js';
import { jobError } from './job-errors.js';
import type { JobStore } from './job-store.js';
import { UNFINISHED, type JobError, type JobRecord, type RestartStepRecord } from './types.js';

export interface JobEndOptions {
  /** More than this share of failed pages fails the job. */
  maxFailedPercent: number;
  /** Jobs kept per site. */
  keepJobs: number;
}

/**
 * pending → processing. True when the job is processing now: moved here, or already (a
 * step taken over from an instance that died after moving it). False when it ended meanwhile.
 */
export async function moveToProcessing(jobId: string, store: JobStore): Promise<boolean> {
  if (await store.updateJob(jobId, { progress: 'processing' }, ['pending'])) return true;
  return (await store.getJob(jobId))?.progress === 'processing';
}

/**
 * processing → succeeded | failed, by the failure rule: more than maxFailedPercent of its
 * pages failed → failed, else succeeded (and the site's refreshedAt moves); the site's slot
 * is released. Resolves the ended job, or undefined when it was not this caller's to end.
 */
export async function moveToFinished(
  jobId: string,
  store: JobStore,
  sites: SiteDirectory,
  options: JobEndOptions,
  log: Logger,
): Promise<JobRecord | undefined> {
  const job = await store.getJob(jobId);
  if (!job || job.progress !== 'processing') return undefined;
  const failedPercent = job.pageCount === 0 ? 0 : (100 * job.failedCount) / job.pageCount;
  const failed = job.failedCount > 0 && failedPercent > options.maxFailedPercent;
  const endTime = new Date().toISOString();
  const error: JobError | null = job.failedCount > 0 ? jobError('pagesFailed', job.failedCount, job.pageCount) : null;
  const progress = failed ? 'failed' : 'succeeded';
  if (!(await store.updateJob(jobId, { progress, endTime, error }, ['processing']))) return undefined;
  if (!failed) await sites.update(job.siteId, { refreshedAt: endTime, lastTrigger: job.trigger });
  await releaseJob(job, store, options);
  // `log` is the job's own logger: it names the job and the site already.
  log.info({ pages: job.pageCount, complete: job.completedCount, failed: job.failedCount, progress }, 'refresh ended');
  return { ...job, progress, endTime, error };
}

/**
 * processing → succeeded | failed: a restart job's end, by its origin restart's result
 * (the adapter's error when it failed); the site's slot is released.
 */
export async function moveRestartToFinished(
  job: JobRecord,
  error: JobError | null,
  store: JobStore,
  options: Pick<JobEndOptions, 'keepJobs'>,
): Promise<boolean> {
  const ended = await store.updateJob(job.id, { progress: error ? 'failed' : 'succeeded', endTime: new Date().toISOString(), error }, ['processing']);
  await releaseJob(job, store, options);
  return ended;
}

/** unfinished → failed with an error (discovery failed, a restart failed, could not start…); the slot is released. */
export async function moveToFailed(job: JobRecord, error: JobError, store: JobStore, options: Pick<JobEndOptions, 'keepJobs'>): Promise<boolean> {
  const ended = await store.updateJob(job.id, { progress: 'failed', endTime: new Date().toISOString(), error }, UNFINISHED);
  await releaseJob(job, store, options);
  return ended;
}

/** unfinished → aborted (cancelled). The caller stops the job's work, then releases its slot. */
export function moveToAborted(jobId: string, store: JobStore): Promise<boolean> {
  return store.updateJob(jobId, { progress: 'aborted', endTime: new Date().toISOString() }, UNFINISHED);
}

/**
 * Single process only, at start-up: jobs left unfinished by a process that stopped move to
 * failed (JOB_ERRORS serviceRestarted, or restartStateUnknown for a restart job), with an error that says so; their rendered pages stay
 * cached. (In a cluster the others carry such a job on; see the README.)
 */
export async function moveInterruptedToFailed(
  store: JobStore,
  options: Pick<JobEndOptions, 'keepJobs'>,
  isRunningHere: (jobId: string) => boolean,
  log: Logger,
): Promise<number> {
  const orphans = (await store.unfinishedJobs()).filter((job) => !isRunningHere(job.id));
  for (const job of orphans) {
    const left = job.pageCount - job.completedCount - job.failedCount;
    const error = job.action === 'restart' ? jobError('restartStateUnknown') : jobError('serviceRestarted', left, job.pageCount);
    await moveToFailed(job, error, store, options);
    log.warn({ jobId: job.id, siteId: job.siteId, left }, 'ended a job interrupted by a restart');
  }
  return orphans.length;
}

/**
 * Writes the job's restart steps while it is unfinished; false once it ended (cancelled,
 * maybe on another instance), which tells a running restart to stop.
 */
export function recordRestartSteps(jobId: string, steps: RestartStepRecord[], store: JobStore): Promise<boolean> {
  return store.updateJob(jobId, { restartSteps: steps }, UNFINISHED);
}

/** Frees the site for its next refresh and drops its oldest jobs. */
export async function releaseJob(job: Pick<JobRecord, 'id' | 'siteId'>, store: JobStore, options: Pick<JobEndOptions, 'keepJobs'>): Promise<void> {
  await store.releaseSiteSlot(job.siteId, job.id).catch(() => {});
  await store.pruneJobs(job.siteId, options.keepJobs).catch(() => {});
}
