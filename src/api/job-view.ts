import type { JobRecord, PageRecord } from '../jobs/types.js';
import { errors } from './errors.js';

/** The job-status resource (CONTRACTS.md §1, GET /sites/_status/{jobId}). */
export function jobStatusBody(job: JobRecord, pollIntervalMs: number) {
  const done = job.completedCount + job.failedCount;
  const finished = job.progress === 'succeeded' || job.progress === 'failed' || job.progress === 'aborted';
  const percentage = job.progress === 'succeeded' ? 100 : job.pageCount === 0 ? 0 : Math.floor((100 * done) / job.pageCount);
  return {
    id: job.id,
    context: job.siteId,
    action: job.action,
    trigger: job.trigger,
    startTime: job.startTime,
    endTime: job.endTime,
    progress: job.progress,
    completed: job.progress === 'succeeded',
    completedPercentage: finished ? percentage : Math.min(percentage, 99),
    intervalToPoll: pollIntervalMs,
    pageCount: job.pageCount,
    completedCount: job.completedCount,
    unchangedCount: job.unchangedCount,
    failedCount: job.failedCount,
    ...(job.restartSteps.length > 0 ? { restartSteps: job.restartSteps } : {}),
    ...(job.error ? { error: errorBodyOf(job) } : {}),
  };
}

/** A job's error in the common error-body shape: its title and code from jobs/job-errors, as stored. */
function errorBodyOf(job: JobRecord) {
  const body = errors.jobFailed(job.error?.detail ?? '').body;
  return { ...body, title: job.error?.title ?? body.title, 'o:errorCode': job.error?.code ?? body['o:errorCode'] };
}

/** One item of GET /sites/_status/{jobId}/pages. */
export function pageItem(page: PageRecord) {
  return {
    pageUrl: page.pageUrl,
    variant: page.variant,
    status: page.status,
    outcome: page.outcome,
    httpStatus: page.httpStatus,
    renderedAt: page.renderedAt,
    renderTimeMs: page.renderTimeMs,
    bytes: page.bytes,
    ...(page.renderedBy ? { renderedBy: page.renderedBy } : {}),
    ...(page.error ? { error: page.error } : {}),
  };
}
