import type { Job, Page } from './api-types.js';
import { cell, elapsed, table } from './table.js';

/** A job as a two-column table. */
export function jobTable(job: Job): string {
  const rows: [string, string][] = [
    ['job', job.id],
    ['site', job.context],
    ['action', job.action],
    ['trigger', job.trigger],
    ['progress', `${job.progress} (${job.completedPercentage}%)`],
    [
      'pages',
      `${job.completedCount + job.failedCount}/${job.pageCount} done, ${job.completedCount} complete (${job.unchangedCount ?? 0} unchanged), ${job.failedCount} failed`,
    ],
    ['started', job.startTime],
    ['ended', cell(job.endTime)],
    ['took', elapsed(job.startTime, job.endTime)],
  ];
  if (job.error) rows.push(['error', `${job.error.title}${job.error.detail ? `: ${job.error.detail}` : ''}`]);
  for (const [i, step] of (job.restartSteps ?? []).entries()) rows.push([i === 0 ? 'restart' : '', stepText(step)]);
  return table(['field', 'value'], rows);
}

function stepText(step: Record<string, unknown>): string {
  const text = (key: string) => (typeof step[key] === 'string' || typeof step[key] === 'number' ? String(step[key]) : '');
  return [text('step') || text('name'), text('status') || text('outcome'), text('detail')].filter(Boolean).join(' ');
}

export function jobsTable(jobs: Job[]): string {
  return table(
    ['job', 'action', 'trigger', 'progress', 'pages', 'failed', 'started', 'took'],
    jobs.map((j) => [
      j.id,
      j.action,
      j.trigger,
      j.progress,
      `${j.completedCount + j.failedCount}/${j.pageCount}`,
      String(j.failedCount),
      j.startTime,
      elapsed(j.startTime, j.endTime),
    ]),
  );
}

export function pagesTable(pages: Page[]): string {
  return table(
    ['page', 'variant', 'status', 'outcome', 'http', 'ms', 'bytes', 'error'],
    pages.map((p) => [
      p.pageUrl,
      p.variant ?? '-',
      p.status,
      p.outcome ?? '-',
      cell(p.httpStatus),
      cell(p.renderTimeMs),
      cell(p.bytes),
      p.error ? cell(p.error.detail ?? p.error.title) : '-',
    ]),
  );
}

/** One line on how a job ended. */
export function jobSummary(job: Job): string {
  const pages =
    job.action === 'refresh'
      ? `: ${job.pageCount} pages, ${job.completedCount} complete (${job.unchangedCount ?? 0} unchanged), ${job.failedCount} failed`
      : '';
  const error = job.error ? `\n  ${job.error.title}${job.error.detail ? `: ${job.error.detail}` : ''}` : '';
  return `job ${job.id} (${job.action} of ${job.context}) ${job.progress}${pages}, in ${elapsed(job.startTime, job.endTime)}${error}\n`;
}

export const isFinished = (job: Job) => job.progress === 'succeeded' || job.progress === 'failed' || job.progress === 'aborted';
