import type { RenderFailureKind } from '../render/types.js';

/** States of a refresh job: pending → processing → succeeded | failed | aborted. */
export type JobProgress = 'pending' | 'processing' | 'succeeded' | 'failed' | 'aborted';

/** States of one page in a job: pending → processing → complete | failed. */
export type PageStatus = 'pending' | 'processing' | 'complete' | 'failed';

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

export interface JobError {
  title: string;
  detail: string;
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
  completedCount: number;
  failedCount: number;
  error: JobError | null;
  /** Steps of an origin restart this job went through. */
  restartSteps: RestartStepRecord[];
}

export type JobPatch = Partial<Pick<JobRecord, 'progress' | 'endTime' | 'error' | 'restartSteps'>>;

/** Job states that are still running. */
export const UNFINISHED: readonly JobProgress[] = ['pending', 'processing'];

export interface PageRecord {
  seq: number;
  pageUrl: string;
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
}

export type PageUpdate = Partial<Omit<PageRecord, 'seq' | 'pageUrl'>>;

export interface PageQuery {
  offset: number;
  limit: number;
  status?: PageStatus;
}

/**
 * Where jobs and their pages live (embedded SQLite or Redis). Pages are paged from the
 * store; updating one page touches that page and the job's counters only.
 */
export interface JobStore {
  createJob(job: JobRecord): Promise<void>;
  /** Appends pages (seq continues from the job's pageCount) and returns how many were added. */
  addPages(jobId: string, urls: readonly string[]): Promise<number>;
  getJob(jobId: string): Promise<JobRecord | undefined>;
  /**
   * Updates job fields other than the counters. With `onlyIf`, only while the job is in
   * one of those states (a compare-and-set: one instance ends a job, never two).
   * Resolves whether the update was made.
   */
  updateJob(jobId: string, patch: JobPatch, onlyIf?: readonly JobProgress[]): Promise<boolean>;
  /** Moves a page to a new status and adjusts the job's counters in one step. */
  updatePage(jobId: string, seq: number, from: PageStatus, patch: PageUpdate & { status: PageStatus }): Promise<void>;
  getPage(jobId: string, seq: number): Promise<PageRecord | undefined>;
  listPages(jobId: string, query: PageQuery): Promise<{ items: PageRecord[]; total: number }>;
  /** Seqs of the pages in a status, in order, at most `limit`. */
  pageSeqs(jobId: string, status: PageStatus, limit: number): Promise<number[]>;
  /** Jobs of a site, newest first. */
  jobsOfSite(siteId: string, limit: number): Promise<JobRecord[]>;
  /** Jobs in pending or processing, of every site. */
  unfinishedJobs(): Promise<JobRecord[]>;
  /** Keeps the newest `keep` jobs of a site and deletes the rest with their pages. */
  pruneJobs(siteId: string, keep: number): Promise<number>;
  /** Claims the site's single running-job slot (refresh or restart); returns the holder's job id if taken. */
  claimSiteSlot(siteId: string, jobId: string): Promise<string | null>;
  releaseSiteSlot(siteId: string, jobId: string): Promise<void>;
  /**
   * Claims the one on-failure origin restart a job may run: true for the first caller
   * only, whichever instance it is (a compare-and-set); false for every later caller.
   */
  claimOriginRestart(jobId: string): Promise<boolean>;
  close(): Promise<void>;
}
