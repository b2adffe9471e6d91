import type { RenderFailureKind } from '../render/types.js';

/** States of a refresh job: pending → processing → succeeded | failed | aborted. */
export type JobProgress = 'pending' | 'processing' | 'succeeded' | 'failed' | 'aborted';

/** States of one page in a job: pending → processing → complete | failed. */
export type PageStatus = 'pending' | 'processing' | 'complete' | 'failed';

/** How a finished page ended: rendered in Chromium, verified unchanged (kept), or failed. */
export type PageOutcome = 'rendered' | 'unchanged' | 'failed';

export type JobTrigger = 'api' | 'schedule' | 'startup';

export type JobAction = 'refresh' | 'restart';

/** One step of an origin restart, as shown in job records. */
export interface RestartStepRecord {
  at: string;
  kind: string;
  detail: string;
  platformJobId?: string;
  state?: string;
}

/** A job's or a page's error; titles and codes come from jobs/job-errors only. */
export interface JobError {
  title: string;
  detail: string;
  /** A job error's `o:errorCode` (JOB_ERRORS); none on page errors and on job errors stored before it existed. */
  code?: string;
}

/** A refresh (or origin restart) job as stored. Counters live beside it, never rewritten whole. */
export interface JobRecord {
  id: string;
  siteId: string;
  action: JobAction;
  trigger: JobTrigger;
  progress: JobProgress;
  /** Who asked (user name), for the record. */
  requestedBy: string;
  startTime: string;
  endTime: string | null;
  pageCount: number;
  /** Pages that ended fresh: rendered, or verified unchanged. */
  completedCount: number;
  /** Of completedCount, the pages whose inputs were unchanged: kept, not rendered. */
  unchangedCount: number;
  failedCount: number;
  error: JobError | null;
  /** Steps of an origin restart this job went through. */
  restartSteps: RestartStepRecord[];
}

export type JobPatch = Partial<Pick<JobRecord, 'progress' | 'endTime' | 'error' | 'restartSteps'>>;

/** Job states that are still running: the one spelling of "unfinished", for code and stores alike. */
export const UNFINISHED: readonly JobProgress[] = ['pending', 'processing'];

export const isUnfinished = (progress: JobProgress): boolean => UNFINISHED.includes(progress);

/** One page of a job: a URL and the device variant it is rendered as. */
export interface PageTarget {
  url: string;
  variant: string;
  /** When the site's sitemap says the page last changed (ms): a later date than its render forces a render. */
  lastmod?: number;
}

/** A page a refresh request names: every variant of the site, or the one named. */
export interface RequestedPage {
  url: string;
  variant?: string;
  lastmod?: number;
}

export interface PageRecord {
  seq: number;
  pageUrl: string;
  /** The device variant (a name of the site's `variants`); pages of one URL differ by it. */
  variant: string;
  /** The page's sitemap <lastmod> when discovered (ms); null when it had none. */
  lastmod: number | null;
  status: PageStatus;
  httpStatus: number | null;
  renderedAt: string | null;
  renderTimeMs: number | null;
  bytes: number | null;
  attempts: number;
  renderedBy: string | null;
  error: JobError | null;
  /** Why the last render of a failed page failed (decides whether the origin is to blame); null otherwise. */
  failureKind: RenderFailureKind | null;
  /** How the page ended; null while it is pending or processing. */
  outcome: PageOutcome | null;
}

export type PageUpdate = Partial<Omit<PageRecord, 'seq' | 'pageUrl' | 'variant' | 'lastmod'>>;

export interface PageQuery {
  offset: number;
  limit: number;
  status?: PageStatus;
  /** Only pages whose URL contains this, ignoring case. */
  urlContains?: string;
}
