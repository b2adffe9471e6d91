import type { Logger } from '../observability/logger.js';
import type { RenderTaskResult } from '../engine/render-queue.js';
import type { RenderFailureKind } from '../render/types.js';
import type { Site } from '../sites/site.js';
import type { SiteDirectory } from '../sites/site-directory.js';
import type { PageDiscovery } from './discovery/discover-pages.js';
import type { JobError, JobRecord, JobStore, PageUpdate, PageStatus } from './types.js';

/**
 * The steps every refresh job goes through, whoever runs them (this process, or any
 * instance of a cluster): pages discovered → each page complete or failed → the job
 * ended once by the failure rule, its site slot released.
 */

export interface JobEndOptions {
  /** More than this share of failed pages fails the job. */
  maxFailedPercent: number;
  /** Jobs kept per site. */
  keepJobs: number;
}

/**
 * Discovers the job's pages (or takes the requested ones) and moves it to processing.
 * Idempotent: a job whose pages were already added (a discovery taken over after a
 * crash) keeps them.
 */
export async function addJobPages(job: JobRecord, site: Site, requested: string[] | undefined, store: JobStore, discovery: PageDiscovery): Promise<number> {
  const current = await store.getJob(job.id);
  if (current && current.pageCount > 0) return current.pageCount;
  const urls = requested ?? (await discovery.discover(site));
  await store.addPages(job.id, urls);
  return urls.length;
}

/** The page record that a render outcome leaves. */
export function pageOutcome(result: RenderTaskResult, attempts: number): PageUpdate & { status: PageStatus } {
  if (result.ok) {
    return {
      status: 'complete',
      httpStatus: result.status,
      renderedAt: result.renderedAt,
      renderTimeMs: result.renderTimeMs,
      bytes: result.bytes,
      attempts,
      renderedBy: result.renderedBy,
      error: null,
      failureKind: null,
    };
  }
  return failedPage({ title: failureTitle(result.failure.kind), detail: result.failure.detail }, attempts, result.renderedBy, result.failure.kind);
}

export function failedPage(
  error: JobError,
  attempts: number,
  renderedBy: string | null = null,
  failureKind: RenderFailureKind | null = null,
): PageUpdate & { status: 'failed' } {
  return { status: 'failed', attempts, error, renderedBy, failureKind };
}

const FAILURE_TITLES: Record<string, string> = {
  timeout: 'Render Timed Out',
  'browser-crashed': 'Browser Crashed',
  'chromium-error': 'Render Error',
  'origin-error': 'Origin Error',
  'empty-body': 'Empty Page',
  'navigation-blocked': 'Navigation Refused',
  'store-error': 'Cache Write Failed',
};
const failureTitle = (kind: string) => FAILURE_TITLES[kind] ?? 'Render Failed';

/**
 * Ends a processing job by the failure rule: more than maxFailedPercent of its pages
 * failed → failed, else succeeded (and the site's refreshedAt moves). The state change
 * is a compare-and-set, so of several instances finishing at once only one ends it.
 * Resolves the ended job, or undefined when it was not this caller's to end.
 */
export async function endRefreshJob(jobId: string, store: JobStore, sites: SiteDirectory, options: JobEndOptions, log: Logger): Promise<JobRecord | undefined> {
  const job = await store.getJob(jobId);
  if (!job || job.progress !== 'processing') return undefined;
  const failedPercent = job.pageCount === 0 ? 0 : (100 * job.failedCount) / job.pageCount;
  const failed = job.failedCount > 0 && failedPercent > options.maxFailedPercent;
  const endTime = new Date().toISOString();
  const error: JobError | null = job.failedCount > 0
    ? { title: 'Pages Failed', detail: `${job.failedCount} of ${job.pageCount} pages failed to render; their previously cached versions are still served.` }
    : null;
  const progress = failed ? 'failed' : 'succeeded';
  if (!(await store.updateJob(jobId, { progress, endTime, error }, ['processing']))) return undefined;
  if (!failed) await sites.update(job.siteId, { refreshedAt: endTime, lastTrigger: job.trigger });
  await releaseJob(job, store, options);
  log.info({ jobId, siteId: job.siteId, pages: job.pageCount, complete: job.completedCount, failed: job.failedCount, progress }, 'refresh ended');
  return { ...job, progress, endTime, error };
}

/** Ends a job as failed with an error (discovery failed, service restarted…). */
export async function failJob(job: JobRecord, error: JobError, store: JobStore, options: JobEndOptions): Promise<boolean> {
  const ended = await store.updateJob(job.id, { progress: 'failed', endTime: new Date().toISOString(), error }, ['pending', 'processing']);
  await releaseJob(job, store, options);
  return ended;
}

/** Frees the site for its next refresh and drops its oldest jobs. */
export async function releaseJob(job: Pick<JobRecord, 'id' | 'siteId'>, store: JobStore, options: Pick<JobEndOptions, 'keepJobs'>): Promise<void> {
  await store.releaseSiteSlot(job.siteId, job.id).catch(() => {});
  await store.pruneJobs(job.siteId, options.keepJobs).catch(() => {});
}

/** Every page of the job is complete or failed. */
export const allPagesDone = (job: JobRecord) => job.completedCount + job.failedCount >= job.pageCount;
