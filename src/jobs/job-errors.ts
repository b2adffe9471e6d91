/**
 * Every error a job or a page can end with, defined once (as api/errors.ts does for HTTP):
 * a job error's title, its own `o:errorCode` and how its detail is worded; a failed page's
 * title by why it failed. Titles are in Title Case. Nothing else writes a job or page title.
 */
import type { RestartFailure } from '../adapters/index.js';
import type { RenderFailureKind } from '../render/types.js';
import type { JobAction, JobError } from './types.js';

interface JobErrorDefinition<A extends unknown[]> {
  title: string;
  code: string;
  detail: (...args: A) => string;
}

const define = <A extends unknown[]>(def: JobErrorDefinition<A>) => def;

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** The job errors, by kind. */
export const JOB_ERRORS = {
  /** Single process: a refresh job left unfinished by a process that stopped (moveInterruptedToFailed). */
  serviceRestarted: define({
    title: 'Service Restarted',
    code: 'RENDERCACHE-JOB-RESTARTED',
    detail: (left: number, pageCount: number) =>
      `The service stopped while this job was running; ${left} of ${pageCount} pages were not refreshed. Pages already rendered stay cached. Start a new refresh.`,
  }),
  /** Single process: a restart job left unfinished by a process that stopped; whether the origin restarted is unknown. */
  restartStateUnknown: define({
    title: 'Service Restarted',
    code: 'RENDERCACHE-JOB-RESTART-UNKNOWN',
    detail: () => 'The service stopped while this origin restart was running; whether the origin restarted is unknown. Start a new restart if needed.',
  }),
  /**
   * The origin restart failed: before a refresh (no page rendered), or a restart job (whose
   * error keeps the platform adapter's own title, see restartJobError), or an unexpected error in one.
   */
  originRestartFailed: define({
    title: 'Origin Restart Failed',
    code: 'RENDERCACHE-JOB-ORIGIN-RESTART-FAILED',
    detail: (reason: string) => reason,
  }),
  /** Starting the job failed (the store or the queue went away); the job was ended and the site freed. */
  couldNotStart: define({
    title: 'Could Not Start',
    code: 'RENDERCACHE-JOB-NOT-STARTED',
    detail: (err: unknown) => `The job could not be started: ${messageOf(err)}. Start it again.`,
  }),
  /** The site's pages could not be discovered (sitemap, list or crawl). */
  discoveryFailed: define({
    title: 'Discovery Failed',
    code: 'RENDERCACHE-JOB-DISCOVERY-FAILED',
    detail: (err: unknown) => messageOf(err),
  }),
  /** Some pages failed (the job fails when more than refresh.maxFailedPercent did; else it succeeds with this error). */
  pagesFailed: define({
    title: 'Pages Failed',
    code: 'RENDERCACHE-JOB-PAGES-FAILED',
    detail: (failed: number, pageCount: number) => `${failed} of ${pageCount} pages failed to render; their previously cached versions are still served.`,
  }),
  /** An error nobody expected ended a refresh job. */
  unexpected: define({
    title: 'Refresh Failed',
    code: 'RENDERCACHE-JOB-UNEXPECTED',
    detail: (err: unknown) => messageOf(err),
  }),
} as const;

export type JobErrorKind = keyof typeof JOB_ERRORS;

type DetailArgs<K extends JobErrorKind> = Parameters<(typeof JOB_ERRORS)[K]['detail']>;

/** The error of kind `kind`, its detail worded by the table. */
export function jobError<K extends JobErrorKind>(kind: K, ...args: DetailArgs<K>): JobError {
  const def = JOB_ERRORS[kind] as JobErrorDefinition<DetailArgs<K>>;
  return { title: def.title, code: def.code, detail: def.detail(...args) };
}

/** A restart job's failed origin restart: the platform adapter's own title and detail, our code. */
export function restartJobError(failure: { title: string; detail: string }): JobError {
  return { title: failure.title, code: JOB_ERRORS.originRestartFailed.code, detail: failure.detail };
}

/**
 * The restart failure of a site without a `restart` block (its config changed after the job
 * was asked for); a restart job ends with it (restartJobError), a refresh with originRestartFailed.
 */
export const restartNotConfigured = (siteId: string): RestartFailure => ({
  code: 'config',
  title: 'Origin Restart Not Configured',
  detail: `site ${siteId} has no restart block`,
});

/** Thrown by the refresh flow when the site's pages could not be discovered. */
export class DiscoveryFailedError extends Error {
  override name = 'DiscoveryFailedError';
  constructor(readonly reason: unknown) {
    super(messageOf(reason));
  }
}

/** The error of a job that `err` ended unexpectedly (caught by an engine around the flow's steps). */
export function unexpectedJobError(action: JobAction, err: unknown): JobError {
  if (action === 'restart') return jobError('originRestartFailed', messageOf(err));
  if (err instanceof DiscoveryFailedError) return jobError('discoveryFailed', err.reason);
  return jobError('unexpected', err);
}

/** A failed page's title, by why its render failed. */
export const PAGE_FAILURE_TITLES: Record<RenderFailureKind, string> = {
  timeout: 'Render Timed Out',
  'browser-crashed': 'Browser Crashed',
  'chromium-error': 'Render Error',
  'origin-error': 'Origin Error',
  'empty-body': 'Empty Page',
  'navigation-blocked': 'Navigation Refused',
  'store-error': 'Cache Write Failed',
};

/** For a kind no version of this table knows (a record written by a newer instance). */
const UNKNOWN_PAGE_FAILURE_TITLE = 'Render Failed';

/**
 * A failed page's error. An exception around a render (or the queue giving the page up) is
 * worded as a Chromium error: 'Render Error'.
 */
export function pageError(kind: RenderFailureKind, detail: string): JobError {
  return { title: (PAGE_FAILURE_TITLES as Partial<Record<string, string>>)[kind] ?? UNKNOWN_PAGE_FAILURE_TITLE, detail };
}
